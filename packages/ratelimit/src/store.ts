/**
 * Counter stores: where the rate limit service keeps its fixed-window counters. One replica can
 * keep them in memory (memoryStore.ts); replicas that must share one budget keep them in Redis
 * (redisStore.ts). Both see the same keys:
 *
 *   waystation:rl:<domain>:<counter key>:<window>
 *
 * `<window>` is floor(now / window length): every replica derives the same window from its own
 * clock (keep them NTP-synced), and a counter never needs resetting, it just expires.
 */

/** One counter to bump. */
export interface CounterHit {
  /** `waystation:rl:<domain>:<counter key>`, without the window. */
  key: string;
  /** The window index: floor(now / windowMs). */
  window: number;
  windowMs: number;
  /** How much to add (the request's hits_addend, at least 1). */
  hits: number;
  /** Also read the previous window's count (sliding-window estimate). */
  previous: boolean;
}

/** A counter after the hit: this window's count (including the hit) and, if asked, the previous window's. */
export interface CounterValue {
  count: number;
  previous: number;
}

/** Whether the store can be reached, and its last failure. */
export interface StoreHealth {
  healthy: boolean;
  lastError?: { message: string; at: number };
}

/** Where counters live. `hit` must settle in bounded time (the Redis store has a command timeout). */
export interface CounterStore {
  readonly kind: "memory" | "redis";
  /** Adds each hit atomically and returns the counts, in order. Rejects when the store is unreachable. */
  hit(hits: readonly CounterHit[], now: number): Promise<CounterValue[]>;
  health(): StoreHealth;
  close(): Promise<void>;
}

/** The full key of one window's counter. */
export function windowKey(key: string, window: number): string {
  return `${key}:${window}`;
}

/**
 * How long a window's counter must live: its own window, plus the next one when the sliding
 * estimate reads it as "previous", plus a second for clock skew between replicas.
 */
export function ttlMs(h: CounterHit): number {
  return h.windowMs * (h.previous ? 2 : 1) + 1000;
}
