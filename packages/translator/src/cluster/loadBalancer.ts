/**
 * DestinationRule `loadBalancer` -> the cluster's lb_policy and lb_config, as Istio's
 * `applyLoadBalancer` / `ApplyRingHashLoadBalancer` build them, plus the route `hash_policy` that
 * consistent hashing needs (Envoy hashes on what the route says; the cluster only picks the ring).
 *
 * - No setting, UNSPECIFIED, LEAST_CONN or LEAST_REQUEST: LEAST_REQUEST (Istio's default since 1.14).
 * - warmup / warmupDurationSecs: slow start, for ROUND_ROBIN and LEAST_REQUEST only (Envoy has
 *   none for the others).
 * - consistentHash: RING_HASH (minimumRingSize; 1024 when only the deprecated form or nothing is
 *   given) or MAGLEV (tableSize), whatever `simple` said.
 * - PASSTHROUGH: the cluster becomes ORIGINAL_DST with CLUSTER_PROVIDED; the caller drops its
 *   endpoints. A cluster that is ORIGINAL_DST already (ServiceEntry resolution NONE) ignores it all.
 * - localityLbSetting is not applied: waypoints have no locality of their own in the model yet
 *   (a condition says so, see index.ts).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Cluster_LbPolicy, type ClusterSchema, type Cluster_SlowStartConfigSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { RouteAction_HashPolicySchema, type RouteAction_HashPolicy } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { LoadBalancerSettings } from "@waystation/api";
import { millis } from "../envoy/build.js";
import { durationMs } from "./policy.js";

type ClusterInit = MessageInitShape<typeof ClusterSchema>;

/** What the load balancer settings do to a cluster. */
export interface LoadBalancerPlan {
  lbPolicy: Cluster_LbPolicy;
  lbConfig?: ClusterInit["lbConfig"];
  /** simple: PASSTHROUGH: forward to the address the client dialled (ORIGINAL_DST). */
  passthrough: boolean;
}

/** Istio exposes no runtime key for slow-start aggression; Envoy wants one, so it gets a fixed name nobody sets. */
const aggressionRuntimeKey = "waystation.slow_start.aggression";

/** The consistent-hash settings of a load balancer, when it hashes. */
export type ConsistentHash = NonNullable<LoadBalancerSettings["consistentHash"]>;

export function loadBalancerPlan(lb: LoadBalancerSettings | undefined, originalDst: boolean): LoadBalancerPlan {
  if (originalDst) return { lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED, passthrough: false };
  let plan: LoadBalancerPlan;
  const start = slowStart(lb);
  switch (lb?.simple) {
    case "RANDOM":
      plan = { lbPolicy: Cluster_LbPolicy.RANDOM, passthrough: false };
      break;
    case "ROUND_ROBIN":
      plan = { lbPolicy: Cluster_LbPolicy.ROUND_ROBIN, passthrough: false,
        ...(start ? { lbConfig: { case: "roundRobinLbConfig", value: { slowStartConfig: start } } } : {}) };
      break;
    case "PASSTHROUGH":
      return { lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED, passthrough: true };
    default: // UNSPECIFIED, LEAST_CONN (deprecated alias), LEAST_REQUEST
      plan = { lbPolicy: Cluster_LbPolicy.LEAST_REQUEST, passthrough: false,
        ...(start ? { lbConfig: { case: "leastRequestLbConfig", value: { slowStartConfig: start } } } : {}) };
  }
  const ch = lb?.consistentHash;
  if (!ch) return plan;
  if (ch.maglev) {
    const size = ch.maglev.tableSize ?? 0;
    return { lbPolicy: Cluster_LbPolicy.MAGLEV, passthrough: false,
      ...(size !== 0 ? { lbConfig: { case: "maglevLbConfig", value: { tableSize: BigInt(size) } } } : {}) };
  }
  if (ch.ringHash) {
    const size = ch.ringHash.minimumRingSize ?? 0;
    return { lbPolicy: Cluster_LbPolicy.RING_HASH, passthrough: false,
      ...(size !== 0 ? { lbConfig: { case: "ringHashLbConfig", value: { minimumRingSize: BigInt(size) } } } : {}) };
  }
  // Neither ring nor maglev named: a ring, sized by the deprecated field or Envoy's default 1024.
  const size = ch.minimumRingSize || 1024;
  return { lbPolicy: Cluster_LbPolicy.RING_HASH, passthrough: false, lbConfig: { case: "ringHashLbConfig", value: { minimumRingSize: BigInt(size) } } };
}

/** Slow start from `warmup` (aggression 1 and 10% minimum weight unless given, as Istio) or the deprecated `warmupDurationSecs`. */
function slowStart(lb: LoadBalancerSettings | undefined): MessageInitShape<typeof Cluster_SlowStartConfigSchema> | undefined {
  if (lb?.warmup) {
    return {
      slowStartWindow: millis(durationMs(lb.warmup.duration)),
      aggression: { defaultValue: lb.warmup.aggression ?? 1, runtimeKey: aggressionRuntimeKey },
      minWeightPercent: { value: lb.warmup.minimumPercent ?? 10 },
    };
  }
  if (lb?.warmupDurationSecs) return { slowStartWindow: millis(durationMs(lb.warmupDurationSecs)) };
  return undefined;
}

/** The route hash policy for consistent hashing (Istio `consistentHashToHashPolicy`), or undefined. */
export function hashPolicyOf(ch: ConsistentHash | undefined): RouteAction_HashPolicy | undefined {
  if (!ch) return undefined;
  if (ch.httpHeaderName) return create(RouteAction_HashPolicySchema, { policySpecifier: { case: "header", value: { headerName: ch.httpHeaderName } } });
  if (ch.httpCookie) {
    const c = ch.httpCookie;
    return create(RouteAction_HashPolicySchema, {
      policySpecifier: {
        case: "cookie",
        value: {
          name: c.name,
          path: c.path ?? "",
          // With a ttl Envoy generates the cookie when it is missing; 0s makes it a session cookie.
          ...(c.ttl !== undefined ? { ttl: millis(durationMs(c.ttl)) } : {}),
          attributes: (c.attributes ?? []).map((a) => ({ name: a.name, value: a.value ?? "" })),
        },
      },
    });
  }
  if (ch.useSourceIp) return create(RouteAction_HashPolicySchema, { policySpecifier: { case: "connectionProperties", value: { sourceIp: true } } });
  if (ch.httpQueryParameterName) return create(RouteAction_HashPolicySchema, { policySpecifier: { case: "queryParameter", value: { name: ch.httpQueryParameterName } } });
  return undefined;
}
