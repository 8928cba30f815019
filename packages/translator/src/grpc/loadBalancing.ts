/**
 * DestinationRule load balancing as gRPC clients can do it (grpc-js-xds cluster-resource-type.js,
 * gRFC A42 ring hash): a cluster is ROUND_ROBIN or RING_HASH, anything else (LEAST_REQUEST,
 * MAGLEV, ...) is NACKed. Routes to a hashing cluster carry its hash_policy, as the waypoint's
 * routes do (routing/hashPolicies.ts). gRPC hashes on a header or on its channel only:
 *
 * - httpHeaderName: a header hash policy (the call's metadata);
 * - useSourceIp: a filter_state io.grpc.channel_id policy. Every call of one client channel
 *   comes from the same address, so "same source, same backend" is "same channel, same backend";
 * - httpCookie, httpQueryParameterName: gRPC calls have neither; no hash policy, so calls are
 *   spread at random over the ring, and a condition says so;
 * - maglev: gRPC has no Maglev; the cluster is a ring hash.
 */
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { DestinationRuleSpec as ApiDestinationRuleSpec } from "@waystation/api";
import { Cluster_LbPolicy, type ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { RouteAction_HashPolicySchema, type Route, type RouteAction_HashPolicy } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { effectivePolicy } from "../cluster/policy.js";
import type { DestinationRuleSpec } from "../destinationRule.js";

type ClusterInit = MessageInitShape<typeof ClusterSchema>;

/** The load balancing of one gRPC cluster, the hash policy its routes need, and what gRPC cannot do. */
export interface GrpcLoadBalancing {
  fields: Pick<ClusterInit, "lbPolicy" | "lbConfig">;
  hash?: RouteAction_HashPolicy;
  /** Messages for a condition on the DestinationRule, each with the field path it is about. */
  notes: string[];
}

/** gRPC's largest ring (grpc-js-xds cluster validation). */
const maxRingSize = 8_388_608;

export function grpcLoadBalancing(spec: DestinationRuleSpec | undefined, port: number, subset?: string): GrpcLoadBalancing {
  const lb = effectivePolicy(spec as ApiDestinationRuleSpec | undefined, port, subset)?.loadBalancer;
  const at = lbPath(spec, port, subset);
  const notes: string[] = [];
  const ch = lb?.consistentHash;
  if (!ch) {
    if (lb?.simple && lb.simple !== "ROUND_ROBIN" && lb.simple !== "UNSPECIFIED") {
      notes.push(`${at}.loadBalancer.simple: proxyless gRPC clients balance round robin; ${lb.simple} is not available to them`);
    }
    return { fields: { lbPolicy: Cluster_LbPolicy.ROUND_ROBIN }, notes };
  }
  if (ch.maglev) notes.push(`${at}.loadBalancer.consistentHash.maglev: proxyless gRPC clients have no Maglev; they use a ring hash`);
  const size = Math.min(ch.ringHash?.minimumRingSize || ch.minimumRingSize || 1024, maxRingSize);
  const fields: GrpcLoadBalancing["fields"] = {
    lbPolicy: Cluster_LbPolicy.RING_HASH,
    lbConfig: { case: "ringHashLbConfig", value: { minimumRingSize: BigInt(size) } },
  };
  let hash: RouteAction_HashPolicy | undefined;
  if (ch.httpHeaderName) {
    hash = create(RouteAction_HashPolicySchema, { policySpecifier: { case: "header", value: { headerName: ch.httpHeaderName.toLowerCase() } } });
  } else if (ch.useSourceIp) {
    hash = create(RouteAction_HashPolicySchema, { policySpecifier: { case: "filterState", value: { key: "io.grpc.channel_id" } } });
  } else {
    const what = ch.httpCookie ? "httpCookie: gRPC calls carry no cookies" : ch.httpQueryParameterName ? "httpQueryParameterName: gRPC calls have no query string" : "no hash key";
    notes.push(`${at}.loadBalancer.consistentHash.${what}; proxyless gRPC clients spread calls at random over the ring`);
  }
  return { fields, ...(hash ? { hash } : {}), notes };
}

/** Where the load balancer of a cluster is written: a subset's or the top-level policy, or its port-level entry. */
function lbPath(spec: DestinationRuleSpec | undefined, port: number, subset: string | undefined): string {
  const api = spec as ApiDestinationRuleSpec | undefined;
  const at = (tp: ApiDestinationRuleSpec["trafficPolicy"], base: string): string | undefined => {
    const j = tp?.portLevelSettings?.findIndex((p) => p.port.number === port) ?? -1;
    return j >= 0 ? `${base}.portLevelSettings[${j}]` : tp?.loadBalancer ? base : undefined;
  };
  const i = subset === undefined ? -1 : api?.subsets?.findIndex((s) => s.name === subset) ?? -1;
  return (i >= 0 ? at(api?.subsets?.[i]?.trafficPolicy, `spec.subsets[${i}].trafficPolicy`) : undefined) ?? at(api?.trafficPolicy, "spec.trafficPolicy") ?? "spec.trafficPolicy";
}

/** Adds to each route the hash policies of the clusters it sends to (`hashes`: cluster name -> policy). */
export function withHashPolicies(routes: readonly Route[], hashes: ReadonlyMap<string, RouteAction_HashPolicy>): void {
  if (hashes.size === 0) return;
  for (const route of routes) {
    if (route.action.case !== "route") continue;
    const spec = route.action.value.clusterSpecifier;
    const clusters = spec.case === "cluster" ? [spec.value] : spec.case === "weightedClusters" ? spec.value.clusters.map((c) => c.name) : [];
    const seen = new Set<string>();
    const hash: RouteAction_HashPolicy[] = [];
    for (const p of clusters.map((c) => hashes.get(c))) {
      if (!p) continue;
      const key = Buffer.from(toBinary(RouteAction_HashPolicySchema, p)).toString("base64");
      if (!seen.has(key)) hash.push(p);
      seen.add(key);
    }
    if (hash.length > 0) route.action.value.hashPolicy = hash;
  }
}
