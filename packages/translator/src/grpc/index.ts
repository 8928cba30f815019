/**
 * Translation for proxyless gRPC clients (a gRPC application with an xds: resolver). gRPC asks for
 * a Listener named after the dial target (xds:///reviews.bookinfo.svc.cluster.local:9080 ->
 * "reviews.bookinfo.svc.cluster.local:9080") whose api_listener is an HCM with the routes inline
 * or over RDS, then for the clusters those routes use and their endpoints. The routes are the same
 * as a waypoint's (VirtualService, HTTPRoute, DestinationRule), but clusters are outbound ones and
 * endpoints are the pods themselves: a proxyless client has no ztunnel in front of it.
 * All gRPC clients share one snapshot, so every service port is described.
 */
import { create } from "@bufbuild/protobuf";
import { ClusterSchema, Cluster_DiscoveryType, Cluster_LbPolicy } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import type { RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema, type HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { LbEndpointSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { HealthStatus } from "@waystation/proto/envoy/config/core/v3/health_check_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { isHttp, type Condition, type MeshModel, type MeshService, type ServicePort } from "@waystation/model";
import { findDestinationRule } from "../destinationRule.js";
import { adsSource, any, httpFilter, seconds } from "../envoy/build.js";
import { outboundName } from "../names.js";
import { emptyResources, sortResources, type Translation } from "../resources.js";
import { targetPortOf } from "../waypoint/endpoints.js";
import { defaultRouteConfig } from "../waypoint/defaultRoute.js";

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

const defaultBuilder: GrpcRouteBuilder = (_svc, port, name, cluster) => ({ routeConfig: defaultRouteConfig(name, port.port, cluster), filters: [], conditions: [] });

export function translateGrpc(model: MeshModel, routes: GrpcRouteBuilder = defaultBuilder): Translation {
  const out = emptyResources();
  const conditions: Condition[] = [];
  for (const svc of model.services) {
    if (svc.kind !== "Service") continue; // external hosts are not dialled by proxyless clients
    const dr = findDestinationRule(model, svc, svc.namespace);
    for (const port of svc.ports) {
      if (!isHttp(port.protocol) && port.protocol !== "UNKNOWN") continue;
      const name = grpcListenerName(svc, port);
      const cluster = outboundName(svc.hostname, port.port);
      const r = routes(svc, port, name, cluster);
      conditions.push(...r.conditions);
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
      const subsets: { name: string; labels?: Record<string, string> }[] = [{ name: "" }, ...(dr?.object.spec.subsets ?? [])];
      for (const subset of subsets) {
        const cname = outboundName(svc.hostname, port.port, subset.name);
        out.clusters.push(create(ClusterSchema, {
          name: cname,
          clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
          edsClusterConfig: { edsConfig: adsSource() },
          lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
          connectTimeout: seconds(10),
        }));
        out.endpoints.push(podEndpoints(model, cname, svc, port, subset.labels));
      }
    }
  }
  return { resources: sortResources(out), conditions };
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
