/**
 * Pieces shared by the security, telemetry and rate-limit kinds: how a policy picks what it
 * applies to (selector / targetRef / targetRefs), HTTP header names, and Istio's string-match
 * wildcard rule.
 */
import { error, type FieldIssue, type FieldPath } from "../../issues.js";
import { opt, Type } from "../../schema.js";
import { PolicyTargetReferenceSchema, targetRefs, WorkloadSelectorSchema, type PolicyTargetReference, type WorkloadSelector } from "../common.js";

const tokenChars = "0-9A-Za-z!#$%&'*+.^_`|~-";

/**
 * An HTTP header name: RFC 9110 token characters, optionally an HTTP/2 pseudo-header (`:path`).
 * Case is not significant to Envoy, and Istio accepts `Authorization`, so upper case is allowed.
 */
export const headerName = () => Type.String({
  pattern: `^:?[${tokenChars}]+$`,
  "x-msg": "must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~, optionally after a leading ':')",
});

/** An HTTP header name in lower case, as HTTP/2 puts it on the wire; used by our own kinds. */
export const lowerHeaderName = () => Type.String({
  pattern: `^:?[${tokenChars.replace("A-Z", "")}]+$`,
  "x-msg": "must be a lower-case HTTP header name (a-z, digits and !#$%&'*+-.^_`|~, optionally after a leading ':')",
});

/** The three ways an Istio policy attaches: `selector`, `targetRef` (deprecated) and `targetRefs`. */
export const attachmentFields = () => ({
  selector: opt(WorkloadSelectorSchema),
  targetRef: opt(PolicyTargetReferenceSchema),
  targetRefs: targetRefs(),
});

/** The spec fields `attachmentFields()` adds, for checkAttachment. */
export interface Attachment {
  selector?: WorkloadSelector;
  targetRef?: PolicyTargetReference;
  targetRefs?: PolicyTargetReference[];
}

/** Kinds a policy may target, with the API group each must carry. */
export const targetGroups: Readonly<Record<string, string>> = {
  Gateway: "gateway.networking.k8s.io",
  GatewayClass: "gateway.networking.k8s.io",
  Service: "",
  ServiceEntry: "networking.istio.io",
};

/**
 * Istio's attachment rules: selector and targetRef(s) exclude each other, targetRef and targetRefs
 * exclude each other, and each reference names an allowed kind in the policy's own namespace.
 */
export function checkAttachment(spec: Attachment, namespace: string, kinds: readonly string[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (spec.selector && (spec.targetRef || spec.targetRefs)) {
    const field = spec.targetRefs ? "targetRefs" : "targetRef";
    issues.push(error(["spec", field], "cannot be combined with selector: a policy attaches either to workloads (selector) or to Gateways and Services (targetRefs)"));
  }
  if (spec.targetRef && spec.targetRefs) {
    issues.push(error(["spec", "targetRef"], "cannot be combined with targetRefs; move the reference into targetRefs"));
  }
  if (spec.targetRef) issues.push(...checkTargetRef(spec.targetRef, ["spec", "targetRef"], namespace, kinds));
  (spec.targetRefs ?? []).forEach((ref, i) => issues.push(...checkTargetRef(ref, ["spec", "targetRefs", i], namespace, kinds)));
  return issues;
}

/** Checks one reference: an allowed kind, the right group, no cross-namespace reference. */
export function checkTargetRef(ref: PolicyTargetReference, path: FieldPath, namespace: string, kinds: readonly string[]): FieldIssue[] {
  const group = targetGroups[ref.kind];
  if (group === undefined || !kinds.includes(ref.kind)) {
    return [error([...path, "kind"], `must be one of ${kinds.join(", ")}, not ${JSON.stringify(ref.kind)}`)];
  }
  const issues: FieldIssue[] = [];
  if (ref.group !== undefined && ref.group !== group && !(group === "" && ref.group === "core")) {
    issues.push(error([...path, "group"], `must be ${JSON.stringify(group)} for kind ${ref.kind}, not ${JSON.stringify(ref.group)}`));
  }
  if (ref.namespace !== undefined && ref.namespace !== "" && ref.namespace !== namespace) {
    issues.push(error([...path, "namespace"], `must be the policy's own namespace ${JSON.stringify(namespace)}: a policy cannot attach across namespaces`));
  }
  return issues;
}

/**
 * Istio matches strings exactly, by prefix (`foo*`), by suffix (`*foo`) or by presence (`*`).
 * Any other use of `*` would be matched literally, which is never what was meant.
 */
export function wildcardError(v: string): string | undefined {
  const stars = v.split("*").length - 1;
  if (stars === 0 || v === "*") return undefined;
  if (stars === 1 && (v.startsWith("*") || v.endsWith("*"))) return undefined;
  return `may use "*" only as the whole value, as a prefix ("*foo") or as a suffix ("foo*"), not ${JSON.stringify(v)}`;
}

/** Runs `wildcardError` over a list of values, reporting at each element. */
export function checkWildcards(values: readonly string[] | undefined, path: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  (values ?? []).forEach((v, i) => {
    const bad = wildcardError(v);
    if (bad) issues.push(error([...path, i], bad));
  });
  return issues;
}

/** Reports duplicate names in a list; `describe` renders the earlier element's path. */
export function checkUniqueNames(names: readonly (string | undefined)[], path: (i: number) => FieldPath, describe: (i: number) => string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();
  names.forEach((n, i) => {
    if (n === undefined) return;
    const prev = seen.get(n);
    if (prev !== undefined) issues.push(error(path(i), `duplicates ${describe(prev)} ${JSON.stringify(n)}`));
    else seen.set(n, i);
  });
  return issues;
}
