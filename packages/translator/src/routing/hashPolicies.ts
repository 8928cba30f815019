/**
 * Consistent hashing: a DestinationRule's consistentHash makes the cluster RING_HASH/MAGLEV, but
 * Envoy hashes only on what the *route* names in hash_policy. Istio adds the hash policy of every
 * destination a route sends to; so does this pass, over a built RouteConfiguration, mapping each
 * cluster name back to its service, port and subset.
 */
import type { RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import type { RouteAction_HashPolicy } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { toBinary } from "@bufbuild/protobuf";
import { RouteAction_HashPolicySchema } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { MeshModel, Waypoint } from "@waystation/model";
import { hashPolicyFor } from "../cluster/index.js";
import { findDestinationRule } from "../destinationRule.js";
import { inboundVipName } from "../names.js";
import { servedServices } from "./resolver.js";

/** Adds hash_policy to every route whose clusters hash; returns the same configuration. */
export function withHashPolicies(rc: RouteConfiguration, model: MeshModel, w: Waypoint): RouteConfiguration {
  const policies = hashingClusters(model, w);
  if (policies.size === 0) return rc;
  for (const vh of rc.virtualHosts) {
    for (const route of vh.routes) {
      if (route.action.case !== "route") continue;
      const spec = route.action.value.clusterSpecifier;
      const clusters = spec.case === "cluster" ? [spec.value] : spec.case === "weightedClusters" ? spec.value.clusters.map((c) => c.name) : [];
      const seen = new Set<string>();
      const hash: RouteAction_HashPolicy[] = [];
      for (const c of clusters) {
        const p = policies.get(c);
        if (!p) continue;
        const key = Buffer.from(toBinary(RouteAction_HashPolicySchema, p)).toString("base64");
        if (seen.has(key)) continue;
        seen.add(key);
        hash.push(p);
      }
      if (hash.length > 0) route.action.value.hashPolicy = hash;
    }
  }
  return rc;
}

const cache = new WeakMap<MeshModel, Map<string, Map<string, RouteAction_HashPolicy>>>();

/** Cluster name -> hash policy for a waypoint's clusters that hash; computed once per model and waypoint. */
function hashingClusters(model: MeshModel, w: Waypoint): Map<string, RouteAction_HashPolicy> {
  const perModel = cache.get(model) ?? new Map<string, Map<string, RouteAction_HashPolicy>>();
  cache.set(model, perModel);
  const key = `${w.namespace}/${w.name}`;
  const hit = perModel.get(key);
  if (hit) return hit;
  const policies = new Map<string, RouteAction_HashPolicy>();
  for (const svc of servedServices(model, w)) {
    const subsets = [undefined, ...(findDestinationRule(model, svc, w.namespace)?.object.spec.subsets ?? []).map((s) => s.name)];
    for (const port of svc.ports) {
      for (const subset of subsets) {
        const p = hashPolicyFor(model, w, svc, port, subset);
        if (p) policies.set(inboundVipName(svc, port, subset), p);
      }
    }
  }
  perModel.set(key, policies);
  return policies;
}
