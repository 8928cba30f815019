// @waystation/ratelimit: Envoy's global rate limit service (envoy.service.ratelimit.v3), counters in memory or Redis.
export { startRateLimitService, defaultRateLimitPort } from "./server.js";
export type { RateLimitServer, RateLimitServiceOptions } from "./server.js";
export { RateLimiter, decisionBuckets } from "./limiter.js";
export type { LimiterOptions, LimiterStats, LimiterStatus, WindowKind } from "./limiter.js";
export { LimitTable } from "./limits.js";
export type { Entry, Limit, Matched } from "./limits.js";
export { MemoryStore } from "./memoryStore.js";
export type { MemoryStoreOptions } from "./memoryStore.js";
export { RedisStore } from "./redisStore.js";
export type { RedisStoreOptions } from "./redisStore.js";
export type { CounterHit, CounterStore, CounterValue, StoreHealth } from "./store.js";
export { silentLogger, type Logger } from "./types.js";
