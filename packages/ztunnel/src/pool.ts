// The HBONE connection pool: one HTTP/2 session carries many CONNECT streams. Keyed as ztunnel keys
// it (istio-ambient.md §1.5, src/proxy/h2/client.rs WorkloadKey): source identity, source IP,
// expected destination identities, destination address. Pooling is the largest lever measured for a
// Node ztunnel (perf-anchors §2.5: 6-7.6x the connection rate of a TLS handshake per flow).
import type { ClientHttp2Session } from "node:http2";
import { formatHostPort, type HostPort } from "./ip.js";
import { silentLogger, type Logger } from "./types.js";

/** What a session is shared by. */
export interface PoolKey {
  readonly srcIdentity: string;
  readonly srcIp: string;
  readonly dstIdentities: readonly string[];
  readonly dst: HostPort;
}

/** The key as one string. */
export function poolKeyString(k: PoolKey): string {
  return `${k.srcIdentity}|${k.srcIp}|${[...k.dstIdentities].sort().join(",")}|${formatHostPort(k.dst.host, k.dst.port)}`;
}

/** A stream slot on a session; `release` exactly once when the stream is done. */
export interface Lease {
  readonly session: ClientHttp2Session;
  /** Whether this lease opened the session (for logs and tests). */
  readonly fresh: boolean;
  release(): void;
}

/** Options of the pool. */
export interface PoolOptions {
  /** Opens a new session for a key (TLS + HTTP/2); rejects with the reason it could not. */
  readonly connect: (key: PoolKey) => Promise<ClientHttp2Session>;
  /** POOL_MAX_STREAMS_PER_CONNECTION: 100, capped by the peer's SETTINGS_MAX_CONCURRENT_STREAMS. */
  readonly maxStreamsPerSession?: number;
  /** POOL_UNUSED_RELEASE_TIMEOUT: an idle session is closed after this long (default 5 min). */
  readonly idleTimeoutMs?: number;
  readonly logger?: Logger;
}

interface Pooled {
  readonly session: ClientHttp2Session;
  readonly key: string;
  readonly srcIdentity: string;
  active: number;
  /** No new streams (cert rotated, GOAWAY received); closed when the last stream is done. */
  draining: boolean;
  idle?: NodeJS.Timeout | undefined;
}

/** Sessions by key, handing out stream slots. */
export class HbonePool {
  readonly #opts: PoolOptions;
  readonly #log: Logger;
  readonly #sessions = new Map<string, Pooled[]>();
  readonly #connecting = new Map<string, Promise<ClientHttp2Session>>();
  #opened = 0;
  #closed = false;

  constructor(opts: PoolOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
  }

  /** A stream slot on a pooled session for `key`, opening a session when none has room. */
  async acquire(key: PoolKey): Promise<Lease> {
    const k = poolKeyString(key);
    for (;;) {
      if (this.#closed) throw new Error("the HBONE pool is closed");
      const p = this.#available(k);
      if (p) return this.#lease(p, false);
      const pending = this.#connecting.get(k);
      if (pending) {
        // Wait for the session being opened, then look again (it may be full by then). Its failure
        // is ours too: a refused destination is not retried once per waiting flow.
        await pending;
        continue;
      }
      // Open a session; concurrent callers wait for it, then take slots on it.
      const connecting = this.#opts.connect(key);
      this.#connecting.set(k, connecting);
      let session: ClientHttp2Session;
      try {
        session = await connecting;
      } finally {
        if (this.#connecting.get(k) === connecting) this.#connecting.delete(k);
      }
      if (this.#closed) {
        session.destroy();
        throw new Error("the HBONE pool is closed");
      }
      return this.#lease(this.#add(k, key.srcIdentity, session), true);
    }
  }

  /** Sessions of `srcIdentity` take no new streams (its certificate rotated); live streams go on. */
  drainIdentity(srcIdentity: string): void {
    for (const p of [...this.#sessions.values()].flat()) if (p.srcIdentity === srcIdentity) this.#drain(p);
  }

  /** Open sessions and active streams, per key. */
  stats(): { sessions: number; streams: number; opened: number; byKey: Record<string, { sessions: number; streams: number }> } {
    const byKey: Record<string, { sessions: number; streams: number }> = {};
    let sessions = 0, streams = 0;
    for (const [k, list] of [...this.#sessions.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const s = list.reduce((n, p) => n + p.active, 0);
      byKey[k] = { sessions: list.length, streams: s };
      sessions += list.length;
      streams += s;
    }
    return { sessions, streams, opened: this.#opened, byKey };
  }

  /** Destroys every session (process shutdown). */
  close(): void {
    this.#closed = true;
    const all = [...this.#sessions.values()].flat();
    this.#sessions.clear();
    for (const p of all) { clearTimeout(p.idle); p.session.destroy(); }
  }

  #available(k: string): Pooled | undefined {
    const max = this.#opts.maxStreamsPerSession ?? 100;
    return this.#sessions.get(k)?.find((p) => !p.draining && !p.session.closed && !p.session.destroyed
      && p.active < Math.min(max, p.session.remoteSettings.maxConcurrentStreams ?? max));
  }

  #add(k: string, srcIdentity: string, session: ClientHttp2Session): Pooled {
    const p: Pooled = { session, key: k, srcIdentity, active: 0, draining: false };
    let list = this.#sessions.get(k);
    if (!list) this.#sessions.set(k, (list = []));
    list.push(p);
    this.#opened++;
    const remove = () => {
      clearTimeout(p.idle);
      const l = this.#sessions.get(k);
      const i = l?.indexOf(p) ?? -1;
      if (i >= 0) l!.splice(i, 1);
      if (l?.length === 0) this.#sessions.delete(k);
    };
    session.once("close", remove);
    session.on("error", (err) => this.#log.debug("HBONE session error", { key: k, error: err.message }));
    // A GOAWAY lets streams in flight finish; new ones go to a new session.
    session.once("goaway", () => this.#drain(p));
    this.#log.debug("HBONE session opened", { key: k });
    return p;
  }

  #lease(p: Pooled, fresh: boolean): Lease {
    p.active++;
    clearTimeout(p.idle);
    p.idle = undefined;
    let released = false;
    return {
      session: p.session, fresh,
      release: () => {
        if (released) return;
        released = true;
        p.active--;
        if (p.active > 0) return;
        if (p.draining) return void p.session.close();
        p.idle = setTimeout(() => { if (p.active === 0) p.session.close(); }, this.#opts.idleTimeoutMs ?? 300_000);
        p.idle.unref();
      },
    };
  }

  #drain(p: Pooled): void {
    p.draining = true;
    if (p.active === 0) p.session.close();
  }
}
