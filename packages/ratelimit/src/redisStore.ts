/**
 * Counters in Redis, shared by every replica of the service. All counters of one request are
 * bumped by one Lua script (one round trip, atomic): INCRBY each window key, PEXPIRE it on its
 * first hit, and GET the previous window when the sliding estimate needs it. Keys are
 * `waystation:rl:<domain>:<counter key>:<window>`. A script touches several keys, so this needs
 * one Redis (or a primary with replicas/Sentinel), not Redis Cluster.
 *
 * Never hang: commands fail at once while disconnected (no offline queue, no retries per request)
 * and time out after `commandTimeoutMs` on a connection that stopped answering; the service then
 * applies each policy's failureMode. The client reconnects in the background.
 */
import { Redis } from "ioredis";
import { ttlMs, windowKey, type CounterHit, type CounterStore, type CounterValue, type StoreHealth } from "./store.js";
import { silentLogger, type Logger } from "./types.js";

export interface RedisStoreOptions {
  /** `redis://[:password@]host:port[/db]`, or `rediss://` for TLS. */
  url: string;
  /** Longest wait for one script call; default 50 ms (Envoy's own deadline for the service defaults to 100 ms). */
  commandTimeoutMs?: number;
  /** Longest wait for a TCP connection; default 1000 ms. */
  connectTimeoutMs?: number;
  logger?: Logger;
}

// KEYS: the current window key of each hit, each followed by its previous window key if ARGV[2] is "1".
// ARGV: hits, sliding flag, then one TTL (ms) per hit. Returns count[, previous] per hit.
const script = `
local hits = tonumber(ARGV[1])
local step = 1
if ARGV[2] == "1" then step = 2 end
local out = {}
local n = 0
for i = 1, #KEYS, step do
  n = n + 1
  local count = redis.call("INCRBY", KEYS[i], hits)
  if count == hits then redis.call("PEXPIRE", KEYS[i], ARGV[2 + n]) end
  out[#out + 1] = count
  if step == 2 then out[#out + 1] = tonumber(redis.call("GET", KEYS[i + 1]) or "0") end
end
return out
`;

type Scripted = Redis & { waystationHit(numKeys: number, ...args: (string | number)[]): Promise<number[]> };

export class RedisStore implements CounterStore {
  readonly kind = "redis";
  private readonly client: Scripted;
  private readonly logger: Logger;
  private state: StoreHealth = { healthy: false };
  private closing = false;

  constructor(options: RedisStoreOptions) {
    this.logger = options.logger ?? silentLogger;
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 50,
      connectTimeout: options.connectTimeoutMs ?? 1000,
      // Reconnect forever, backing off to 2 s between attempts.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
    }) as Scripted;
    this.client.defineCommand("waystationHit", { lua: script });
    this.client.on("ready", () => this.answered(`connected to ${redact(options.url)}`));
    // Without an "error" listener ioredis reports every failed reconnect as an unhandled error event.
    this.client.on("error", (e: Error) => this.failed(e));
    this.client.on("close", () => { if (this.state.healthy) this.failed(new Error("connection to Redis closed")); });
  }

  /** Connects, waiting at most the connect timeout; if Redis is down the client keeps retrying in the background. */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (e) {
      this.failed(e as Error);
      this.logger.warn("rate limit: Redis unreachable at start; each policy's failureMode applies until it is reachable", { error: (e as Error).message });
    }
  }

  /** Redis answers (again): healthy, keeping the last error for status(). */
  private answered(how: string): void {
    if (this.state.healthy) return;
    this.logger.info("rate limit: Redis reachable", { how });
    this.state = { healthy: true, ...(this.state.lastError ? { lastError: this.state.lastError } : {}) };
  }

  private failed(e: Error): void {
    if (this.closing) return;
    const wasHealthy = this.state.healthy;
    this.state = { healthy: false, lastError: { message: e.message, at: Date.now() } };
    if (wasHealthy) this.logger.warn("rate limit: Redis unreachable; each policy's failureMode applies until it is back", { error: e.message });
  }

  async hit(hits: readonly CounterHit[], _now: number): Promise<CounterValue[]> {
    if (hits.length === 0) return [];
    const sliding = hits.some((h) => h.previous);
    const keys: string[] = [];
    for (const h of hits) {
      keys.push(windowKey(h.key, h.window));
      if (sliding) keys.push(windowKey(h.key, h.window - 1));
    }
    // One script call per distinct hits value would be needed if they differed; a request has one.
    const args = [hits[0]!.hits, sliding ? "1" : "0", ...hits.map((h) => ttlMs({ ...h, previous: sliding }))];
    let raw: number[];
    try {
      raw = await this.client.waystationHit(keys.length, ...keys, ...args);
    } catch (e) {
      this.failed(e as Error);
      throw e;
    }
    this.answered("a command succeeded");
    const step = sliding ? 2 : 1;
    return hits.map((_, i) => ({ count: Number(raw[i * step]), previous: sliding ? Number(raw[i * step + 1]) : 0 }));
  }

  health(): StoreHealth {
    return this.state;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.client.removeAllListeners("error");
    this.client.on("error", () => {});
    this.client.disconnect(false);
  }
}

/** The URL without its password, for logs. */
function redact(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, "//***@");
}
