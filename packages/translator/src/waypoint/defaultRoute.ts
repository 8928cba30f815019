/**
 * The route of an HTTP chain with no VirtualService or HTTPRoute: everything to the service, with
 * Envoy's default 15 s route timeout turned off (as Istio does). Built through the shared route
 * builder, so it looks exactly like a routed chain with one catch-all route.
 */
import type { RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import type { MeshService, ServicePort } from "@waystation/model";
import { buildRouteConfiguration } from "../routing/envoyRoutes.js";
import type { RouteIR } from "../routing/ir.js";

/** One catch-all route named "default" to the service's own port. */
export function defaultRouteIR(svc: MeshService, port: ServicePort): RouteIR {
  return {
    name: "default",
    source: { key: svc.key, path: [] },
    matches: [],
    action: { kind: "forward", backends: [{ host: svc.hostname, port: port.port, weight: 1, path: [] }], mirrors: [] },
  };
}

/** A route configuration `name` with one catch-all route to `cluster`. */
export function defaultRouteConfig(name: string, port: number, cluster: string): RouteConfiguration {
  const route: RouteIR = {
    name: "default",
    source: { key: { group: "", kind: "", namespace: "", name: "" }, path: [] },
    matches: [],
    action: { kind: "forward", backends: [{ host: cluster, weight: 1, path: [] }], mirrors: [] },
  };
  return buildRouteConfiguration({ name, virtualHost: `inbound|http|${port}`, domains: ["*"], routes: [route], resolve: () => ({ cluster }) }).routeConfig;
}
