/**
 * The decision behind ShouldRateLimit, without gRPC: match each descriptor of a request against
 * the limits, bump the matched counters in the store (one call per request), and answer per
 * descriptor and overall (OVER_LIMIT if any descriptor is).
 *
 * Windows: `fixed` counts per calendar window of the rule's unit (as envoyproxy/ratelimit does:
 * cheap, but a client can send up to twice the limit across a window boundary). `sliding` weighs
 * the previous window by the part of it still inside a sliding window of one unit:
 *   estimate = previous * (1 - elapsed / window) + current
 * (the two-window approximation popularised by Cloudflare; it assumes the previous window's
 * requests were spread evenly). Both count every hit, rejected or not.
 *
 * Shadow rules count and are reported (stats, logs at debug) but always answer OK, without
 * current_limit, so Envoy's x-ratelimit headers do not show them. When the store fails, each
 * matched rule follows its policy's failureMode: open answers OK, closed OVER_LIMIT.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { DurationSchema, type Duration } from "@bufbuild/protobuf/wkt";
import type { LoadedResource } from "@waystation/api";
import { rateLimitDomain, type RateLimitUnit } from "@waystation/translator/ratelimit/descriptors";
import {
  RateLimitResponse_Code as Code, RateLimitResponse_RateLimit_Unit as Unit, RateLimitResponseSchema, RateLimitResponse_DescriptorStatusSchema,
  type RateLimitRequest, type RateLimitResponse, type RateLimitResponse_DescriptorStatus,
} from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { LimitTable, type Matched } from "./limits.js";
import type { CounterHit, CounterStore, CounterValue, StoreHealth } from "./store.js";
import { silentLogger, type Logger } from "./types.js";

export type WindowKind = "fixed" | "sliding";

export interface LimiterOptions {
  store: CounterStore;
  window?: WindowKind;
  /** Milliseconds since the epoch; replicas sharing Redis must agree on it. Default Date.now. */
  now?: () => number;
  logger?: Logger;
  /** The domain Envoy sends; default `waystation`. Other domains get OK with no limit. */
  domain?: string;
}

/** Counters for Prometheus, as plain monotonic numbers. */
export interface LimiterStats {
  /** ShouldRateLimit calls, and how they were answered. */
  requests: number;
  ok: number;
  overLimit: number;
  /** Descriptors seen, and those no limit matched (answered OK). */
  descriptors: number;
  unmatched: number;
  /** Requests the store failed for, and the matched descriptors let through or rejected because of it. */
  storeErrors: number;
  failedOpen: number;
  failedClosed: number;
  /** Per rule id: hits (hits_addend summed), descriptors over the limit, and shadow rules' would-be rejections. */
  rules: Record<string, { hits: number; overLimit: number; shadowOverLimit: number }>;
  /** Time to decide one call (store round trip included), as a Prometheus histogram: cumulative counts per upper bound. */
  decisionSeconds: { buckets: { le: number; count: number }[]; sum: number; count: number };
}

/** Upper bounds (seconds) of the decision-time histogram. */
export const decisionBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1] as const;

/** What `status()` reports: is the counter store reachable, and what failed last. */
export interface LimiterStatus extends StoreHealth {
  store: "memory" | "redis";
  window: WindowKind;
  /** How many global rules are loaded. */
  rules: number;
}

const units: Record<RateLimitUnit, Unit> = { second: Unit.SECOND, minute: Unit.MINUTE, hour: Unit.HOUR };
const emptyRule = () => ({ hits: 0, overLimit: 0, shadowOverLimit: 0 });

function duration(ms: number): Duration {
  const s = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(s), nanos: Math.round((ms - s * 1000) * 1e6) });
}

export class RateLimiter {
  private table = new LimitTable([]);
  private readonly store: CounterStore;
  private readonly window: WindowKind;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly domain: string;
  private readonly counts = { requests: 0, ok: 0, overLimit: 0, descriptors: 0, unmatched: 0, storeErrors: 0, failedOpen: 0, failedClosed: 0 };
  private rules = new Map<string, ReturnType<typeof emptyRule>>();
  private readonly latency = { counts: decisionBuckets.map(() => 0), sum: 0, count: 0 };

  constructor(options: LimiterOptions) {
    this.store = options.store;
    this.window = options.window ?? "fixed";
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.domain = options.domain ?? rateLimitDomain;
  }

  /** Loads the global rules of every RateLimitPolicy among `resources` (called on every config change). */
  setPolicies(resources: readonly LoadedResource[]): { rules: number } {
    this.table = LimitTable.fromResources(resources);
    const next = new Map<string, ReturnType<typeof emptyRule>>();
    for (const l of this.table.limits()) next.set(l.rule.id, this.rules.get(l.rule.id) ?? emptyRule());
    this.rules = next;
    this.logger.info("rate limit: policies loaded", { rules: this.table.size });
    return { rules: this.table.size };
  }

  async shouldRateLimit(req: RateLimitRequest): Promise<RateLimitResponse> {
    const started = performance.now();
    const res = await this.decideAll(req);
    const s = (performance.now() - started) / 1000;
    this.latency.sum += s;
    this.latency.count++;
    const i = decisionBuckets.findIndex((le) => s <= le);
    if (i >= 0) this.latency.counts[i]!++;
    return res;
  }

  private async decideAll(req: RateLimitRequest): Promise<RateLimitResponse> {
    const now = this.now();
    const hits = Math.max(1, req.hitsAddend);
    const table = this.table;
    this.counts.requests++;
    this.counts.descriptors += req.descriptors.length;
    const matched: (Matched | undefined)[] = req.domain === this.domain ? req.descriptors.map((d) => table.match(d.entries)) : [];
    const work: { m: Matched; i: number }[] = [];
    const counterHits: CounterHit[] = [];
    req.descriptors.forEach((_, i) => {
      const m = matched[i];
      if (!m) { this.counts.unmatched++; return; }
      work.push({ m, i });
      counterHits.push({ key: `waystation:rl:${this.domain}:${m.counter}`, window: Math.floor(now / m.limit.windowMs), windowMs: m.limit.windowMs, hits, previous: this.window === "sliding" });
    });
    const statuses: RateLimitResponse_DescriptorStatus[] = req.descriptors.map(() => status(Code.OK));
    if (work.length > 0) {
      let values: CounterValue[] | undefined;
      try {
        values = await this.store.hit(counterHits, now);
      } catch (e) {
        this.counts.storeErrors++;
        this.logger.debug("rate limit: counter store failed", { error: (e as Error).message });
      }
      work.forEach(({ m, i }, j) => { statuses[i] = values ? this.decide(m, values[j]!, now, hits) : this.failed(m); });
    }
    const over = statuses.some((s) => s.code === Code.OVER_LIMIT);
    if (over) this.counts.overLimit++; else this.counts.ok++;
    return create(RateLimitResponseSchema, { overallCode: over ? Code.OVER_LIMIT : Code.OK, statuses });
  }

  private decide(m: Matched, v: CounterValue, now: number, hits: number): RateLimitResponse_DescriptorStatus {
    const { rule, requests, windowMs } = m.limit;
    const elapsed = now - Math.floor(now / windowMs) * windowMs;
    const used = this.window === "sliding" ? v.previous * (1 - elapsed / windowMs) + v.count : v.count;
    const over = used > requests;
    const r = this.rules.get(rule.id);
    if (r) { r.hits += hits; if (over) { if (rule.shadow) r.shadowOverLimit++; else r.overLimit++; } }
    if (rule.shadow) {
      if (over) this.logger.debug("rate limit: shadow rule over its limit (allowed)", { rule: rule.id, counter: m.counter, used, limit: requests });
      return status(Code.OK);
    }
    return status(over ? Code.OVER_LIMIT : Code.OK, {
      currentLimit: { name: rule.id, requestsPerUnit: requests, unit: units[rule.limit!.unit] },
      limitRemaining: Math.max(0, Math.floor(requests - used)),
      durationUntilReset: duration(windowMs - elapsed),
    });
  }

  private failed(m: Matched): RateLimitResponse_DescriptorStatus {
    const closed = m.limit.rule.failureMode === "closed" && !m.limit.rule.shadow;
    if (closed) this.counts.failedClosed++; else this.counts.failedOpen++;
    return status(closed ? Code.OVER_LIMIT : Code.OK);
  }

  stats(): LimiterStats {
    let cumulative = 0;
    const buckets = decisionBuckets.map((le, i) => ({ le, count: (cumulative += this.latency.counts[i]!) }));
    return {
      ...this.counts,
      rules: Object.fromEntries([...this.rules].map(([id, r]) => [id, { ...r }])),
      decisionSeconds: { buckets, sum: this.latency.sum, count: this.latency.count },
    };
  }

  status(): LimiterStatus {
    return { ...this.store.health(), store: this.store.kind, window: this.window, rules: this.table.size };
  }
}

type StatusDetails = Pick<MessageInitShape<typeof RateLimitResponse_DescriptorStatusSchema> & { $typeName?: undefined }, "currentLimit" | "limitRemaining" | "durationUntilReset">;

function status(code: Code, rest: StatusDetails = {}): RateLimitResponse_DescriptorStatus {
  return create(RateLimitResponse_DescriptorStatusSchema, { code, ...rest });
}
