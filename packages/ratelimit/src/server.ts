/**
 * The rate limit service process part: envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit
 * on @grpc/grpc-js (plaintext, like xDS on 15010), over a RateLimiter with memory or Redis
 * counters. `waystation serve` starts it in process; `waystation ratelimit` runs it alone.
 */
import * as grpc from "@grpc/grpc-js";
import type { LoadedResource } from "@waystation/api";
import { RateLimitService, type RateLimitRequest, type RateLimitResponse } from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { grpcServiceDefinition } from "@waystation/xds";
import { RateLimiter, type LimiterStats, type LimiterStatus, type WindowKind } from "./limiter.js";
import { MemoryStore } from "./memoryStore.js";
import { RedisStore } from "./redisStore.js";
import type { CounterStore } from "./store.js";
import { silentLogger, type Logger } from "./types.js";

/** The gRPC port Envoy's rate limit filter is pointed at by default (envoyproxy/ratelimit's). */
export const defaultRateLimitPort = 8081;

export interface RateLimitServiceOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Address to listen on; default 0.0.0.0. */
  host?: string;
  /** Counters in Redis (shared by replicas); without it, in memory (one replica). */
  redisUrl?: string;
  /** Per Redis call; default 50 ms. */
  redisTimeoutMs?: number;
  window?: WindowKind;
  /** Memory counters: most held at once; default 1,000,000. */
  maxCounters?: number;
  logger?: Logger;
  /** Injectable clock (ms since the epoch); default Date.now. */
  now?: () => number;
  /** Policies to start with (more arrive through setPolicies). */
  policies?: readonly LoadedResource[];
}

/** A running rate limit service. */
export interface RateLimitServer {
  /** The port it listens on (the real one when 0 was asked for). */
  port: number;
  /** Replace the limits with those of the RateLimitPolicies among `resources`; call on every config change. */
  setPolicies(resources: readonly LoadedResource[]): void;
  /** Store reachability and the last store error, for /debug and readiness. */
  status(): LimiterStatus;
  /** Counters for the monitoring endpoint. */
  stats(): LimiterStats;
  /** Stops listening (in-flight calls finish first, up to 2 s) and closes the store. */
  close(): Promise<void>;
}

/** Starts the service; resolves once it listens (and has tried Redis once, if configured). */
export async function startRateLimitService(options: RateLimitServiceOptions): Promise<RateLimitServer> {
  const logger = options.logger ?? silentLogger;
  let store: CounterStore;
  if (options.redisUrl) {
    const redis = new RedisStore({ url: options.redisUrl, logger, ...(options.redisTimeoutMs !== undefined ? { commandTimeoutMs: options.redisTimeoutMs } : {}) });
    await redis.connect();
    store = redis;
  } else {
    store = new MemoryStore(options.maxCounters !== undefined ? { maxCounters: options.maxCounters } : {});
  }
  const limiter = new RateLimiter({ store, logger, ...(options.window ? { window: options.window } : {}), ...(options.now ? { now: options.now } : {}) });
  if (options.policies) limiter.setPolicies(options.policies);

  // Channelz (grpc-js's per-call bookkeeping for a debug service we do not expose) costs per call.
  const server = new grpc.Server({ "grpc.enable_channelz": 0 });
  const shouldRateLimit: grpc.handleUnaryCall<RateLimitRequest, RateLimitResponse> = (call, callback) => {
    limiter.shouldRateLimit(call.request).then(
      (res) => callback(null, res),
      (e: Error) => {
        logger.error("rate limit: ShouldRateLimit failed", { error: e.message });
        callback({ code: grpc.status.INTERNAL, details: e.message });
      },
    );
  };
  server.addService(grpcServiceDefinition(RateLimitService), { shouldRateLimit });
  const host = options.host ?? "0.0.0.0";
  const address = host.includes(":") ? `[${host}]:${options.port}` : `${host}:${options.port}`;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  } catch (e) {
    await store.close();
    throw new Error(`rate limit service: cannot listen on ${address}: ${(e as Error).message}`, { cause: e });
  }
  logger.info("rate limit service listening", { port, store: store.kind, window: options.window ?? "fixed" });

  return {
    port,
    setPolicies: (resources) => { limiter.setPolicies(resources); },
    status: () => limiter.status(),
    stats: () => limiter.stats(),
    async close() {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => { server.forceShutdown(); resolve(); }, 2000);
        server.tryShutdown(() => { clearTimeout(force); resolve(); });
      });
      await store.close();
    },
  };
}
