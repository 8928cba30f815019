// Responses encoded once and shared by every stream that would send the same bytes.
import type { PreEncoded } from "./grpcService.js";
import type { TypeResources, XdsResource } from "./snapshot.js";

/** One encoded (Delta)DiscoveryResponse and what the status records need to know about it. */
export interface SharedResponse {
  /** The whole response, nonce included: written as is. */
  readonly encoded: PreEncoded;
  readonly nonce: string;
  readonly version: string;
  /** The resources it carries (Delta re-warms EDS for the clusters among them). */
  readonly items: readonly XdsResource[];
  readonly removed: number;
  /** Sum of the carried resources' encoded sizes. */
  readonly bytes: number;
}

/** Distinct responses kept per (resources, base); beyond that, responses are built per stream. */
const MAX_VARIANTS = 64;

/**
 * A thousand waypoint replicas subscribe alike, so they are sent the same bytes: encoding the
 * response once per distinct content, instead of once per stream, is what makes a 500 KB snapshot
 * cost one encoding (and one copy in grpc-js's framing per stream) rather than a thousand.
 *
 * Entries hang off the snapshot's {@link TypeResources} (a WeakMap), so they go when the snapshot
 * does. A response carries its nonce; nonces come from one server-wide sequence, so a shared response
 * is never confused with another one on any stream.
 */
export class ResponseCache {
  private readonly byResources = new WeakMap<TypeResources, WeakMap<object, Map<string, SharedResponse>>>();
  private seq = 0;

  /** A nonce never handed out before by this server. */
  nonce(): string {
    return (++this.seq).toString(36);
  }

  /**
   * The response for `resources` as seen from `base` (what the client holds, for Delta; a constant for
   * SotW), under `key` (everything else the content depends on). `build` runs on a miss.
   */
  get(resources: TypeResources, base: object, key: string, build: () => SharedResponse): SharedResponse {
    let byBase = this.byResources.get(resources);
    if (!byBase) this.byResources.set(resources, (byBase = new WeakMap()));
    let byKey = byBase.get(base);
    if (!byKey) byBase.set(base, (byKey = new Map()));
    const hit = byKey.get(key);
    if (hit) return hit;
    const out = build();
    if (byKey.size < MAX_VARIANTS) byKey.set(key, out);
    return out;
  }
}
