/** The xDS resources a translator produces for one proxy, grouped by type, each list sorted by name. */
import type { Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import type { Listener } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import type { Secret } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { Condition } from "@waystation/model";

export interface XdsResources {
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  listeners: Listener[];
  routes: RouteConfiguration[];
  secrets: Secret[];
}

/** Type URLs, in the order resources are sent (CDS, EDS, LDS, RDS, SDS). */
export const typeUrls = {
  clusters: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  endpoints: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  listeners: "type.googleapis.com/envoy.config.listener.v3.Listener",
  routes: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  secrets: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
} as const;

export type ResourceType = keyof XdsResources;
export const resourceTypes: readonly ResourceType[] = ["clusters", "endpoints", "listeners", "routes", "secrets"];

/** What a translator returns: resources for the proxy and conditions for the resources it read. */
export interface Translation {
  resources: XdsResources;
  conditions: Condition[];
}

export function emptyResources(): XdsResources {
  return { clusters: [], endpoints: [], listeners: [], routes: [], secrets: [] };
}

/** Sorts every list by resource name, so output never depends on the order a Map was filled. */
export function sortResources(r: XdsResources): XdsResources {
  const by = <T>(name: (x: T) => string) => (a: T, b: T) => (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);
  return {
    clusters: [...r.clusters].sort(by((c) => c.name)),
    endpoints: [...r.endpoints].sort(by((c) => c.clusterName)),
    listeners: [...r.listeners].sort(by((l) => l.name)),
    routes: [...r.routes].sort(by((x) => x.name)),
    secrets: [...r.secrets].sort(by((s) => s.name)),
  };
}
