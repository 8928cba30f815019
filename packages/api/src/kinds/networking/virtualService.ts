/**
 * Istio VirtualService (networking.istio.io): hosts, gateways, HTTP/TLS/TCP routes, exportTo.
 * The HTTP rule schema and its checks are in httpRoute.ts; shared rules in rules.ts.
 */
import { cidr, list, nonEmpty, obj, opt, port, str, stringMap, strings, type Static } from "../../schema.js";
import { error, warning, type FieldIssue } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { DestinationSchema, NETWORKING_GROUP, NETWORKING_VERSIONS, exportTo, weight } from "./common.js";
import { HTTPRouteSchema, httpRouteIssues, weightIssues } from "./httpRoute.js";
import {
  destinationIssues, exportToIssues, gatewayNameIssues, hostSubsetOf, hostsOverlap, isIp, isIstioLabel, labelIssues, wildcardDomainError,
} from "./rules.js";

/** A weighted destination of a TCP or TLS rule. */
export const RouteDestinationSchema = obj({ destination: DestinationSchema, weight: opt(weight()) });
/** Typed form of {@link RouteDestinationSchema}. */
export type RouteDestination = Static<typeof RouteDestinationSchema>;

/** L4 match of a TCP rule. */
export const L4MatchAttributesSchema = obj({
  destinationSubnets: opt(list(cidr())),
  port: opt(port()),
  sourceLabels: opt(stringMap()),
  gateways: opt(strings()),
  sourceNamespace: opt(str()),
  /** Deprecated and ignored by Istio, still in its CRD. */
  sourceSubnet: opt(str()),
});

/** Match of a TLS (SNI) rule: sniHosts is required. */
export const TLSMatchAttributesSchema = obj({
  sniHosts: list(nonEmpty()),
  destinationSubnets: opt(list(cidr())),
  port: opt(port()),
  sourceLabels: opt(stringMap()),
  gateways: opt(strings()),
  sourceNamespace: opt(str()),
});

/** Rule for opaque TCP traffic. */
export const TCPRouteSchema = obj({ match: opt(list(L4MatchAttributesSchema)), route: list(RouteDestinationSchema) });
/** Typed form of {@link TCPRouteSchema}. */
export type TCPRoute = Static<typeof TCPRouteSchema>;

/** Rule for TLS traffic passed through unterminated, routed by SNI. */
export const TLSRouteSchema = obj({ match: list(TLSMatchAttributesSchema), route: list(RouteDestinationSchema) });
/** Typed form of {@link TLSRouteSchema}. */
export type TLSRoute = Static<typeof TLSRouteSchema>;

/** Istio VirtualService spec. */
export const VirtualServiceSpecSchema = obj({
  hosts: opt(list(nonEmpty())),
  gateways: opt(strings()),
  http: opt(list(HTTPRouteSchema)),
  tls: opt(list(TLSRouteSchema)),
  tcp: opt(list(TCPRouteSchema)),
  exportTo: exportTo(),
});
/** Typed form of {@link VirtualServiceSpecSchema}. */
export type VirtualServiceSpec = Static<typeof VirtualServiceSpecSchema>;

/** The VirtualService kind. */
export const VirtualServiceKind = defineKind<VirtualServiceSpec>({
  group: NETWORKING_GROUP, kind: "VirtualService", versions: NETWORKING_VERSIONS, namespaced: true,
  spec: VirtualServiceSpecSchema, specRequired: true,
  check(vs) {
    const spec = vs.spec;
    const out: FieldIssue[] = [];
    const hosts = spec.hosts ?? [];
    const gateways = spec.gateways ?? [];
    // No gateways means "mesh"; listing gateways without "mesh" binds the routes to those gateways only.
    const gatewayOnly = gateways.length > 0 && !gateways.includes("mesh");
    const isDelegate = hosts.length === 0;

    if (isDelegate) {
      // A VirtualService without hosts is a delegate, only reachable through another one's http[].delegate.
      if (gateways.length > 0) out.push(error(["spec", "gateways"], "must be empty in a delegate VirtualService (one without hosts)"));
      if (spec.tls?.length) out.push(error(["spec", "tls"], "must be empty in a delegate VirtualService (one without hosts): only HTTP routes can be delegated"));
      if (spec.tcp?.length) out.push(error(["spec", "tcp"], "must be empty in a delegate VirtualService (one without hosts): only HTTP routes can be delegated"));
    }
    out.push(...gatewayNameIssues(gateways, ["spec", "gateways"]));
    out.push(...hostIssues(hosts, gatewayOnly));
    if (!spec.http?.length && !spec.tcp?.length && !spec.tls?.length) out.push(error(["spec"], "must have at least one http, tcp or tls route"));

    (spec.http ?? []).forEach((r, i) => out.push(...httpRouteIssues(r, ["spec", "http", i], { isDelegate, gatewayOnly })));
    (spec.tls ?? []).forEach((r, i) => {
      if (r.match.length === 0) out.push(error(["spec", "tls", i, "match"], "must have at least one match with sniHosts"));
      r.match.forEach((m, j) => {
        const p = ["spec", "tls", i, "match", j];
        if (m.sniHosts.length === 0) out.push(error([...p, "sniHosts"], "must list at least one SNI host"));
        m.sniHosts.forEach((sni, k) => out.push(...sniIssues(sni, hosts, [...p, "sniHosts", k])));
        out.push(...l4MatchIssues(m, p));
      });
      out.push(...routeIssues(r.route, ["spec", "tls", i, "route"]));
    });
    (spec.tcp ?? []).forEach((r, i) => {
      (r.match ?? []).forEach((m, j) => out.push(...l4MatchIssues(m, ["spec", "tcp", i, "match", j])));
      out.push(...routeIssues(r.route, ["spec", "tcp", i, "route"]));
    });
    out.push(...exportToIssues(spec.exportTo, vs.metadata.namespace ?? "default", ["spec", "exportTo"], false));
    for (const kind of ["http", "tls", "tcp"] as const) out.push(...unreachableIssues(spec[kind], kind));
    return out;
  },
});

function hostIssues(hosts: readonly string[], gatewayOnly: boolean): FieldIssue[] {
  const out: FieldIssue[] = [];
  let allValid = true;
  hosts.forEach((h, i) => {
    const bad = wildcardDomainError(h);
    if (bad && !isIp(h)) {
      out.push(error(["spec", "hosts", i], bad));
      allValid = false;
    } else if (h === "*" && !gatewayOnly) {
      out.push(error(["spec", "hosts", i], 'must not be "*" when the VirtualService applies to the mesh (no gateways, or "mesh" among them)'));
      allValid = false;
    }
  });
  if (!allValid) return out;
  for (let i = 0; i < hosts.length; i++) {
    for (let j = i + 1; j < hosts.length; j++) {
      if (hostsOverlap(hosts[i]!, hosts[j]!)) out.push(error(["spec", "hosts", j], `overlaps spec.hosts[${i}] ${JSON.stringify(hosts[i])}; list each host once`));
    }
  }
  return out;
}

function sniIssues(sni: string, hosts: readonly string[], p: (string | number)[]): FieldIssue[] {
  const bad = wildcardDomainError(sni);
  if (bad) return isIp(sni) ? [warning(p, "is an IP address; SNI carries host names and most clients never send an IP")] : [error(p, bad)];
  if (hosts.some((h) => hostSubsetOf(sni, h))) return [];
  return [error(p, `${JSON.stringify(sni)} is not covered by any of spec.hosts (${hosts.join(", ")}); SNI hosts must be a subset of them`)];
}

function l4MatchIssues(m: { sourceLabels?: Record<string, string>; gateways?: string[]; sourceNamespace?: string }, p: (string | number)[]): FieldIssue[] {
  const out = [...labelIssues(m.sourceLabels, [...p, "sourceLabels"]), ...gatewayNameIssues(m.gateways, [...p, "gateways"])];
  if (m.sourceNamespace !== undefined && !isIstioLabel(m.sourceNamespace)) out.push(error([...p, "sourceNamespace"], `must be a namespace name, not ${JSON.stringify(m.sourceNamespace)}`));
  return out;
}

function routeIssues(route: readonly RouteDestination[], p: (string | number)[]): FieldIssue[] {
  if (route.length === 0) return [error(p, "must have at least one destination")];
  return [...weightIssues(route, p), ...route.flatMap((d, i) => destinationIssues(d.destination, [...p, i, "destination"]))];
}

/** Warnings for rules that can never match (Istio's VirtualServiceUnreachableRule / IneffectiveMatch). */
function unreachableIssues(rules: readonly { match?: readonly object[] }[] | undefined, kind: string): FieldIssue[] {
  const out: FieldIssue[] = [];
  let catchAll = -1;
  const seen = new Map<string, string>();
  (rules ?? []).forEach((r, i) => {
    if (catchAll >= 0) {
      out.push(warning(["spec", kind, i], `is never used: spec.${kind}[${catchAll}] has no match and takes all traffic first`));
      return;
    }
    if (!r.match || r.match.length === 0) {
      catchAll = i;
      return;
    }
    r.match.forEach((m, j) => {
      const key = canonical(m);
      const prev = seen.get(key);
      if (prev) out.push(warning(["spec", kind, i, "match", j], `is never used: it repeats ${prev}, which matches first`));
      else seen.set(key, `spec.${kind}[${i}].match[${j}]`);
    });
  });
  return out;
}

/** JSON with sorted keys and without `name`, so equal matches compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const entries = Object.entries(v).filter(([k]) => k !== "name").sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}
