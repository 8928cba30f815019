// State-of-the-World ADS: StreamAggregatedResources.
import { performance } from "node:perf_hooks";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  DiscoveryResponseSchema, type DiscoveryRequest, type DiscoveryResponse,
} from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { AdsConnection } from "./connection.js";
import { PreEncoded } from "./grpcService.js";
import type { SharedResponse } from "./responses.js";
import type { Snapshot, TypeResources, XdsResource } from "./snapshot.js";
import { TypeUrl, edsResourceName, xdsType, type XdsType } from "./types.js";

/** What was asked for, or sent: a version of the type for a subscription. */
interface Sent {
  readonly version: string;
  readonly wildcard: boolean;
  /** Compared by reference: a request that repeats the names keeps the same array. */
  readonly names: readonly string[];
}

/** Per-type state of a SotW stream. */
interface SotwType {
  wildcard: boolean;
  /** Once a request names resources, an empty list means "nothing", not the legacy wildcard. */
  explicit: boolean;
  /** Sorted, unique, without "*". */
  names: readonly string[];
  /** Nonce of the latest response of this type ("" before the first). */
  nonce: string;
  sent: Sent | undefined;
  /** The snapshot part the last response came from: what the client holds of this type. */
  held: TypeResources | undefined;
  /** Names the next response must carry even if unchanged (EDS of clusters a CDS push changed). */
  force: Set<string> | undefined;
}

const NO_NAMES: readonly string[] = Object.freeze([]);
/** The `base` in the ResponseCache of a client that holds nothing of the type yet. */
const NOTHING = {};

/**
 * One `StreamAggregatedResources` stream. Per type it remembers only the subscription, the last
 * sent (version, names) and a pointer to the shared snapshot part the client holds, so an Envoy
 * costs a few small objects per type.
 */
export class SotwConnection extends AdsConnection<DiscoveryRequest, DiscoveryResponse> {
  private readonly state = new Map<string, SotwType>();

  protected request(req: DiscoveryRequest, t: XdsType): void {
    const url = t.typeUrl;
    let st = this.state.get(url);
    const nonce = req.responseNonce;
    if (st && st.nonce !== "" && nonce !== "" && nonce !== st.nonce) {
      // xDS protocol doc, "Resource updates": the server should not respond to a request with a stale
      // nonce. A newer response is in flight; the client will ACK or NACK it with its current names.
      this.log.debug("xds: stale nonce ignored", { stream: this.id, type: t.name, nonce, latest: st.nonce });
      return;
    }
    if (!st) {
      st = { wildcard: false, explicit: false, names: NO_NAMES, nonce: "", sent: undefined, held: undefined, force: undefined };
      this.state.set(url, st);
      this.types.add(url);
      // A nonce from an earlier stream means nothing here ("the nonce ... does not survive stream
      // restarts", xDS protocol doc, "Basic Protocol Overview"); treat this as the first request.
    } else if (nonce !== "" && st.sent) {
      // NACK is detected by error_detail only (xDS protocol doc, "ACK/NACK and resource type instance
      // version"): version_info need not change on a NACK for a newly subscribed resource.
      if (req.errorDetail) {
        // Nothing else to do: `sent` still holds what was rejected, and push() sends only what differs
        // from `sent`, so the rejected version goes out again only with a new version or new names.
        this.deps.status.nack(this.record!, url, st.sent.version, nonce, req.errorDetail.message, req.errorDetail.code);
      } else {
        this.deps.status.ack(this.record!, url, st.sent.version, nonce);
      }
    }
    this.subscribe(st, t, req.resourceNames);
    this.markDirty(url);
    this.flush();
  }

  /**
   * Applies the request's names (xDS protocol doc, "How the client specifies what resources to
   * return"): "*" is a wildcard for wildcard types; an empty list is the legacy wildcard until the
   * stream has named anything for this type, and "nothing" afterwards.
   */
  private subscribe(st: SotwType, t: XdsType, requested: readonly string[]): void {
    const star = requested.includes("*");
    const names = [...new Set(requested.filter((n) => n !== "*"))].sort();
    if (requested.length > 0) st.explicit = true;
    st.wildcard = t.wildcard && (star || (!st.explicit && requested.length === 0));
    if (!sameNames(names, st.names)) st.names = names.length === 0 ? NO_NAMES : names;
  }

  /**
   * Listener and Cluster responses (and the other wildcard types) carry every resource subscribed
   * to: absence means deletion. For EDS, RDS and SDS a response carries only what the client lacks:
   * the subscribed resources that changed since the response it holds, newly subscribed ones, and
   * forced ones (xDS protocol doc, "Grouping Resources into Responses": in SotW only Listener and
   * Cluster need the complete state; Envoy updates just the watches a response names). So an edit of
   * one route configuration sends that one, not all of them.
   */
  protected push(url: string, snapshot: Snapshot, since: number): void {
    const st = this.state.get(url);
    const res = snapshot.get(url);
    if (!st || !res) return;
    this.deps.status.type(this.record!, url).desiredVersion = res.version;
    if (!st.wildcard && st.names.length === 0) return; // subscribed to nothing
    const want: Sent = { version: res.version, wildcard: st.wildcard, names: st.names };
    // "When to send an update": only when the response would differ from the last one, whether the
    // client ACKed or NACKed it. Resending a rejected config would loop forever (STYLE.md §6).
    if (same(want, st.sent) && !st.force) return;
    const complete = xdsType(url)!.wildcard;
    const prev = st.sent;
    const held = st.held;
    const force = st.force;
    st.force = undefined;

    // Every stream in the same position gets the same bytes: encode once (ResponseCache). The one
    // exception is a cached response whose nonce this stream had last: it is rebuilt, fresh.
    const build = () => this.encode(url, res, st, complete, prev, held, force);
    const key = complete
      ? (st.wildcard ? "*" : st.names.join("\0"))
      : `${st.names.join("\0")}\0\0${prev === undefined ? "-" : prev.names === st.names ? "=" : prev.names.join("\0")}\0\0${force ? [...force].sort().join("\0") : ""}`;
    let out = this.deps.responses.get(res, complete || !held ? NOTHING : held, key, build);
    if (out.nonce === st.nonce) out = build();
    st.sent = want;
    st.held = res;
    // A partial type answers a first request even when it has nothing, and otherwise only with news.
    if (!complete && prev !== undefined && out.items.length === 0) {
      this.deps.status.current(this.record!, url, res.version);
      return;
    }
    this.write(out.encoded);
    st.nonce = out.nonce;
    this.deps.status.sent(this.record!, {
      type: url, version: res.version, resources: out.items.length, removed: 0, bytes: out.bytes, durationMs: performance.now() - since,
    }, out.nonce);
    if (url === TypeUrl.CDS) this.rewarm(out.items, held);
  }

  /**
   * A cluster added or updated by CDS warms until its ClusterLoadAssignment arrives, even an unchanged
   * one (xDS protocol doc, "Resource warming"; Envoy >= 1.28 otherwise waits initial_fetch_timeout
   * before falling back to its EDS cache). So the assignments of the clusters that changed go out
   * again; EDS follows CDS in push order, so they go out in this same flush.
   */
  private rewarm(clusters: readonly XdsResource[], held: TypeResources | undefined): void {
    const eds = this.state.get(TypeUrl.EDS);
    if (!eds?.sent) return;
    for (const c of clusters) {
      if (held?.get(c.name)?.version === c.version) continue;
      const name = edsResourceName(c.message);
      if (name !== undefined && eds.names.includes(name)) (eds.force ??= new Set()).add(name);
    }
    if (eds.force) this.markDirty(TypeUrl.EDS);
  }

  private encode(url: string, res: TypeResources, st: SotwType, complete: boolean, prev: Sent | undefined,
    held: TypeResources | undefined, force: ReadonlySet<string> | undefined): SharedResponse {
    let items: readonly XdsResource[];
    if (st.wildcard) items = res.items;
    else if (complete || !held || !prev) items = pick(st.names, (n) => res.get(n));
    else {
      const before = new Set(prev.names);
      items = pick(st.names, (n) => {
        const r = res.get(n);
        return r && (force?.has(n) || !before.has(n) || held.get(n)?.version !== r.version) ? r : undefined;
      });
    }
    const nonce = this.deps.responses.nonce();
    let bytes = 0;
    for (const r of items) bytes += r.bytes.length;
    const encoded = new PreEncoded(toBinary(DiscoveryResponseSchema, create(DiscoveryResponseSchema, {
      versionInfo: res.version, typeUrl: url, nonce, resources: items.map((r) => r.any),
      controlPlane: this.deps.controlPlane,
    })));
    return { encoded, nonce, version: res.version, items, removed: 0, bytes };
  }
}

function same(a: Sent, b: Sent | undefined): boolean {
  return b !== undefined && a.version === b.version && a.wildcard === b.wildcard && a.names === b.names;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

function pick(names: readonly string[], get: (n: string) => XdsResource | undefined): XdsResource[] {
  const out: XdsResource[] = [];
  for (const n of names) {
    const r = get(n);
    if (r) out.push(r);
  }
  return out;
}
