// L4 authorization, decided purely: `matches(policy, conn)` and `authorizeInbound(state, workload,
// conn)`, with ztunnel's semantics (istio-ambient.md §3.5; ztunnel src/rbac.rs, src/state.rs
// assert_rbac): any matching DENY denies; no ALLOW policy allows; otherwise an ALLOW must match.
import { cidrContains, type Cidr } from "./ip.js";
import type { MeshState } from "./state.js";
import { parseIdentity, policyKey, type Match, type Policy, type StringMatch, type Workload } from "./types.js";

/** The connection tuple authorization sees. */
export interface InboundConnection {
  readonly srcIp: string;
  readonly dstIp: string;
  /** The real destination port (the authority's, not 15008). */
  readonly dstPort: number;
  /** The peer's verified SPIFFE identity; absent for plaintext (15006) connections. */
  readonly srcIdentity?: string | undefined;
}

/** The verdict, with the deciding policy. */
export type AuthzDecision =
  | { readonly allow: true; readonly policy?: string }
  | { readonly allow: false; readonly reason: string; readonly policy?: string };

/** Whether `policy` matches `conn` (ignores the action). A policy without rules never matches. */
export function matches(policy: Policy, conn: InboundConnection): boolean {
  if (policy.rules.length === 0) return false;
  const id = conn.srcIdentity;
  const parsed = id === undefined ? undefined : parseIdentity(id);
  // Principals compare without the scheme; an identity without it matches nothing (ztunnel
  // matches_principal). No identity: "" which no positive StringMatch (not even presence) matches.
  const principal = id?.startsWith("spiffe://") ? id.slice("spiffe://".length) : undefined;
  const namespace = parsed?.namespace ?? "";
  return policy.rules.some((rule) => rule.clauses.every((clause) => {
    if (clause.matches.length === 0) return true;
    // An all-empty Match is skipped, so a clause of only empty matches is false (src/rbac.rs).
    return clause.matches.some((m) => !isEmpty(m) && matchOne(m, conn, principal, namespace, parsed));
  }));
}

function matchOne(m: Match, conn: InboundConnection, principal: string | undefined, namespace: string,
  id: { namespace: string; serviceAccount: string } | undefined): boolean {
  return field(m.destinationIps, m.notDestinationIps, (c: Cidr) => cidrContains(c, conn.dstIp))
    && field(m.sourceIps, m.notSourceIps, (c: Cidr) => cidrContains(c, conn.srcIp))
    && field(m.destinationPorts, m.notDestinationPorts, (p) => p === conn.dstPort)
    && field(m.serviceAccounts, m.notServiceAccounts, (s) => id !== undefined && s.namespace === id.namespace && s.serviceAccount === id.serviceAccount)
    && field(m.principals, m.notPrincipals, (s) => principal !== undefined && stringMatches(s, principal))
    && field(m.namespaces, m.notNamespaces, (s) => stringMatches(s, namespace));
}

/** Any positive (when some are given) and none negative. */
function field<T>(positive: readonly T[], negative: readonly T[], pred: (t: T) => boolean): boolean {
  return (positive.length === 0 || positive.some(pred)) && !negative.some(pred);
}

/** A StringMatch against a value; `presence` means non-empty. */
export function stringMatches(s: StringMatch, value: string): boolean {
  if ("exact" in s) return value === s.exact;
  if ("prefix" in s) return value.startsWith(s.prefix);
  if ("suffix" in s) return value.endsWith(s.suffix);
  return value !== "";
}

function isEmpty(m: Match): boolean {
  return Object.values(m).every((v) => (v as readonly unknown[]).length === 0);
}

/** Decides whether `conn` may reach `workload`, from the policies the state holds for it. */
export function authorizeInbound(state: MeshState, workload: Workload, conn: InboundConnection): AuthzDecision {
  return authorize(state.policiesFor(workload), conn);
}

/** The decision over an explicit set of candidate policies (sorted by key, so the named policy is stable). */
export function authorize(policies: readonly Policy[], conn: InboundConnection): AuthzDecision {
  const sorted = [...policies].sort((a, b) => policyKey(a).localeCompare(policyKey(b)));
  const who = conn.srcIdentity ?? "no identity (plaintext)";
  for (const p of sorted) {
    if (p.action === "Deny" && matches(p, conn)) {
      return { allow: false, policy: policyKey(p), reason: `denied by DENY policy ${policyKey(p)} (${who} -> ${conn.dstIp}:${conn.dstPort})` };
    }
  }
  const allows = sorted.filter((p) => p.action === "Allow");
  if (allows.length === 0) return { allow: true };
  const hit = allows.find((p) => matches(p, conn));
  if (hit) return { allow: true, policy: policyKey(hit) };
  return {
    allow: false,
    reason: `no ALLOW policy matches (${who} -> ${conn.dstIp}:${conn.dstPort}; checked ${allows.map(policyKey).join(", ")})`,
  };
}
