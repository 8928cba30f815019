/**
 * Semantic checks shared by the networking kinds, following what Istio's own validation
 * (pilot/pkg/config/validation) rejects: host names, label maps, exportTo lists, gateway names,
 * header names, string matches and destinations. Each returns FieldIssue[] with document paths.
 */
import { parseIp } from "../../checks.js";
import { error, formatPath, warning, type FieldIssue, type FieldPath } from "../../issues.js";
import type { Destination, HeaderOperations, Headers, StringMatch } from "./common.js";

type Path = readonly (string | number)[];

/** An issue that points at a map key rather than its value (a bad label key, header name ...). */
export function keyError(path: FieldPath, message: string): FieldIssue {
  return { ...error(path, message), at: "key" };
}

/** Istio's DNS-1123 label (it allows upper case, unlike Kubernetes): port names, subsets, gateway parts. */
export const istioLabelRe = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const wildcardLabelRe = /^(?:\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;
const k8sLabelRe = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;

/** True for Istio's DNS-1123 label: at most 63 characters of letters, digits and inner '-'. */
export function isIstioLabel(v: string): boolean {
  return v.length <= 63 && istioLabelRe.test(v);
}

/** True for an IPv4 or IPv6 address. */
export function isIp(v: string): boolean {
  return parseIp(v) !== undefined;
}

function labelsError(domain: string, whole: string): string | undefined {
  const parts = domain.split(".");
  if (/^\d+$/.test(parts[parts.length - 1] ?? "")) return `must be a DNS name, not ${JSON.stringify(whole)} (the top-level domain is all digits)`;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (i === parts.length - 1 && p === "" && i > 0) return undefined; // trailing dot: "istio.io."
    if (!isIstioLabel(p)) return `must be a DNS name, not ${JSON.stringify(whole)} (label ${JSON.stringify(p)} is invalid)`;
  }
  return undefined;
}

/** Istio ValidateFQDN: a DNS name without wildcards (short names such as "reviews" pass). */
export function fqdnError(host: string): string | undefined {
  if (host === "") return "must not be empty";
  if (host.length > 255) return "must be at most 255 characters";
  return labelsError(host, host);
}

/** Istio ValidateWildcardDomain: a DNS name whose first label may be a wildcard ("*", "*.example.com"). */
export function wildcardDomainError(host: string): string | undefined {
  if (host === "") return "must not be empty";
  if (host.length > 255) return "must be at most 255 characters";
  const dot = host.indexOf(".");
  const first = dot < 0 ? host : host.slice(0, dot);
  if (first.length > 63 || !wildcardLabelRe.test(first)) {
    return `must be a DNS name, optionally with a leading "*." wildcard, not ${JSON.stringify(host)}`;
  }
  return dot < 0 ? undefined : labelsError(host.slice(dot + 1), host);
}

/** Istio host.Name.SubsetOf: every name matched by `a` is matched by `b`. */
export function hostSubsetOf(a: string, b: string): boolean {
  if (a.startsWith("*")) return b.startsWith("*") && a.slice(1).endsWith(b.slice(1));
  if (b.startsWith("*")) return a.endsWith(b.slice(1));
  return a === b;
}

/** Istio host.Name.Matches: the two names have some host in common. */
export function hostsOverlap(a: string, b: string): boolean {
  return hostSubsetOf(a, b) || hostSubsetOf(b, a);
}

/** Kubernetes label rules (Istio labels.Instance.Validate) for source labels, subset labels, endpoint labels. */
export function labelIssues(labels: Record<string, string> | undefined, path: Path): FieldIssue[] {
  const out: FieldIssue[] = [];
  const name = /^(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
  for (const [k, v] of Object.entries(labels ?? {})) {
    const parts = k.split("/");
    const prefixOk = parts.length === 1 || (parts.length === 2 && parts[0]!.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(parts[0]!));
    const last = parts[parts.length - 1]!;
    if (parts.length > 2 || !prefixOk || last.length > 63 || !name.test(last)) {
      out.push(keyError([...path, k], "is not a valid label key (an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.')"));
    }
    if (v.length > 63 || !(v === "" || name.test(v))) {
      out.push(error([...path, k], `is not a valid label value: ${JSON.stringify(v)} (at most 63 letters, digits, '-', '_' or '.')`));
    }
  }
  return out;
}

/** A workload selector's labels: no wildcards (Istio and its CRD reject them), otherwise Kubernetes label rules. */
export function selectorIssues(labels: Record<string, string> | undefined, path: Path, what: string): FieldIssue[] {
  if (!labels || Object.keys(labels).length === 0) return [warning(path.slice(0, -1), `has no ${what}, so it selects every workload in the namespace`)];
  const out: FieldIssue[] = [];
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    if (k.includes("*")) out.push(keyError([...path, k], "must not contain a wildcard: selectors match labels exactly"));
    else if (v.includes("*")) out.push(error([...path, k], "must not contain a wildcard: selectors match labels exactly"));
    else plain[k] = v;
  }
  return [...out, ...labelIssues(plain, path)];
}

/** exportTo rules (Istio validateExportTo): ".", "*", a namespace, or "~" for ServiceEntry only; no duplicates or mixing. */
export function exportToIssues(list: readonly string[] | undefined, namespace: string, path: Path, allowNone: boolean): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (!list || list.length === 0) return out;
  const seen = new Map<string, number>();
  list.forEach((e, i) => {
    const key = e === "." ? namespace : e;
    const prev = seen.get(key);
    if (prev !== undefined) {
      const same = list[prev] === e ? "" : ` ("." is namespace ${namespace})`;
      out.push(error([...path, i], `duplicates ${formatPath([...path, prev])}${same}`));
      return;
    }
    seen.set(key, i);
    if (e === "~" && !allowNone) out.push(error([...path, i], `"~" (visible to no namespace) is only allowed in a ServiceEntry`));
    else if (e !== "." && e !== "*" && e !== "~" && !(e.length <= 63 && k8sLabelRe.test(e))) {
      out.push(error([...path, i], `must be ".", "*"${allowNone ? ', "~"' : ""} or a namespace name, not ${JSON.stringify(e)}`));
    }
  });
  if (list.length > 1 && seen.has("*")) out.push(error(path, `must not mix "*" with other entries: "*" already exports to every namespace`));
  if (allowNone && list.length > 1 && seen.has("~")) out.push(error(path, `must not mix "~" (no namespace) with other entries`));
  return out;
}

/** Gateway references in a VirtualService: "mesh", "<namespace>/<name>", or the legacy "name.namespace..." form. */
export function gatewayNameIssues(names: readonly string[] | undefined, path: Path): FieldIssue[] {
  const out: FieldIssue[] = [];
  (names ?? []).forEach((g, i) => {
    if (g === "mesh") return;
    const slash = g.indexOf("/");
    if (slash < 0) {
      const bad = fqdnError(g);
      if (bad) out.push(error([...path, i], `${bad}; name a gateway as "<namespace>/<name>"`));
      else if (g.includes(".")) {
        const [name, ns] = g.split(".");
        out.push(warning([...path, i], `uses the legacy "name.namespace" form; prefer "${ns}/${name}"`));
      }
      return;
    }
    const ns = g.slice(0, slash), name = g.slice(slash + 1);
    if (!isIstioLabel(ns) || !isIstioLabel(name)) {
      out.push(error([...path, i], `must be "<namespace>/<name>" with both parts DNS labels, not ${JSON.stringify(g)}`));
    }
  });
  return out;
}

const headerNameRe = /^[-_A-Za-z0-9]+$/;
const isAuthority = (n: string) => n.toLowerCase() === ":authority" || n.toLowerCase() === "host";

/** A header name in a match (Istio ValidateHTTPHeaderName), or a JWT claim route key "@request.auth.claims.x". */
export function headerMatchKeyIssue(name: string, path: Path): FieldIssue | undefined {
  if (name.startsWith("@request.auth.claims")) {
    return /^@request\.auth\.claims(\.[^.]+|\[[^\]]+\])+$/.test(name) ? undefined
      : keyError(path, 'is not a valid JWT claim route: use "@request.auth.claims.<claim>" or "@request.auth.claims[<claim>]"');
  }
  return headerNameRe.test(name) ? undefined : keyError(path, "is not a valid header name (letters, digits, '-' and '_')");
}

/** Header edits (Istio ValidateHTTPHeaderOperationName): no pseudo-headers or Host, except setting the authority on requests. */
export function headersIssues(headers: Headers | undefined, path: Path): FieldIssue[] {
  const out: FieldIssue[] = [];
  const problem = (n: string, authorityOk: boolean): string | undefined => {
    if (authorityOk && isAuthority(n)) return undefined;
    if (n.startsWith(":") || n.toLowerCase() === "host") return "is a pseudo-header or Host, which cannot be edited here";
    return headerNameRe.test(n) ? undefined : "is not a valid header name (letters, digits, '-' and '_')";
  };
  const ops = (h: HeaderOperations | undefined, p: Path, authorityOk: boolean) => {
    for (const op of ["set", "add"] as const) {
      for (const k of Object.keys(h?.[op] ?? {})) {
        const msg = problem(k, authorityOk);
        if (msg) out.push(keyError([...p, op, k], msg));
      }
    }
    (h?.remove ?? []).forEach((k, i) => {
      const msg = problem(k, false);
      if (msg) out.push(error([...p, "remove", i], `${JSON.stringify(k)} ${msg}`));
    });
  };
  ops(headers?.request, [...path, "request"], true);
  ops(headers?.response, [...path, "response"], false);
  return out;
}

/**
 * A StringMatch: at most one of exact/prefix/regex (exactly one unless `allowEmpty`, which header and
 * query-parameter maps use for "is present"), no empty prefix (except on uri) and no empty or
 * over-long regex (Istio caps regexes at 1024 characters to keep Envoy's RE2 program small).
 */
export function stringMatchIssues(m: StringMatch | undefined, path: Path, opts: { allowEmpty?: boolean; allowEmptyPrefix?: boolean } = {}): FieldIssue[] {
  if (!m) return [];
  const out: FieldIssue[] = [];
  const set = (["exact", "prefix", "regex"] as const).filter((k) => m[k] !== undefined);
  if (set.length > 1) out.push(error(path, `sets ${set.join(" and ")}; a string match takes exactly one of exact, prefix or regex`));
  if (set.length === 0 && !opts.allowEmpty) out.push(error(path, "must set one of exact, prefix or regex"));
  if (m.prefix === "" && !opts.allowEmptyPrefix) out.push(error([...path, "prefix"], "must not be empty"));
  if (m.regex === "") out.push(error([...path, "regex"], "must not be empty"));
  if (m.regex !== undefined && m.regex.length > 1024) out.push(error([...path, "regex"], "is longer than 1024 characters, the most Istio accepts"));
  return out;
}

/** A route or mirror destination (Istio validateDestination): not "*", a valid (wildcard) DNS name, a valid subset name. */
export function destinationIssues(d: Destination | undefined, path: Path): FieldIssue[] {
  if (!d) return [];
  const out: FieldIssue[] = [];
  if (d.host === "*") out.push(error([...path, "host"], 'must not be "*": name the service to send traffic to'));
  else {
    const bad = wildcardDomainError(d.host);
    if (bad) out.push(error([...path, "host"], bad));
  }
  if (d.subset !== undefined && !isIstioLabel(d.subset)) {
    out.push(error([...path, "subset"], `must be a DNS label (letters, digits and '-'), not ${JSON.stringify(d.subset)}`));
  }
  return out;
}
