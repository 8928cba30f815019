/**
 * Route-level `rate_limits`: the actions that make Envoy build, for each request, the descriptor
 * of each rule (descriptors.ts). Both Envoy filters read them: the local filter matches the
 * descriptors against its own `descriptors` list, the global filter sends them to the service.
 * Each filter only reads the entries whose `stage` equals its own (stages below).
 *
 * Envoy produces a descriptor only if every action of the entry produces its part (an absent
 * header, a header_value_match that does not match ...), so:
 *   - a rule's `match` is a header_value_match on :path, :method and the headers, carrying the
 *     rule entry: no match, no descriptor, nothing counted;
 *   - an entry with a value is a header_value_match too (the descriptor exists only for that value);
 *   - an entry without a value is request_headers / remote_address (one counter per value).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RateLimit_ActionSchema, RateLimitSchema } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { RateLimitMatch } from "@waystation/api";
import { exact, quoteRegex, regex, type HeaderMatcherInit, type StringMatcherInit } from "../authz/matchers.js";
import { descriptorKeys, peerPrincipalHeader, type CompiledEntry, type CompiledRule } from "./descriptors.js";

/** Init shape of envoy.config.route.v3.RateLimit (an entry of route/vhost `rate_limits`). */
export type RouteRateLimitInit = MessageInitShape<typeof RateLimitSchema>;
type ActionInit = MessageInitShape<typeof RateLimit_ActionSchema>;

/**
 * Filter stages. Policies that differ in how they must be enforced cannot share a filter, so each
 * kind gets its own filter and its own stage: shadow local rules need filter_enforced 0%, and
 * global rules need failure_mode_deny per policy. Envoy accepts stages 0-10.
 */
export const rateLimitStages = { local: 0, localShadow: 1, globalFailOpen: 2, globalFailClosed: 3 } as const;

/** `:path` matches `p` exactly, with any query string. */
export function exactPathRegex(p: string): string {
  return `${quoteRegex(p)}(\\?.*)?`;
}

/**
 * `:path` is `p` or below it, as Gateway API's PathPrefix: "/a" matches "/a", "/a/b" and "/a?x",
 * not "/ab"; a trailing slash is ignored. Envoy's safe_regex matches the whole value.
 */
export function pathPrefixMatcher(p: string): StringMatcherInit {
  const base = p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
  if (base === "/") return { matchPattern: { case: "prefix", value: "/" } };
  return regex(`${quoteRegex(base)}([/?].*)?`);
}

const stringHeader = (name: string, m: StringMatcherInit): HeaderMatcherInit => ({ name, headerMatchSpecifier: { case: "stringMatch", value: m } });

/** The header matchers of a rule's `match`: every one must hold. */
export function matchHeaders(m: RateLimitMatch): HeaderMatcherInit[] {
  const out: HeaderMatcherInit[] = [];
  if (m.path) out.push(stringHeader(":path", m.path.type === "Exact" ? regex(exactPathRegex(m.path.value)) : pathPrefixMatcher(m.path.value)));
  if (m.method) out.push(stringHeader(":method", exact(m.method)));
  for (const h of m.headers ?? []) out.push(stringHeader(h.name.toLowerCase(), h.type === "RegularExpression" ? regex(h.value) : exact(h.value)));
  return out;
}

const valueMatch = (key: string, value: string, headers: HeaderMatcherInit[]): ActionInit =>
  ({ actionSpecifier: { case: "headerValueMatch", value: { descriptorKey: key, descriptorValue: value, expectMatch: true, headers } } });
const fromHeader = (headerName: string, key: string): ActionInit =>
  ({ actionSpecifier: { case: "requestHeaders", value: { headerName, descriptorKey: key } } });
const generic = (key: string, value: string): ActionInit =>
  ({ actionSpecifier: { case: "genericKey", value: { descriptorKey: key, descriptorValue: value } } });

/** The action that produces one entry of a descriptor. */
export function entryAction(e: CompiledEntry, serviceHost: string): ActionInit {
  switch (e.kind) {
    case "rule":
    case "generic":
      return generic(e.key, e.value!);
    case "service":
      return generic(e.key, serviceHost);
    case "header":
      return e.value === undefined ? fromHeader(e.header!, e.key) : valueMatch(e.key, e.value, [stringHeader(e.header!, exact(e.value))]);
    case "path":
      return e.value === undefined ? fromHeader(":path", e.key) : valueMatch(e.key, e.value, [stringHeader(":path", regex(exactPathRegex(e.value)))]);
    case "sourcePrincipal":
      return e.value === undefined ? fromHeader(peerPrincipalHeader, e.key) : valueMatch(e.key, e.value, [stringHeader(peerPrincipalHeader, exact(e.value))]);
    case "remoteAddress":
      if (!e.cidr) return { actionSpecifier: { case: "remoteAddress", value: {} } };
      // Envoy names this entry masked_remote_address and prints "<network>/<len>"; the mask of
      // the other family stays at its default (full length), so those clients never match.
      return { actionSpecifier: { case: "maskedRemoteAddress", value: e.cidr.family === 4 ? { v4PrefixMaskLen: e.cidr.length } : { v6PrefixMaskLen: e.cidr.length } } };
  }
}

/**
 * The `rate_limits` entry of one rule at `stage`. The rule entry carries the rule's `match` (see
 * the file comment); `serviceHost` fills the service entry of global rules.
 */
export function ruleRateLimit(rule: CompiledRule, stage: number, serviceHost: string): RouteRateLimitInit {
  const [head, ...rest] = rule.entries;
  const first = rule.match && matchHeaders(rule.match).length > 0
    ? valueMatch(descriptorKeys.rule, head!.value!, matchHeaders(rule.match))
    : entryAction(head!, serviceHost);
  return { stage, actions: [first, ...rest.map((e) => entryAction(e, serviceHost))] };
}

/** Whether any rule counts by the caller's identity (so the principal header must be set). */
export function usesPrincipal(rules: readonly CompiledRule[]): boolean {
  return rules.some((r) => r.entries.some((e) => e.kind === "sourcePrincipal"));
}
