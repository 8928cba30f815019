/**
 * A waypoint translation of N services assembled from translations of small slices of the mesh
 * (services [0, k), [k, 2k) ... each its own model). Two uses:
 *
 * - the summed translateWaypoint time of the slices is what translation would cost if one
 *   service's resources cost the same at any mesh size (no per-service scans over the whole
 *   model): the target a linear translator can be compared with;
 * - the assembled resources have the shape and size translateWaypoint gives for N services (same
 *   names, VIPs, chains, one main_internal dispatching to all of them), so validateSnapshot and
 *   buildSnapshot can be measured at sizes where translateWaypoint itself is too slow to run.
 */
import { performance } from "node:perf_hooks";
import { buildModel } from "@waystation/model";
import { inboundVipName, sortResources, translateWaypoint, type XdsResources } from "@waystation/translator";
import type { Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { mainInternalListener, type DispatchEntry } from "../../packages/translator/src/waypoint/mainInternal.js";
import { syntheticMesh } from "./mesh.js";

export interface Stitched {
  resources: XdsResources;
  /** Sum of the slices' translateWaypoint wall ms (model building and assembly excluded). */
  translateMs: number;
  slices: number;
}

export function stitchedTranslation(services: number, slice: number): Stitched {
  const clusters = new Map<string, Cluster>();
  const out: XdsResources = { clusters: [], endpoints: [], listeners: [], routes: [], secrets: [] };
  const dispatch: DispatchEntry[] = [];
  let translateMs = 0;
  let slices = 0;
  for (let first = 0; first < services; first += slice) {
    const model = buildModel(syntheticMesh({ services: Math.min(slice, services - first), first }));
    const w = model.waypoints[0]!;
    const t = performance.now();
    const r = translateWaypoint(model, w).resources;
    translateMs += performance.now() - t;
    slices++;
    // The waypoint's own clusters (main_internal, connect_originate) come out of every slice alike.
    for (const c of r.clusters) if (!clusters.has(c.name)) clusters.set(c.name, c);
    out.endpoints.push(...r.endpoints);
    out.routes.push(...r.routes);
    const vipsByChain = new Map(model.services.flatMap((s) => s.ports.map((p) => [inboundVipName(s, p), s] as const)));
    for (const l of r.listeners) {
      if (l.name !== "main_internal") {
        if (first === 0) out.listeners.push(l);
        continue;
      }
      for (const chain of l.filterChains) {
        const svc = vipsByChain.get(chain.name);
        if (!svc) throw new Error(`stitch: no service for chain ${chain.name}`);
        dispatch.push({ vips: svc.vips, port: svc.ports[0]!.port, chain });
      }
    }
  }
  out.clusters = [...clusters.values()];
  out.listeners.push(mainInternalListener(dispatch));
  return { resources: sortResources(out), translateMs, slices };
}
