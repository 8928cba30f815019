/** The route configuration of an HTTP chain with no VirtualService or HTTPRoute: everything to the service. */
import { create } from "@bufbuild/protobuf";
import { RouteConfigurationSchema, type RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { millis } from "../envoy/build.js";

export function defaultRouteConfig(name: string, port: number, cluster: string): RouteConfiguration {
  return create(RouteConfigurationSchema, {
    name,
    validateClusters: false,
    virtualHosts: [{
      name: `inbound|http|${port}`,
      domains: ["*"],
      routes: [{
        name: "default",
        match: { pathSpecifier: { case: "prefix", value: "/" } },
        // Istio turns off Envoy's default 15 s route timeout; a VirtualService sets its own.
        action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: cluster }, timeout: millis(0) } },
      }],
    }],
  });
}
