// Incremental (Delta) ADS: DeltaAggregatedResources.
import { performance } from "node:perf_hooks";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryResponseSchema, ResourceSchema, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse,
} from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { AdsConnection } from "./connection.js";
import { PreEncoded } from "./grpcService.js";
import type { SharedResponse } from "./responses.js";
import type { Snapshot, TypeResources, XdsResource } from "./snapshot.js";
import { TypeUrl, edsResourceName, type XdsType } from "./types.js";

/** Responses awaiting ACK/NACK per type; beyond this the oldest are forgotten (treated as stale). */
const MAX_PENDING = 32;
/** The `base` in the ResponseCache of a client that holds nothing of the type yet. */
const NOTHING = {};

/** Per-type state of a Delta stream. */
interface DeltaType {
  wildcard: boolean;
  /** Explicitly subscribed names (without "*"). */
  readonly names: Set<string>;
  /**
   * What the client holds, restricted to its interest: the resources of `base` (a shared,
   * immutable snapshot part, so a wildcard client costs one pointer), or exactly `known` (name ->
   * version) when that is set: after `initial_resource_versions`, or when a wildcard is added.
   */
  base: TypeResources | undefined;
  known: Map<string, string> | undefined;
  /** Names the next response must answer, in `resources` or `removed_resources`. */
  force: Set<string> | undefined;
  /** The first request of the type on this stream gets an answer even when nothing differs. */
  mustRespond: boolean;
  /** Responses not yet ACKed or NACKed, oldest first. */
  readonly pending: { nonce: string; version: string }[];
}

/**
 * One `DeltaAggregatedResources` stream: sends only what differs from what the client holds, with
 * per-resource versions (content hashes), and `removed_resources` for what it holds but should not.
 */
export class DeltaConnection extends AdsConnection<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
  private readonly state = new Map<string, DeltaType>();

  protected request(req: DeltaDiscoveryRequest, t: XdsType): void {
    const url = t.typeUrl;
    let st = this.state.get(url);
    const first = !st;
    if (!st) {
      st = { wildcard: false, names: new Set(), base: undefined, known: undefined, force: undefined, mustRespond: true, pending: [] };
      this.state.set(url, st);
      this.types.add(url);
      // Reconnect: the client says what it already has, so only what differs is sent and what it
      // has but we do not is removed (xDS protocol doc, "Incremental xDS"). ztunnel sends "" versions.
      const initial = Object.entries(req.initialResourceVersions);
      if (initial.length > 0) st.known = new Map(initial);
    }
    if (req.responseNonce !== "") this.ackOrNack(req, st, url, t);
    const changed = this.subscribe(st, t, req, first);
    if (first || changed) {
      this.markDirty(url);
      this.flush();
    }
  }

  private ackOrNack(req: DeltaDiscoveryRequest, st: DeltaType, url: string, t: XdsType): void {
    const nonce = req.responseNonce;
    const i = st.pending.findIndex((p) => p.nonce === nonce);
    if (i < 0) {
      // Unknown or forgotten nonce: nothing to record. Its subscription changes still count: "the
      // server must honor changes to the subscription state even if the nonce is stale".
      this.log.debug("xds: stale delta nonce", { stream: this.id, type: t.name, nonce });
      return;
    }
    const { version } = st.pending[i]!;
    st.pending.splice(0, i + 1); // an answer to a response also settles the ones before it
    if (req.errorDetail) {
      // Detected by error_detail only. Nothing is resent: `base` already says the client has what we
      // sent, so the rejected resources go out again only when they change.
      this.deps.status.nack(this.record!, url, version, nonce, req.errorDetail.message, req.errorDetail.code);
    } else {
      this.deps.status.ack(this.record!, url, version, nonce);
    }
  }

  /**
   * Applies resource_names_subscribe, then resource_names_unsubscribe (so ztunnel's on-demand opening
   * `subscribe ["*"], unsubscribe ["*"]` means "nothing"). Returns whether a response may be due.
   */
  private subscribe(st: DeltaType, t: XdsType, req: DeltaDiscoveryRequest, first: boolean): boolean {
    const sub = req.resourceNamesSubscribe;
    const unsub = req.resourceNamesUnsubscribe;
    let changed = false;
    // Legacy wildcard: a first request that subscribes to nothing ("How the client specifies what
    // resources to return").
    if (first && sub.length === 0 && unsub.length === 0 && t.wildcard) st.wildcard = true;
    for (const n of sub) {
      if (n === "*") {
        if (!t.wildcard || st.wildcard) continue;
        this.pinView(st);
        st.wildcard = true;
      } else {
        st.names.add(n);
        // "The server must still provide those resources": the client may have forgotten them
        // ("Subscribing to Resources"); a name that does not exist is answered as removed.
        (st.force ??= new Set()).add(n);
      }
      changed = true;
    }
    for (const n of unsub) {
      if (n === "*") {
        st.wildcard = false;
        continue;
      }
      st.names.delete(n);
      if (st.wildcard) {
        // Exception in "Unsubscribing from Resources": with "*" plus a name, the client cannot tell
        // whether the wildcard still covers it, so answer it either way.
        (st.force ??= new Set()).add(n);
        changed = true;
      } else {
        st.force?.delete(n);
      }
    }
    return changed;
  }

  /** Before widening interest to "*", record exactly what the client holds (its named resources). */
  private pinView(st: DeltaType): void {
    if (st.known) return;
    const known = new Map<string, string>();
    for (const n of st.names) {
      const v = st.base?.get(n)?.version;
      if (v !== undefined) known.set(n, v);
    }
    st.known = known;
    st.base = undefined;
  }

  protected push(url: string, snapshot: Snapshot, since: number): void {
    const st = this.state.get(url);
    const cur = snapshot.get(url);
    if (!st || !cur) return;
    this.deps.status.type(this.record!, url).desiredVersion = cur.version;
    // When the client's holdings are a shared snapshot part (`base`), the response depends only on
    // (cur, base, interest, forced names): streams alike share one encoding (ResponseCache). An exact
    // `known` map is this stream's own.
    const names = st.wildcard ? undefined : [...st.names].sort();
    const build = () => this.encode(url, st, cur, names);
    let out: SharedResponse;
    if (st.known) {
      out = build();
    } else {
      const key = `${names ? names.join("\0") : "*"}\0\0${st.force ? [...st.force].sort().join("\0") : ""}`;
      out = this.deps.responses.get(cur, st.base ?? NOTHING, key, build);
    }
    st.base = cur;
    st.known = undefined;
    st.force = undefined;
    if (out.items.length === 0 && out.removed === 0 && !st.mustRespond) return;
    st.mustRespond = false;

    this.write(out.encoded);
    st.pending.push({ nonce: out.nonce, version: cur.version });
    if (st.pending.length > MAX_PENDING) st.pending.shift();
    this.deps.status.sent(this.record!, {
      type: url, version: cur.version, resources: out.items.length, removed: out.removed, bytes: out.bytes,
      durationMs: performance.now() - since,
    }, out.nonce);
    if (url === TypeUrl.CDS) this.rewarm(out.items);
  }

  /**
   * What differs between what the client holds (`known`, else `base`) and `cur`, within its interest
   * (`names`: sorted explicit names, undefined for a wildcard), as one encoded response.
   */
  private encode(url: string, st: DeltaType, cur: TypeResources, names: readonly string[] | undefined): SharedResponse {
    const interested = (n: string) => st.wildcard || st.names.has(n);
    const known = st.known;
    const base = st.base;
    const has = (n: string) => (known ? known.get(n) : base?.get(n)?.version);

    const items: XdsResource[] = [];
    const candidates = names ? names.map((n) => cur.get(n)) : cur.items;
    for (const r of candidates) {
      if (r && (st.force?.has(r.name) || has(r.name) !== r.version)) items.push(r);
    }
    const removed = new Set<string>();
    const held = known ? known.keys() : base && base !== cur ? base.items.map((r) => r.name) : [];
    for (const n of held) if (interested(n) && !cur.has(n)) removed.add(n);
    // "Knowing When a Requested Resource Does Not Exist": named in removed_resources.
    for (const n of st.force ?? []) if (!cur.has(n)) removed.add(n);

    const nonce = this.deps.responses.nonce();
    let bytes = 0;
    for (const r of items) bytes += r.bytes.length;
    const encoded = new PreEncoded(toBinary(DeltaDiscoveryResponseSchema, create(DeltaDiscoveryResponseSchema, {
      systemVersionInfo: cur.version, typeUrl: url, nonce, controlPlane: this.deps.controlPlane,
      resources: items.map((r) => create(ResourceSchema, { name: r.name, version: r.version, resource: r.any })),
      removedResources: [...removed].sort(),
    })));
    return { encoded, nonce, version: cur.version, items, removed: removed.size, bytes };
  }

  /**
   * A cluster added or updated by CDS warms until its ClusterLoadAssignment arrives, even an unchanged
   * one (xDS protocol doc, "Resource warming"; Envoy >= 1.28 otherwise waits initial_fetch_timeout
   * before using its EDS cache), so resend the assignments of the clusters just sent. EDS follows
   * CDS in push order, so they go out in this same flush.
   */
  private rewarm(clusters: readonly XdsResource[]): void {
    const eds = this.state.get(TypeUrl.EDS);
    if (!eds) return;
    for (const c of clusters) {
      const name = edsResourceName(c.message);
      if (name !== undefined && (eds.wildcard || eds.names.has(name))) (eds.force ??= new Set()).add(name);
    }
    if (eds.force?.size) this.markDirty(TypeUrl.EDS);
  }
}
