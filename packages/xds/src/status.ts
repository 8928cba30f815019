// Sync state per stream and type, NACK records (bounded), and the hooks monitoring exports from.
import { shortType, silentLogger, type Logger } from "./types.js";

/** One NACK, as shown by `/debug/nacks`, `waystation status` and status conditions. */
export interface NackRecord {
  readonly node: string;
  readonly stream: string;
  /** Short type name ("LDS") or the type URL for others. */
  readonly type: string;
  /** The version the client rejected (what we sent with `nonce`). */
  readonly version: string;
  readonly nonce: string;
  /** `error_detail.message`. */
  readonly message: string;
  /** `error_detail.code` (a google.rpc.Code). */
  readonly code: number;
  /** Epoch milliseconds. */
  readonly time: number;
}

/** Per stream, per type: what was sent, what the client accepted or rejected. */
export interface TypeSync {
  /** Version of the node's current snapshot for this type when last looked at. */
  desiredVersion: string;
  sentVersion: string;
  lastNonce: string;
  ackedVersion: string;
  /** The latest NACK of this type on this stream; cleared by a later ACK. */
  lastNack: NackRecord | undefined;
  /** Further NACKs of an already recorded nonce (not logged or listed again). */
  repeatedNacks: number;
  sentAt: number;
}

/** What the status knows about an open stream. */
export interface StreamRecord {
  readonly id: string;
  readonly node: string;
  group: string | undefined;
  readonly variant: "sotw" | "delta";
  readonly peer: string;
  readonly connectedAt: number;
  readonly types: Map<string, TypeSync>;
}

/** Payload of `onPush`. `bytes` = sum of the encoded resources in the response. */
export interface PushEvent {
  readonly type: string;
  readonly node: string;
  readonly stream: string;
  readonly version: string;
  readonly resources: number;
  readonly removed: number;
  readonly bytes: number;
  /** From the trigger (snapshot change or request) to the response being written. */
  readonly durationMs: number;
}

/** Payload of `onAck`. */
export interface AckEvent {
  readonly type: string;
  readonly node: string;
  readonly stream: string;
  readonly version: string;
  readonly nonce: string;
}

/** Event hooks for metrics and debug endpoints. A throwing hook is logged and otherwise ignored. */
export interface XdsHooks {
  onConnect(stream: StreamRecord): void;
  onDisconnect(stream: StreamRecord): void;
  onPush(e: PushEvent): void;
  onAck(e: AckEvent): void;
  onNack(nack: NackRecord): void;
}

/** Options of {@link XdsStatus}. */
export interface XdsStatusOptions {
  /** Size of the recent-NACK ring buffer. Default 1000. */
  maxNacks?: number;
  hooks?: Partial<XdsHooks>;
  logger?: Logger;
  now?: () => number;
}

/** JSON shape of {@link XdsStatus.syncz}: one entry per open stream. */
export interface SynczEntry {
  stream: string;
  node: string;
  group?: string;
  variant: "sotw" | "delta";
  peer: string;
  connectedAt: string;
  types: Record<string, {
    state: "SYNCED" | "STALE" | "NACKED" | "NOT_SENT";
    desired: string; sent: string; acked: string; nonce: string;
    lastNack?: { version: string; nonce: string; message: string; time: string };
  }>;
}

/**
 * Records the state of every open stream. Memory is bounded: one `TypeSync` per stream and type,
 * one last NACK per stream and type, and a fixed-size ring of recent NACKs, so a client that NACKs
 * everything (or repeats one NACK forever) cannot grow it.
 */
export class XdsStatus {
  private readonly streams = new Map<string, StreamRecord>();
  private readonly ring: (NackRecord | undefined)[];
  private ringNext = 0;
  private ringCount = 0;
  private readonly hooks: Partial<XdsHooks>[] = [];
  private readonly log: Logger;
  /** Epoch milliseconds clock (injectable for tests). */
  readonly now: () => number;

  constructor(opts: XdsStatusOptions = {}) {
    this.ring = new Array(Math.max(1, opts.maxNacks ?? 1000));
    if (opts.hooks) this.hooks.push(opts.hooks);
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
  }

  /** Adds hooks (e.g. the monitoring endpoint's); returns the function that removes them. */
  addHooks(hooks: Partial<XdsHooks>): () => void {
    this.hooks.push(hooks);
    return () => {
      const i = this.hooks.indexOf(hooks);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Registers an open stream. */
  connect(r: Omit<StreamRecord, "types" | "connectedAt">): StreamRecord {
    const rec: StreamRecord = { ...r, connectedAt: this.now(), types: new Map() };
    this.streams.set(rec.id, rec);
    this.emit("onConnect", rec);
    return rec;
  }

  /** Forgets a closed stream (idempotent). */
  disconnect(rec: StreamRecord): void {
    if (this.streams.delete(rec.id)) this.emit("onDisconnect", rec);
  }

  /** The sync record of one type on a stream, created on first use. */
  type(rec: StreamRecord, typeUrl: string): TypeSync {
    let t = rec.types.get(typeUrl);
    if (!t) {
      t = { desiredVersion: "", sentVersion: "", lastNonce: "", ackedVersion: "", lastNack: undefined, repeatedNacks: 0, sentAt: 0 };
      rec.types.set(typeUrl, t);
    }
    return t;
  }

  /** A response was written. */
  sent(rec: StreamRecord, e: Omit<PushEvent, "node" | "stream">, nonce: string): void {
    const t = this.type(rec, e.type);
    t.sentVersion = e.version;
    t.lastNonce = nonce;
    t.sentAt = this.now();
    this.emit("onPush", { ...e, type: shortType(e.type), node: rec.node, stream: rec.id });
  }

  /** The stream's node now resolves through `group`. */
  regroup(rec: StreamRecord, group: string | undefined): void {
    rec.group = group;
  }

  /**
   * A new `version` of the type holds nothing the client lacks (SotW EDS/RDS/SDS send only news), so
   * no response goes out: the client is as current as if it had ACKed it. A rejected response keeps
   * its NACKED state; one still in flight is settled by its ACK, which will carry `version`.
   */
  current(rec: StreamRecord, typeUrl: string, version: string): void {
    const t = this.type(rec, typeUrl);
    if (t.lastNack) return;
    const settled = t.ackedVersion === t.sentVersion;
    t.sentVersion = version;
    if (settled) t.ackedVersion = version;
  }

  /** The client accepted the response with `nonce`, carrying `version`. */
  ack(rec: StreamRecord, typeUrl: string, version: string, nonce: string): void {
    const t = this.type(rec, typeUrl);
    t.ackedVersion = version;
    t.lastNack = undefined;
    this.emit("onAck", { type: shortType(typeUrl), node: rec.node, stream: rec.id, version, nonce });
  }

  /** The client rejected the response with `nonce` (it carried `version`). */
  nack(rec: StreamRecord, typeUrl: string, version: string, nonce: string, message: string, code: number): void {
    const t = this.type(rec, typeUrl);
    if (t.lastNack?.nonce === nonce) {
      // The same rejection again: count it, but neither log nor list it twice.
      t.repeatedNacks++;
      return;
    }
    const nack: NackRecord = { node: rec.node, stream: rec.id, type: shortType(typeUrl), version, nonce, message, code, time: this.now() };
    t.lastNack = nack;
    this.ring[this.ringNext] = nack;
    this.ringNext = (this.ringNext + 1) % this.ring.length;
    this.ringCount = Math.min(this.ringCount + 1, this.ring.length);
    this.log.warn("xds: NACK", { node: nack.node, type: nack.type, version, nonce, message });
    this.emit("onNack", nack);
  }

  /** Recent NACKs, oldest first (at most `maxNacks`). */
  recentNacks(): NackRecord[] {
    const out: NackRecord[] = [];
    const start = (this.ringNext - this.ringCount + this.ring.length) % this.ring.length;
    for (let i = 0; i < this.ringCount; i++) out.push(this.ring[(start + i) % this.ring.length]!);
    return out;
  }

  /** Open streams (live records; do not mutate). */
  openStreams(): StreamRecord[] {
    return [...this.streams.values()];
  }

  /** Plain-JSON state of every open stream, sorted by node then stream id (for `/debug/syncz`). */
  syncz(): SynczEntry[] {
    const iso = (ms: number) => new Date(ms).toISOString();
    return this.openStreams()
      .sort((a, b) => (a.node === b.node ? cmp(a.id, b.id) : cmp(a.node, b.node)))
      .map((r) => {
        const types: SynczEntry["types"] = {};
        for (const [url, t] of [...r.types].sort((a, b) => cmp(a[0], b[0]))) {
          types[shortType(url)] = {
            state: syncState(t), desired: t.desiredVersion, sent: t.sentVersion, acked: t.ackedVersion, nonce: t.lastNonce,
            ...(t.lastNack ? { lastNack: { version: t.lastNack.version, nonce: t.lastNack.nonce, message: t.lastNack.message, time: iso(t.lastNack.time) } } : {}),
          };
        }
        return { stream: r.id, node: r.node, ...(r.group !== undefined ? { group: r.group } : {}), variant: r.variant,
          peer: r.peer, connectedAt: iso(r.connectedAt), types };
      });
  }

  private emit<K extends keyof XdsHooks>(name: K, arg: Parameters<XdsHooks[K]>[0]): void {
    for (const h of this.hooks) {
      const fn = h[name] as ((a: typeof arg) => void) | undefined;
      if (!fn) continue;
      try {
        fn.call(h, arg);
      } catch (err) {
        this.log.error(`xds: ${name} hook failed`, { error: String(err) });
      }
    }
  }
}

/** SYNCED: the client accepted what it should have. NACKED: it rejected the last response. */
function syncState(t: TypeSync): SynczEntry["types"][string]["state"] {
  if (t.lastNonce === "") return "NOT_SENT";
  if (t.lastNack && t.lastNack.version === t.sentVersion) return "NACKED";
  return t.ackedVersion === t.sentVersion && t.sentVersion === t.desiredVersion ? "SYNCED" : "STALE";
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
