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
import { TypeUrl, type XdsType } from "./types.js";

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
  /**
   * Send the next response even if it equals the last (EDS after a CDS push; see push()): the CDS
   * version that asked for it, so the streams re-warmed by the same CDS push share one response.
   */
  resend: string | undefined;
}

const NO_NAMES: readonly string[] = Object.freeze([]);
/** The `base` of every SotW response in the ResponseCache: a SotW response does not depend on the past. */
const SOTW = {};

/**
 * One `StreamAggregatedResources` stream. Per type it remembers only the subscription and the last
 * sent (version, names), so a wildcard Envoy costs a few small objects per type.
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
      st = { wildcard: false, explicit: false, names: NO_NAMES, nonce: "", sent: undefined, resend: undefined };
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

  protected push(url: string, snapshot: Snapshot, since: number): void {
    const st = this.state.get(url);
    const res = snapshot.get(url);
    if (!st || !res) return;
    this.deps.status.type(this.record!, url).desiredVersion = res.version;
    if (!st.wildcard && st.names.length === 0) return; // subscribed to nothing
    const want: Sent = { version: res.version, wildcard: st.wildcard, names: st.names };
    // "When to send an update": only when the response would differ from the last one, whether the
    // client ACKed or NACKed it. Resending a rejected config would loop forever (STYLE.md §6).
    if (same(want, st.sent) && st.resend === undefined) return;
    const resend = st.resend;
    st.resend = undefined;

    // Every stream with the same subscription gets the same bytes: encode once (ResponseCache). The
    // one exception is a cached response whose nonce this stream had last: it is rebuilt, fresh.
    const key = (st.wildcard ? "*" : st.names.join("\0")) + (resend === undefined ? "" : `\0\0${resend}`);
    const build = () => this.encode(url, res, st);
    let out = this.deps.responses.get(res, SOTW, key, build);
    if (out.nonce === st.nonce) out = build();
    this.write(out.encoded);
    st.nonce = out.nonce;
    st.sent = want;
    this.deps.status.sent(this.record!, {
      type: url, version: res.version, resources: out.items.length, removed: 0, bytes: out.bytes, durationMs: performance.now() - since,
    }, out.nonce);

    // A cluster added or updated by CDS warms until an EDS response arrives, even an unchanged one
    // (xDS protocol doc, "Resource warming"; Envoy >= 1.28 otherwise waits initial_fetch_timeout
    // before falling back to its EDS cache). So every CDS push is followed by the EDS response;
    // EDS comes after CDS in push order, so it goes out in this same flush.
    const eds = url === TypeUrl.CDS ? this.state.get(TypeUrl.EDS) : undefined;
    if (eds?.sent) {
      eds.resend = res.version;
      this.markDirty(TypeUrl.EDS);
    }
  }

  /**
   * The response for the stream's subscription. Listener and Cluster responses carry every resource
   * subscribed to (absence = deletion); for the other types a response carries the requested
   * resources that exist ("Grouping Resources into Responses"). With a wildcard that is everything
   * the snapshot holds for this node.
   */
  private encode(url: string, res: TypeResources, st: SotwType): SharedResponse {
    const items: readonly XdsResource[] = st.wildcard ? res.items : pick(st.names, (n) => res.get(n));
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
