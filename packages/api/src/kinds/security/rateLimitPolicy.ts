/**
 * RateLimitPolicy (waystation.io/v1alpha1): Waystation's own rate-limit API for waypoints.
 *
 * A policy attaches with `targetRefs` to a waypoint `Gateway` (every service behind it), a
 * `Service` or a `ServiceEntry` (that service, at whichever waypoint serves it). It holds
 * `local` rules, enforced by each waypoint replica on its own with Envoy's local_ratelimit token
 * bucket, and/or `global` rules, counted across replicas by the rate limit service
 * (envoy.service.ratelimit.v3). The shape follows Envoy Gateway's BackendTrafficPolicy
 * `rateLimit`: `rules[]` with a `limit { requests, unit }`; EG's `clientSelectors` become
 * `match` (which requests a rule sees) plus `descriptor` (what the counter is keyed by), EG's
 * `failClosed: true` is `failureMode: closed`, and units are written in lower case, as in the
 * rate limit service's own configuration.
 *
 * ```yaml
 * apiVersion: waystation.io/v1alpha1
 * kind: RateLimitPolicy
 * metadata: { name: reviews, namespace: bookinfo }
 * spec:
 *   targetRefs:
 *     - { group: "", kind: Service, name: reviews }
 *   shadow: false           # true: count and report, never reject (dry run)
 *   responseHeaders: true   # x-ratelimit-limit / -remaining / -reset (default true)
 *   local:                  # per replica
 *     rules:
 *       - name: all
 *         limit: { requests: 1000, unit: second }
 *       - name: writes      # only POSTs under /reviews, with an explicit token bucket
 *         match: { path: { type: PathPrefix, value: /reviews }, method: POST }
 *         tokenBucket: { maxTokens: 50, tokensPerFill: 10, fillInterval: 1s }
 *       - name: free-plan   # keyed by an exact descriptor value
 *         descriptor: [{ header: { name: x-plan, value: free } }]
 *         limit: { requests: 10, unit: second }
 *   global:                 # shared by all replicas
 *     failureMode: open     # rate limit service unreachable: open lets requests through, closed rejects them
 *     rules:
 *       - name: per-user    # no value: one counter per distinct x-user-id
 *         descriptor: [{ header: { name: x-user-id } }]
 *         limit: { requests: 100, unit: minute }
 *       - name: export-per-caller
 *         descriptor:       # entries combine: one counter per (caller identity, path)
 *           - sourcePrincipal: {}
 *           - path: { value: /reviews/export }
 *         limit: { requests: 5, unit: hour }
 * ```
 *
 * A descriptor entry counts by one of: a request `header`, the request `path`, the caller's
 * `sourcePrincipal` (its SPIFFE identity from the HBONE peer certificate; stock Envoy has no
 * action for it, so the translator copies it into a request header first), its `remoteAddress`
 * (a CIDR value groups a whole range) or a `generic` key/value. With `value` the rule applies only
 * to requests carrying that value; without it every distinct value gets its own counter, which
 * only the global service can do (Envoy 1.31's local rate limit needs exact values).
 *
 * Rules are independent: a request is counted by every rule whose `match` it meets, and rejected
 * (429) if any of them is exhausted. A rule's optional `name` (unique per list) names it in stats
 * and in the descriptor the translator builds; unnamed rules are named by position. Where the rate
 * limit service runs is control-plane configuration, not part of this API.
 */
import { parseCidr, re2Error, parseDurationMs, runCheck } from "../../checks.js";
import { error, formatPath, warning, type FieldIssue, type FieldPath } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { bool, checked, cidr, duration, list, nonEmpty, obj, oneOfStrings, opt, str, Type, type Static } from "../../schema.js";
import { PolicyTargetReferenceSchema } from "../common.js";
import { checkTargetRef, checkUniqueNames, lowerHeaderName } from "./common.js";

const positive = (what: string) => Type.Integer({ minimum: 1, maximum: 4294967295, "x-msg": `must be a whole number of ${what} from 1 to 4294967295` });

/** `requests` per `unit`. */
export const RateLimitSchema = obj({ requests: positive("requests"), unit: oneOfStrings("second", "minute", "hour") });
/** {@link RateLimitSchema} as a type. */
export type RateLimit = Static<typeof RateLimitSchema>;

/** Envoy's token bucket, for local rules that need bursts shaped explicitly. */
export const TokenBucketSchema = obj({ maxTokens: positive("tokens"), tokensPerFill: opt(positive("tokens")), fillInterval: duration() });
/** {@link TokenBucketSchema} as a type. */
export type TokenBucket = Static<typeof TokenBucketSchema>;

/** Which requests a rule sees; every field set must match. No match: all requests. */
export const RateLimitMatchSchema = obj({
  path: opt(obj({ type: opt(oneOfStrings("PathPrefix", "Exact")), value: nonEmpty() })),
  method: opt(oneOfStrings("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")),
  headers: opt(list(obj({ name: lowerHeaderName(), value: str(), type: opt(oneOfStrings("Exact", "RegularExpression")) }))),
});
/** {@link RateLimitMatchSchema} as a type. */
export type RateLimitMatch = Static<typeof RateLimitMatchSchema>;

/** One entry of a descriptor: exactly one source, with an optional exact value. */
export const DescriptorEntrySchema = obj({
  header: opt(obj({ name: lowerHeaderName(), value: opt(nonEmpty()) })),
  path: opt(obj({ value: opt(nonEmpty()) })),
  sourcePrincipal: opt(obj({ value: opt(nonEmpty()) })),
  remoteAddress: opt(obj({ value: opt(cidr()) })),
  generic: opt(obj({ key: opt(checked("dns1123")), value: nonEmpty() })),
});
/** {@link DescriptorEntrySchema} as a type. */
export type DescriptorEntry = Static<typeof DescriptorEntrySchema>;

const ruleName = () => opt(checked("dns1123"));

/** A local rule: a limit or a token bucket, per replica. */
export const LocalRateLimitRuleSchema = obj({
  name: ruleName(),
  match: opt(RateLimitMatchSchema),
  descriptor: opt(list(DescriptorEntrySchema, { minItems: 1 })),
  limit: opt(RateLimitSchema),
  tokenBucket: opt(TokenBucketSchema),
});
/** {@link LocalRateLimitRuleSchema} as a type. */
export type LocalRateLimitRule = Static<typeof LocalRateLimitRuleSchema>;

/** A global rule: a limit per descriptor value, counted by the rate limit service. */
export const GlobalRateLimitRuleSchema = obj({
  name: ruleName(),
  match: opt(RateLimitMatchSchema),
  descriptor: opt(list(DescriptorEntrySchema, { minItems: 1 })),
  limit: RateLimitSchema,
});
/** {@link GlobalRateLimitRuleSchema} as a type. */
export type GlobalRateLimitRule = Static<typeof GlobalRateLimitRuleSchema>;

/** Spec of RateLimitPolicy. */
export const RateLimitPolicySpecSchema = obj({
  targetRefs: list(PolicyTargetReferenceSchema, { minItems: 1 }),
  local: opt(obj({ rules: list(LocalRateLimitRuleSchema, { minItems: 1 }) })),
  global: opt(obj({ failureMode: opt(oneOfStrings("open", "closed")), rules: list(GlobalRateLimitRuleSchema, { minItems: 1 }) })),
  shadow: opt(bool()),
  responseHeaders: opt(bool()),
});
/** {@link RateLimitPolicySpecSchema} as a type. */
export type RateLimitPolicySpec = Static<typeof RateLimitPolicySpecSchema>;

const entryKinds = ["header", "path", "sourcePrincipal", "remoteAddress", "generic"] as const;

/** The RateLimitPolicy kind. */
export const RateLimitPolicyKind = defineKind<RateLimitPolicySpec>({
  group: "waystation.io", kind: "RateLimitPolicy", versions: ["v1alpha1"], namespaced: true,
  spec: RateLimitPolicySpecSchema, specRequired: true,
  check(p) {
    const spec = p.spec;
    const issues: FieldIssue[] = [];
    const ns = p.metadata.namespace ?? "default";
    spec.targetRefs.forEach((ref, i) => issues.push(...checkTargetRef(ref, ["spec", "targetRefs", i], ns, ["Gateway", "Service", "ServiceEntry"])));
    if (!spec.local && !spec.global) issues.push(error(["spec"], "must set local, global or both: a policy without rules limits nothing"));
    for (const scope of ["local", "global"] as const) {
      const rules: (LocalRateLimitRule | GlobalRateLimitRule)[] = spec[scope]?.rules ?? [];
      issues.push(...checkUniqueNames(rules.map((r) => r.name), (i) => ["spec", scope, "rules", i, "name"], (i) => `spec.${scope}.rules[${i}].name`));
      rules.forEach((rule, i) => {
        const at: FieldPath = ["spec", scope, "rules", i];
        if (rule.match) issues.push(...checkMatch(rule.match, [...at, "match"]));
        (rule.descriptor ?? []).forEach((e, j) => issues.push(...checkEntry(e, [...at, "descriptor", j], scope)));
        issues.push(...checkRepeats(rule.descriptor ?? [], [...at, "descriptor"]));
        if (scope === "local") issues.push(...checkLocalRule(rule, at));
      });
    }
    return issues;
  },
});

function checkLocalRule(rule: LocalRateLimitRule, at: FieldPath): FieldIssue[] {
  if ((rule.limit === undefined) === (rule.tokenBucket === undefined)) {
    return [error(at, "must set exactly one of limit or tokenBucket")];
  }
  const tb = rule.tokenBucket;
  if (!tb) return [];
  const issues: FieldIssue[] = [];
  const ms = parseDurationMs(tb.fillInterval) ?? 0;
  if (ms < 50) issues.push(error([...at, "tokenBucket", "fillInterval"], "must be at least 50ms: Envoy's local rate limit refills no more often"));
  if ((tb.tokensPerFill ?? 1) > tb.maxTokens) {
    issues.push(warning([...at, "tokenBucket", "tokensPerFill"], `is more than maxTokens (${tb.maxTokens}); the bucket never holds more than maxTokens`));
  }
  return issues;
}

function checkMatch(m: RateLimitMatch, at: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (m.path && !m.path.value.startsWith("/")) issues.push(error([...at, "path", "value"], `must start with "/", not ${JSON.stringify(m.path.value)}`));
  (m.headers ?? []).forEach((h, i) => {
    const bad = h.type === "RegularExpression" ? re2Error(h.value) : undefined;
    if (bad) issues.push(error([...at, "headers", i, "value"], bad));
  });
  return issues;
}

function checkEntry(e: DescriptorEntry, at: FieldPath, scope: "local" | "global"): FieldIssue[] {
  const set = entryKinds.filter((k) => e[k] !== undefined);
  if (set.length !== 1) {
    return [error(at, `must set exactly one of ${entryKinds.join(", ")}${set.length > 1 ? ` (has ${set.join(" and ")})` : ""}`)];
  }
  const kind = set[0]!;
  const value = e[kind]?.value;
  if (value === undefined) {
    return scope === "local" ? [error([...at, kind], "needs a value in a local rule: Envoy's local rate limit counts exact values only; use a global rule for a counter per distinct value")] : [];
  }
  const bad = kind === "path" ? (value.startsWith("/") ? undefined : `must start with "/", not ${JSON.stringify(value)}`)
    : kind === "sourcePrincipal" ? principalError(value)
      : kind === "remoteAddress" ? hostBitsError(value)
        : undefined;
  return bad ? [error([...at, kind, "value"], bad)] : [];
}

/** Two entries of one descriptor that count by the same thing would collide in the service's key. */
function checkRepeats(entries: readonly DescriptorEntry[], at: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const seen = new Map<string, number>();
  entries.forEach((e, i) => {
    const key = e.header ? `header ${e.header.name}` : e.generic ? `generic key ${e.generic.key ?? "generic_key"}` : entryKinds.find((k) => e[k] !== undefined);
    if (key === undefined) return;
    const prev = seen.get(key);
    if (prev !== undefined) issues.push(error([...at, i], `counts by the same ${key} as ${formatPath([...at, prev])}; each entry of a descriptor must count by something different`));
    else seen.set(key, i);
  });
  return issues;
}

/** Istio principal form (`cluster.local/ns/default/sa/sleep`), with or without `spiffe://`. */
function principalError(v: string): string | undefined {
  return /^(spiffe:\/\/)?[^/\s]+\/ns\/[^/\s]+\/sa\/[^/\s]+$/.test(v) ? undefined
    : `must be a workload identity such as "cluster.local/ns/default/sa/sleep" or "spiffe://cluster.local/ns/default/sa/sleep", not ${JSON.stringify(v)}`;
}

/** A CIDR value is compared with the masked client address, so bits past the prefix must be zero. */
function hostBitsError(v: string): string | undefined {
  const c = parseCidr(v);
  if (!c) return runCheck("cidr", v);
  for (let bit = c.length; bit < c.address.length * 8; bit++) {
    if ((c.address[bit >> 3]! >> (7 - (bit & 7))) & 1) return `has address bits set past the /${c.length} prefix; write the network address`;
  }
  return undefined;
}
