/**
 * One AuthorizationPolicy rule -> one istio.security Rule for ztunnel, as istiod converts it
 * (istio-ambient.md §3.5; istio pilot/.../ambient/authorization.go `handleRule`): `from` sources
 * become one clause (its matches ORed), `to` operations another, each `when` condition one more
 * (clauses ANDed).
 *
 * ztunnel reads no HTTP. An HTTP attribute (hosts, methods, paths, requestPrincipals,
 * remoteIpBlocks, or a `when` key other than the L4 ones) therefore:
 * - in an ALLOW policy drops the whole rule: it cannot be checked, and allowing without checking
 *   would allow more than written; dropping allows less (fails closed);
 * - in a DENY policy is ignored: the rest of the rule denies, so the policy denies more than
 *   written (fails closed again).
 * Either way the policy gets a warning naming the field.
 *
 * ztunnel skips an empty Match inside a clause (ztunnel src/rbac.rs `matches`: a clause whose
 * every match is empty does NOT match), so a source or operation left empty after ignoring its
 * HTTP fields must not be sent as an empty Match: the clause it sits in is true for every
 * connection (one of its ORed alternatives matches anything), so the whole clause is left out.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { parseCidr, type AuthzCondition, type AuthzOperation, type AuthzRule, type AuthzSource } from "@waystation/api";
import type { MatchSchema, RuleSchema, StringMatchSchema } from "@waystation/proto/istio/security/authorization_pb.js";

type RuleInit = MessageInitShape<typeof RuleSchema>;
type MatchInit = MessageInitShape<typeof MatchSchema>;
type StringMatchInit = MessageInitShape<typeof StringMatchSchema>;

/** An HTTP attribute met while converting, with its field path. */
export interface L7Field {
  path: string;
  field: string;
}

/** The converted rule (undefined when an ALLOW rule was dropped) and the HTTP fields met. */
export interface RuleResult {
  rule: RuleInit | undefined;
  l7: L7Field[];
}

const l7Source = ["requestPrincipals", "notRequestPrincipals", "remoteIpBlocks", "notRemoteIpBlocks"] as const;
const l7Operation = ["hosts", "notHosts", "methods", "notMethods", "paths", "notPaths"] as const;
/** The `when` keys istiod converts for ztunnel (l4WhenAttributes). source.serviceAccount is not among them in 1.28. */
export const l4WhenKeys: ReadonlySet<string> = new Set(["source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port"]);

/** Converts rule `index` of a policy with `action`. */
export function convertRule(rule: AuthzRule, index: number, action: "ALLOW" | "DENY"): RuleResult {
  const at = `spec.rules[${index}]`;
  const l7: L7Field[] = [];
  (rule.from ?? []).forEach(({ source }, i) => {
    for (const f of l7Source) if ((source[f]?.length ?? 0) > 0) l7.push({ path: `${at}.from[${i}].source.${f}`, field: f });
  });
  (rule.to ?? []).forEach(({ operation }, i) => {
    for (const f of l7Operation) if ((operation[f]?.length ?? 0) > 0) l7.push({ path: `${at}.to[${i}].operation.${f}`, field: f });
  });
  (rule.when ?? []).forEach((c, i) => {
    if (!l4WhenKeys.has(c.key)) l7.push({ path: `${at}.when[${i}].key`, field: c.key });
  });
  if (action === "ALLOW" && l7.length > 0) return { rule: undefined, l7 };

  const clauses: { matches: MatchInit[] }[] = [];
  const addClause = (matches: MatchInit[]) => {
    // An empty alternative makes the clause true for every connection: leave the clause out.
    if (matches.length > 0 && !matches.some(isEmpty)) clauses.push({ matches });
  };
  addClause((rule.from ?? []).map(({ source }) => sourceMatch(source)));
  addClause((rule.to ?? []).map(({ operation }) => operationMatch(operation)));
  for (const c of rule.when ?? []) if (l4WhenKeys.has(c.key)) addClause([whenMatch(c)]);
  return { rule: { clauses }, l7 };
}

function sourceMatch(s: AuthzSource): MatchInit {
  return {
    namespaces: strings(s.namespaces), notNamespaces: strings(s.notNamespaces),
    principals: principals(s.principals), notPrincipals: principals(s.notPrincipals),
    serviceAccounts: serviceAccounts(s.serviceAccounts), notServiceAccounts: serviceAccounts(s.notServiceAccounts),
    sourceIps: cidrs(s.ipBlocks), notSourceIps: cidrs(s.notIpBlocks),
  };
}

function operationMatch(o: AuthzOperation): MatchInit {
  return { destinationPorts: ports(o.ports), notDestinationPorts: ports(o.notPorts) };
}

function whenMatch(c: AuthzCondition): MatchInit {
  const [pos, neg] = [c.values, c.notValues];
  switch (c.key) {
    case "source.ip": return { sourceIps: cidrs(pos), notSourceIps: cidrs(neg) };
    case "source.namespace": return { namespaces: strings(pos), notNamespaces: strings(neg) };
    case "source.principal": return { principals: principals(pos), notPrincipals: principals(neg) };
    case "destination.ip": return { destinationIps: cidrs(pos), notDestinationIps: cidrs(neg) };
    default: return { destinationPorts: ports(pos), notDestinationPorts: ports(neg) };
  }
}

/** Istio's string match: "*" any non-empty value, "*x" suffix, "x*" prefix, else exact. */
export function stringMatch(v: string): StringMatchInit {
  if (v === "*") return { matchType: { case: "presence", value: {} } };
  if (v.startsWith("*")) return { matchType: { case: "suffix", value: v.slice(1) } };
  if (v.endsWith("*")) return { matchType: { case: "prefix", value: v.slice(0, -1) } };
  return { matchType: { case: "exact", value: v } };
}

const strings = (vs: readonly string[] | undefined) => (vs ?? []).map(stringMatch);
/** ztunnel compares principals without spiffe:// (it strips the prefix from the peer identity). */
const principals = (vs: readonly string[] | undefined) => (vs ?? []).map((v) => stringMatch(v.startsWith("spiffe://") ? v.slice("spiffe://".length) : v));
const ports = (vs: readonly string[] | undefined) => (vs ?? []).map(Number).filter((n) => Number.isInteger(n) && n > 0 && n <= 65535);
const serviceAccounts = (vs: readonly string[] | undefined) => (vs ?? []).map((v) => {
  const [namespace = "", serviceAccount = ""] = v.split("/");
  return { namespace, serviceAccount };
});
const cidrs = (vs: readonly string[] | undefined) => (vs ?? []).flatMap((v) => {
  const c = parseCidr(v);
  return c ? [c] : [];
});

function isEmpty(m: MatchInit): boolean {
  return Object.values(m).every((v) => !Array.isArray(v) || v.length === 0);
}
