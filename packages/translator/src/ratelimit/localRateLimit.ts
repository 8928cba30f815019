/**
 * Local rules -> envoy.filters.http.local_ratelimit (one token bucket set per waypoint replica
 * and service chain; `local_rate_limit_per_downstream_connection: false`, so the buckets are
 * shared by all connections and worker threads of the replica).
 *
 * How Envoy 1.31 evaluates it (source/extensions/filters/common/local_ratelimit/local_ratelimit_impl.cc):
 *   - the route's `rate_limits` of the filter's stage build the request's descriptors
 *     (actions.ts); every entry of the filter's `descriptors` list that equals one of them takes
 *     a token from its own bucket (strictest first), and a bucket at 0 rejects the request;
 *   - the filter's own `token_bucket` is the default bucket; with
 *     `always_consume_default_token_bucket` it takes a token from every request;
 *   - one timer refills everything: every descriptor's fill_interval must be a multiple of the
 *     default bucket's, which must be at least 50 ms.
 * So the first unconditional rule (no match, no descriptor) becomes the default bucket when its
 * interval divides all the others; every other rule becomes a descriptor keyed by its rule entry
 * (other unconditional rules get a generic_key action, which always produces it). With no such
 * rule the default bucket is effectively unlimited, refilled at the common interval.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TokenBucketSchema } from "@waystation/proto/envoy/type/v3/token_bucket_pb.js";
import { XRateLimitHeadersRFCVersion } from "@waystation/proto/envoy/extensions/common/ratelimit/v3/ratelimit_pb.js";
import { LocalRateLimitSchema } from "@waystation/proto/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { FractionalPercent_DenominatorType } from "@waystation/proto/envoy/type/v3/percent_pb.js";
import { StatusCode } from "@waystation/proto/envoy/type/v3/http_status_pb.js";
import { httpFilter, millis } from "../envoy/build.js";
import { rateLimitStages, ruleRateLimit, type RouteRateLimitInit } from "./actions.js";
import type { Bucket, CompiledRule } from "./descriptors.js";
import { headersWanted, type Notes } from "./notes.js";

export const localFilterName = "envoy.filters.http.local_ratelimit";

/** Envoy's refill timer granularity: fill intervals below this are rejected. */
const minFillMs = 50;
/**
 * A bucket that never runs dry. Not 2^32-1: Envoy refills with min(max, tokens + per_fill) in
 * uint32, which would wrap; 2^31-1 twice still fits.
 */
const unlimited = 2_147_483_647;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

const percent = (numerator: number, runtimeKey: string) =>
  ({ defaultValue: { numerator, denominator: FractionalPercent_DenominatorType.HUNDRED }, runtimeKey });

const tokenBucket = (b: Bucket): MessageInitShape<typeof TokenBucketSchema> =>
  ({ maxTokens: b.maxTokens, tokensPerFill: b.tokensPerFill, fillInterval: millis(b.fillIntervalMs) });

/** The local filter of one stage and the route rate limits it reads; undefined without rules. */
export interface LocalFilter { filter: HttpFilter; rateLimits: RouteRateLimitInit[] }

/** Rounds fill intervals to Envoy's 50 ms timer grain, saying so on the policy. */
function fitIntervals(rules: readonly CompiledRule[], notes: Notes): Map<CompiledRule, Bucket> {
  const out = new Map<CompiledRule, Bucket>();
  for (const r of rules) {
    const b = r.bucket!;
    const ms = Math.max(minFillMs, Math.round(b.fillIntervalMs / minFillMs) * minFillMs);
    if (ms !== b.fillIntervalMs) {
      notes.add(r, "True", "Adjusted", `spec.local.rules[${r.index}].tokenBucket.fillInterval: ${b.fillIntervalMs}ms is enforced as ${ms}ms: Envoy refills all local buckets of a service on one timer with a ${minFillMs}ms grain`);
    }
    out.set(r, { ...b, fillIntervalMs: ms });
  }
  return out;
}

/**
 * The local_ratelimit filter for `rules` (all shadow or all enforced, sorted by policy and
 * position). Shadow: enabled 100%, enforced 0%, so Envoy counts `rate_limited` but lets requests
 * through, and adds no headers.
 */
export function localRateLimitFilter(rules: readonly CompiledRule[], shadow: boolean, notes: Notes): LocalFilter | undefined {
  if (rules.length === 0) return undefined;
  const buckets = fitIntervals(rules, notes);
  const interval = [...buckets.values()].map((b) => b.fillIntervalMs).reduce(gcd);
  const stage = shadow ? rateLimitStages.localShadow : rateLimitStages.local;
  const fallback = rules.find((r) => r.unconditional && buckets.get(r)!.fillIntervalMs === interval);
  const described = rules.filter((r) => r !== fallback);
  const headers = !shadow && headersWanted(rules, notes, "local");
  const filter = httpFilter(localFilterName, LocalRateLimitSchema, {
    statPrefix: shadow ? "local_rate_limit_shadow" : "local_rate_limit",
    status: { code: StatusCode.TooManyRequests },
    tokenBucket: tokenBucket(fallback ? buckets.get(fallback)! : { maxTokens: unlimited, tokensPerFill: unlimited, fillIntervalMs: interval }),
    filterEnabled: percent(100, shadow ? "local_rate_limit_shadow_enabled" : "local_rate_limit_enabled"),
    filterEnforced: percent(shadow ? 0 : 100, shadow ? "local_rate_limit_shadow_enforced" : "local_rate_limit_enforced"),
    // Dynamic X-RateLimit-Limit/-Remaining/-Reset from the bucket that decided, on every response.
    // (response_headers_to_add could only add fixed values, and only to rejected responses.)
    ...(headers ? { enableXRatelimitHeaders: XRateLimitHeadersRFCVersion.DRAFT_VERSION_03 } : {}),
    descriptors: described.map((r) => ({
      entries: r.entries.map((e) => ({ key: e.key, value: e.value! })),
      tokenBucket: tokenBucket(buckets.get(r)!),
    })),
    stage,
    localRateLimitPerDownstreamConnection: false,
    alwaysConsumeDefaultTokenBucket: true,
    // gRPC callers get RESOURCE_EXHAUSTED, which clients do not retry, instead of UNAVAILABLE.
    rateLimitedAsResourceExhausted: true,
  });
  // Local rules have no service entry, so the host is never read.
  return { filter, rateLimits: described.map((r) => ruleRateLimit(r, stage, "")) };
}
