/**
 * Translation for proxyless gRPC clients (a gRPC application with an xds: resolver). gRPC asks for
 * a Listener named after the dial target (xds:///reviews.bookinfo.svc.cluster.local:9080 ->
 * "reviews.bookinfo.svc.cluster.local:9080") whose api_listener is an HCM with the routes inline
 * or over RDS, then for the clusters those routes use and their endpoints. The routes are the same
 * as a waypoint's (VirtualService, HTTPRoute, DestinationRule), but clusters are outbound ones and
 * endpoints are the pods themselves: a proxyless client has no ztunnel in front of it. Clusters
 * balance round robin, or by ring hash for a DestinationRule's consistentHash (loadBalancing.ts).
 * All gRPC clients share one snapshot, so every service port is described.
 */
import { create } from "@bufbuild/protobuf";
import { ClusterSchema, Cluster_DiscoveryType } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import type { RouteAction_HashPolicy } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { describeKey } from "@waystation/api";
import { RouterSchema } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema, type HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { LbEndpointSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { HealthStatus } from "@waystation/proto/envoy/config/core/v3/health_check_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Condition, type MeshModel, type MeshService, type ServicePort } from "@waystation/model";
import { findDestinationRule } from "../destinationRule.js";
import { adsSource, any, httpFilter, seconds } from "../envoy/build.js";
import { outboundName } from "../names.js";
import { emptyResources, sortResources, type Translation } from "../resources.js";
import { targetPortOf } from "../waypoint/endpoints.js";
import { grpcLoadBalancing, withHashPolicies } from "./loadBalancing.js";
import { grpcPorts } from "./resolver.js";
import { grpcRouteBuilder } from "./routes.js";

export { grpcRouteBuilder } from "./routes.js";

/** How the routes of one service port are built: the shared routing module plugs in here. */
export type GrpcRouteBuilder = (svc: MeshService, port: ServicePort, routeConfigName: string, defaultCluster: string) => {
  routeConfig: RouteConfiguration;
  filters: HttpFilter[];
  conditions: Condition[];
};

/** The listener (and route config) name gRPC uses for a target: host:port. */
export function grpcListenerName(svc: MeshService, port: ServicePort): string {
  return `${svc.hostname}:${port.port}`;
}

/**
 * The snapshot every proxyless gRPC client reads. Routes come from `routes`, by default the
 * shared routing module as gRPC honours it (routes.ts).
 */
export function translateGrpc(model: MeshModel, routes: GrpcRouteBuilder = grpcRouteBuilder(model)): Translation {
  const out = emptyResources();
  const conditions: Condition[] = [];
  // Clusters first: routes to a hashing cluster need its hash policy, whichever service they serve.
  const hashes = new Map<string, RouteAction_HashPolicy>();
  for (const svc of model.services) {
    // External hosts are not dialled by proxyless clients; grpcPorts is empty for them.
    const dr = findDestinationRule(model, svc, svc.namespace);
    for (const port of grpcPorts(svc)) {
      const subsets: { name: string; labels?: Record<string, string> }[] = [{ name: "" }, ...(dr?.object.spec.subsets ?? [])];
      for (const subset of subsets) {
        const cname = outboundName(svc.hostname, port.port, subset.name);
        const lb = grpcLoadBalancing(dr?.object.spec, port.port, subset.name || undefined);
        if (lb.hash) hashes.set(cname, lb.hash);
        if (dr && port.protocol === "GRPC") {
          conditions.push(...lb.notes.map((message) => ({ resource: dr.key, type: "PartiallyInvalid", status: "True" as const, reason: "UnsupportedValue", message })));
        }
        out.clusters.push(create(ClusterSchema, {
          name: cname,
          clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
          edsClusterConfig: { edsConfig: adsSource() },
          ...lb.fields,
          connectTimeout: seconds(10),
        }));
        out.endpoints.push(podEndpoints(model, cname, svc, port, subset.labels));
      }
    }
  }
  for (const svc of model.services) {
    for (const port of grpcPorts(svc)) {
      const name = grpcListenerName(svc, port);
      const r = routes(svc, port, name, outboundName(svc.hostname, port.port));
      conditions.push(...r.conditions);
      for (const vh of r.routeConfig.virtualHosts) withHashPolicies(vh.routes, hashes);
      out.routes.push(r.routeConfig);
      out.listeners.push(create(ListenerSchema, {
        name,
        apiListener: {
          apiListener: any(HttpConnectionManagerSchema, {
            statPrefix: name,
            routeSpecifier: { case: "rds", value: { routeConfigName: name, configSource: adsSource() } },
            // gRPC requires the router to be the last filter.
            httpFilters: [...r.filters, httpFilter("envoy.filters.http.router", RouterSchema, {})],
          }),
        },
      }));
    }
  }
  return { resources: sortResources(out), conditions: dedupe(conditions) };
}

function dedupe(cs: readonly Condition[]): Condition[] {
  return [...new Map(cs.map((c) => [`${describeKey(c.resource)}|${c.type}|${c.reason}|${c.message}`, c])).values()];
}

function podEndpoints(model: MeshModel, clusterName: string, svc: MeshService, port: ServicePort, subsetLabels?: Record<string, string>) {
  const lbEndpoints: MessageInitShape<typeof LbEndpointSchema>[] = [];
  for (const w of model.workloads) {
    if (!w.services.includes(svc.hostname)) continue;
    if (subsetLabels && !Object.entries(subsetLabels).every(([k, v]) => w.labels[k] === v)) continue;
    const p = targetPortOf(port, w, svc);
    if (p === undefined) continue;
    for (const ip of w.ips) {
      lbEndpoints.push({
        hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: ip, portSpecifier: { case: "portValue", value: p } } } } } },
        healthStatus: w.healthy ? HealthStatus.HEALTHY : HealthStatus.UNHEALTHY,
        loadBalancingWeight: 1,
      });
    }
  }
  // gRPC wants a locality for every group of endpoints (it weights localities).
  return create(ClusterLoadAssignmentSchema, { clusterName, endpoints: lbEndpoints.length > 0 ? [{ locality: {}, lbEndpoints, loadBalancingWeight: 1 }] : [] });
}
