// What SotW and Delta streams share: node handling, watch, send order, flow control, cleanup.
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { ControlPlaneSchema, type ControlPlane, type Node } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import type { NodeKey, SnapshotCache, SnapshotWatcher } from "./cache.js";
import type { PreEncoded } from "./grpcService.js";
import type { ResponseCache } from "./responses.js";
import type { Snapshot } from "./snapshot.js";
import type { StreamRecord, XdsStatus } from "./status.js";
import { PUSH_ORDER, xdsType, type Logger, type XdsType } from "./types.js";

/** What every stream gets from the server. */
export interface ConnectionDeps {
  readonly cache: SnapshotCache;
  readonly status: XdsStatus;
  readonly log: Logger;
  /** Sent as `control_plane` in every response when set. */
  readonly controlPlane: ControlPlane | undefined;
  /** Responses shared between streams, and the server-wide nonce sequence. */
  readonly responses: ResponseCache;
}

/** The request fields both variants share. */
interface AnyRequest {
  node?: Node | undefined;
  typeUrl: string;
}

/** Builds the `control_plane` field from an identifier. */
export function controlPlane(identifier: string | undefined): ControlPlane | undefined {
  return identifier ? create(ControlPlaneSchema, { identifier }) : undefined;
}

/**
 * One ADS stream. Subclasses implement the variant: `request()` updates subscription and ACK state,
 * `push()` builds and writes at most one response for a type. Pushes go through `flush()`, which sends
 * the dirty types in push order and pauses while grpc-js's write buffer is full; a type that changes
 * again meanwhile is sent once, at its newest version, when the buffer drains.
 */
export abstract class AdsConnection<Req extends AnyRequest, Res> implements SnapshotWatcher {
  /** Subscribed type URLs; the cache only tells us about changes to these. */
  readonly types = new Set<string>();
  protected record: StreamRecord | undefined;
  protected nodeKey: NodeKey | undefined;
  private cancelWatch: (() => void) | undefined;
  private readonly dirty = new Set<string>();
  private dirtySince = 0;
  private blocked = false;
  private closed = false;
  private unknownTypes: Set<string> | undefined;
  private closeListener: (() => void) | undefined;

  constructor(
    protected readonly call: grpc.ServerDuplexStream<Req, Res>,
    protected readonly deps: ConnectionDeps,
    readonly id: string,
    private readonly variant: "sotw" | "delta",
  ) {}

  /** Wires the call's events; everything after this is driven by the client and the cache. */
  start(): void {
    this.call.on("data", (req: Req) => this.onData(req));
    this.call.on("end", () => { this.close(); this.call.end(); });
    this.call.on("cancelled", () => this.close());
    this.call.on("error", () => this.close());
    this.call.on("close", () => this.close());
    this.call.on("drain", () => { this.blocked = false; this.flush(); });
  }

  /** Handles one typed request of a served type (after node and type checks). */
  protected abstract request(req: Req, type: XdsType): void;

  /** Writes at most one response for `typeUrl` from `snapshot`; `since` is when the push was triggered. */
  protected abstract push(typeUrl: string, snapshot: Snapshot, since: number): void;

  /** SnapshotWatcher: the node belongs to another group now (it had no snapshot before). */
  onRegroup(key: NodeKey): void {
    this.nodeKey = key;
    if (this.record) this.deps.status.regroup(this.record, key.group);
    this.log.info("xds: stream now reads its group's snapshot", { stream: this.id, node: key.id, group: key.group });
  }

  /** SnapshotWatcher: the node's snapshot changed for some subscribed types. */
  onSnapshot(_next: Snapshot, changed: readonly string[]): void {
    for (const u of changed) this.markDirty(u);
    this.flush();
  }

  protected markDirty(typeUrl: string): void {
    if (this.dirty.size === 0) this.dirtySince = performance.now();
    this.dirty.add(typeUrl);
  }

  /** Sends the dirty types in push order (CDS, EDS, LDS, RDS, SDS, Address, Authorization). */
  protected flush(): void {
    if (this.closed || this.blocked || this.dirty.size === 0 || !this.nodeKey) return;
    const snapshot = this.deps.cache.resolve(this.nodeKey);
    if (!snapshot) return; // nothing to serve yet; the types stay dirty until a snapshot arrives
    const since = this.dirtySince;
    for (const u of PUSH_ORDER) {
      if (!this.dirty.has(u)) continue;
      this.dirty.delete(u);
      this.push(u, snapshot, since);
      if (this.blocked || this.closed) break;
    }
  }

  /**
   * Writes a response (usually one encoded once for every stream, see ResponseCache). When grpc-js's
   * buffer is full, later pushes wait for 'drain' (see flush()).
   */
  protected write(res: PreEncoded): void {
    if (this.closed) return;
    // The serializer passes PreEncoded bytes through (grpcService.ts).
    if (!this.call.write(res as unknown as Res)) this.blocked = true;
  }

  protected get log(): Logger {
    return this.deps.log;
  }

  private onData(req: Req): void {
    if (this.closed) return;
    try {
      if (!this.record && !this.open(req)) return;
      const t = xdsType(req.typeUrl);
      if (!t) {
        // Answer nothing for a type we do not serve, and keep the stream (the client may serve it
        // from elsewhere). Warn once per stream and type so a chatty client cannot flood the log.
        this.unknownTypes ??= new Set();
        const first = !this.unknownTypes.has(req.typeUrl) && this.unknownTypes.size < 16;
        if (first) this.unknownTypes.add(req.typeUrl);
        this.log[first ? "warn" : "debug"]("xds: request for a type not served; ignored", { stream: this.id, node: this.record!.node, typeUrl: req.typeUrl });
        return;
      }
      this.request(req, t);
    } catch (err) {
      this.log.error("xds: request handling failed; closing stream", { stream: this.id, error: err instanceof Error ? err.stack : String(err) });
      this.fail(grpc.status.INTERNAL, "internal error handling the request");
    }
  }

  /**
   * First request: the node is only guaranteed there (xDS protocol doc, "Basic Protocol Overview":
   * "Only the first request on a stream is guaranteed to carry the node identifier"), so cache it.
   */
  private open(req: Req): boolean {
    const node = req.node;
    if (!node || node.id === "") {
      this.fail(grpc.status.INVALID_ARGUMENT, "the first request on an ADS stream must carry node.id");
      return false;
    }
    this.nodeKey = this.deps.cache.nodeKey(node);
    this.record = this.deps.status.connect({ id: this.id, node: node.id, group: this.nodeKey.group, variant: this.variant, peer: this.call.getPeer() });
    this.cancelWatch = this.deps.cache.watch(this.nodeKey, this, node);
    this.log.info("xds: stream opened", { stream: this.id, node: node.id, group: this.nodeKey.group, variant: this.variant });
    if (!this.deps.cache.resolve(this.nodeKey)) this.log.info("xds: no snapshot for node yet; waiting", { node: node.id });
    return true;
  }

  /** Ends the call with an error status and releases everything. */
  protected fail(code: grpc.status, details: string): void {
    if (this.closed) return;
    this.close();
    this.call.emit("error", { code, details });
  }

  /** Releases the watch and status record (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cancelWatch?.();
    this.closeListener?.();
    this.dirty.clear();
    if (this.record) {
      this.deps.status.disconnect(this.record);
      this.log.info("xds: stream closed", { stream: this.id, node: this.record.node });
    }
  }

  /** Sets the function called once when the stream closes, for whatever reason. */
  onClose(fn: () => void): void {
    this.closeListener = fn;
    if (this.closed) fn();
  }

  /** Ends the stream from the server side (shutdown). */
  shutdown(): void {
    this.fail(grpc.status.UNAVAILABLE, "control plane shutting down");
  }
}
