/**
 * Counters in this process: right for one replica (or for tests). Memory stays bounded two ways:
 * counters are filed by the second they expire in and swept (at most once per second of the
 * injected clock, costing only the expired ones), and past `maxCounters` the counters that would
 * expire soonest are evicted (an eviction forgets hits, so it errs towards letting requests through).
 */
import { windowKey, type CounterHit, type CounterStore, type CounterValue, type StoreHealth } from "./store.js";

export interface MemoryStoreOptions {
  /** Most counters kept at once; default 1,000,000 (roughly 150 MB at worst). */
  maxCounters?: number;
}

interface Counter { count: number; expiresAt: number }

export class MemoryStore implements CounterStore {
  readonly kind = "memory";
  private readonly counters = new Map<string, Counter>();
  /** Keys by the second their counter expires in. */
  private readonly expiring = new Map<number, string[]>();
  private lastSweep = 0;
  private readonly maxCounters: number;
  /** Counters dropped to stay under maxCounters. */
  evictions = 0;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxCounters = options.maxCounters ?? 1_000_000;
  }

  /** How many counters are held now. */
  get size(): number {
    return this.counters.size;
  }

  hit(hits: readonly CounterHit[], now: number): Promise<CounterValue[]> {
    return Promise.resolve(this.hitNow(hits, now));
  }

  /** The synchronous core of {@link hit}. */
  hitNow(hits: readonly CounterHit[], now: number): CounterValue[] {
    if (now - this.lastSweep >= 1000) this.sweep(now);
    return hits.map((h) => {
      const key = windowKey(h.key, h.window);
      let c = this.counters.get(key);
      if (!c || c.expiresAt <= now) {
        if (!c && this.counters.size >= this.maxCounters) this.evict(now);
        c = { count: 0, expiresAt: (h.window + (h.previous ? 2 : 1)) * h.windowMs + 1000 };
        this.counters.set(key, c);
        const sec = Math.ceil(c.expiresAt / 1000);
        const list = this.expiring.get(sec);
        if (list) list.push(key); else this.expiring.set(sec, [key]);
      }
      c.count += h.hits;
      const prev = h.previous ? this.counters.get(windowKey(h.key, h.window - 1)) : undefined;
      return { count: c.count, previous: prev && prev.expiresAt > now ? prev.count : 0 };
    });
  }

  /** Drops every counter whose window has passed. */
  sweep(now: number): void {
    this.lastSweep = now;
    for (const [sec, keys] of this.expiring) {
      if (sec * 1000 > now) continue;
      this.expiring.delete(sec);
      for (const k of keys) {
        const c = this.counters.get(k);
        if (c && c.expiresAt <= now) this.counters.delete(k);
      }
    }
  }

  /** Makes room: sweep, then drop the counters that expire soonest. */
  private evict(now: number): void {
    this.sweep(now);
    while (this.counters.size >= this.maxCounters && this.expiring.size > 0) {
      const soonest = Math.min(...this.expiring.keys());
      const keys = this.expiring.get(soonest)!;
      this.expiring.delete(soonest);
      for (const k of keys) if (this.counters.delete(k)) this.evictions++;
    }
  }

  health(): StoreHealth {
    return { healthy: true };
  }

  close(): Promise<void> {
    this.counters.clear();
    this.expiring.clear();
    return Promise.resolve();
  }
}
