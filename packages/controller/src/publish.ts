/**
 * From a mesh model to snapshots in the cache: one snapshot per proxy group (each waypoint, and
 * one for all proxyless gRPC clients), so a thousand replicas of one waypoint share one snapshot
 * object. Pure except for the cache it writes to.
 */
import { formatValidationError, validateSnapshot, type ExternalNames } from "@waystation/translator/validate";
import {
  checkWorkloadApi, identifyProxy, translateFor, translateGrpc, translateWaypoint, translateWorkloadApi, waypointForPod, type Translation, type WaypointTranslateOptions, type XdsResources,
} from "@waystation/translator";
import type { Condition, MeshModel } from "@waystation/model";
import { buildSnapshot, type Snapshot, type SnapshotCache } from "@waystation/xds";
import type { Node } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import type { JsonObject } from "@bufbuild/protobuf";
import type { Secret } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";

/** Names the proxies' bootstrap or the CA provide, outside the translated snapshot. */
export const externalNames: ExternalNames = { secrets: ["default", "ROOTCA"] };

/** The cache key of a waypoint's snapshot. */
export const waypointGroup = (ns: string, name: string) => `waypoint/${ns}/${name}`;
export const grpcGroup = "grpc";
/** Every ztunnel reads the same snapshot: the whole workload API (Address, Authorization), as istiod serves it. */
export const ztunnelGroup = "ztunnel";

/** Which shared snapshot a connecting node reads (see SnapshotCache nodeGroup). */
export function nodeGroupOf(model: () => MeshModel | undefined, node: Node): string | undefined {
  const p = identifyProxy({ id: node.id, userAgentName: node.userAgentName, clientFeatures: node.clientFeatures, metadata: node.metadata as JsonObject | undefined });
  if ("error" in p) return undefined;
  if (p.role === "grpc") return grpcGroup;
  if (p.role === "ztunnel") return ztunnelGroup;
  if (p.role === "waypoint") {
    const m = model();
    const w = m && waypointForPod(m, p.namespace, p.podName);
    return w ? waypointGroup(w.namespace, w.name) : undefined;
  }
  return undefined;
}

export interface PublishResult {
  group: string;
  ok: boolean;
  errors: string[];
  changed: readonly string[];
  conditions: Condition[];
}

/**
 * Translates every group, adds its SDS secrets, validates, and sets the snapshots that pass; a
 * failing one keeps its last good snapshot. Without `secrets` (tests, translate), the secret names
 * count as provided from outside.
 */
export function publishModel(model: MeshModel, cache: SnapshotCache, secrets?: (identity: string) => Secret[], waypointOptions: Partial<WaypointTranslateOptions> = {}): PublishResult[] {
  const results: PublishResult[] = [];
  const groups: [string, () => Translation][] = [
    ...model.waypoints.map((w) => [waypointGroup(w.namespace, w.name), () => withSecrets(translateWaypoint(model, w, waypointOptions), secrets?.(w.identity))] as [string, () => Translation]),
    [grpcGroup, () => translateGrpc(model)],
  ];
  for (const [group, translate] of groups) {
    const t = translate();
    const errors = validateSnapshot(t.resources, secrets ? {} : { external: externalNames }).map(formatValidationError);
    if (errors.length > 0) {
      results.push({ group, ok: false, errors, changed: [], conditions: t.conditions });
      continue;
    }
    const r = cache.setSnapshot(group, toSnapshot(t.resources));
    results.push({ group, ok: r.ok, errors: r.ok ? [] : [...r.errors], changed: r.ok ? r.changed : [], conditions: t.conditions });
  }
  results.push(publishWorkloadApi(model, cache));
  return results;
}

/**
 * The ztunnel group: only istio.workload.Address and istio.security.Authorization. The strict
 * validator knows Envoy types only, so our own invariants are checked instead (unique names,
 * 4- or 16-byte addresses).
 */
function publishWorkloadApi(model: MeshModel, cache: SnapshotCache): PublishResult {
  const api = translateWorkloadApi(model);
  const errors = checkWorkloadApi(api);
  if (errors.length > 0) return { group: ztunnelGroup, ok: false, errors, changed: [], conditions: api.conditions };
  const r = cache.setSnapshot(ztunnelGroup, buildSnapshot([...api.addresses, ...api.authorizations]));
  return { group: ztunnelGroup, ok: r.ok, errors: r.ok ? [] : [...r.errors], changed: r.ok ? r.changed : [], conditions: api.conditions };
}

function withSecrets(t: Translation, secrets: Secret[] | undefined): Translation {
  return secrets ? { ...t, resources: { ...t.resources, secrets: [...t.resources.secrets, ...secrets].sort((a, b) => (a.name < b.name ? -1 : 1)) } } : t;
}

export function toSnapshot(r: XdsResources): Snapshot {
  return buildSnapshot([...r.clusters, ...r.endpoints, ...r.listeners, ...r.routes, ...r.secrets]);
}

export { translateFor };
