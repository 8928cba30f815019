/**
 * Routing of one HTTP chain of a waypoint: the route source (Gateway API routes, else
 * VirtualServices, else the default route), the waypoint's cluster resolver, and the shared route
 * builder. Istio does not mix the two APIs: when HTTPRoutes or GRPCRoutes attach to a service,
 * its VirtualServices are ignored at the waypoint, and each of them says so in a condition.
 */
import type { RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { describeKey, formatPath } from "@waystation/api";
import type { Condition, MeshModel, MeshService, ServicePort, Waypoint } from "@waystation/model";
import { defaultRouteIR } from "../waypoint/defaultRoute.js";
import { buildRouteConfiguration, routePolicyFilters } from "./envoyRoutes.js";
import { gatewayRoutesFor } from "./gatewayRoutes.js";
import { httpPorts } from "./gatewayRefs.js";
import type { RouteIR } from "./ir.js";
import { waypointResolver } from "./resolver.js";
import { withHashPolicies } from "./hashPolicies.js";
import { virtualServiceRoutes, virtualServicesFor } from "./virtualService.js";

export type * from "./ir.js";
export { buildRouteConfiguration, buildRoutes, needsCorsFilter, needsFaultFilter, routePolicyFilters, filterNames } from "./envoyRoutes.js";
export { waypointResolver, servedServices } from "./resolver.js";
export { tcpRouteChain, tcpRouteTarget, type TcpRouteTarget } from "./tcpRoute.js";

/** The routes of one HTTP chain and what the chain needs for them. */
export interface PortRoutes {
  routeConfig: RouteConfiguration;
  conditions: Condition[];
  /** The chain must carry envoy.filters.http.fault / envoy.filters.http.cors before the router. */
  needsFault: boolean;
  needsCors: boolean;
  /** Those filters, ready for the chain (fault, then CORS). */
  filters: HttpFilter[];
}

/**
 * Routes for `svc`:`port` at waypoint `w`, as the RouteConfiguration `chainName` with the one
 * virtual host Istio gives waypoint chains (inbound|http|<port>, domains *).
 */
export function routeConfigForPort(model: MeshModel, w: Waypoint, svc: MeshService, port: ServicePort, chainName: string): PortRoutes {
  const resolve = waypointResolver(model, w, svc, port);
  const gateway = gatewayRoutesFor(model, w, svc, port, resolve);
  const conditions = [...gateway.conditions];
  let routes: RouteIR[] | undefined;
  if (gateway.routes !== undefined) {
    routes = gateway.routes;
    const ignored = port.port === httpPorts(svc)[0]?.port ? virtualServicesFor(model, w, svc) : [];
    if (ignored.length > 0) {
      const by = gateway.attached.map(describeKey).join(", ");
      for (const { key } of ignored) {
        conditions.push({ resource: key, type: "Accepted", status: "False", reason: "OverriddenByGatewayAPI",
          message: `ignored by waypoint ${w.namespace}/${w.name} for ${svc.hostname}: ${by} route${gateway.attached.length > 1 ? "" : "s"} it, and Istio does not mix Gateway API routes with VirtualServices` });
      }
    }
  } else {
    const vs = virtualServiceRoutes(model, w, svc, port);
    if (vs) {
      routes = vs.routes;
      conditions.push(...vs.conditions);
    }
  }
  // A source with no routes at all (for example every match dropped) leaves the default route,
  // as Istio falls back to the plain inbound route.
  if (!routes || routes.length === 0) routes = [defaultRouteIR(svc, port)];

  const built = buildRouteConfiguration({ name: chainName, virtualHost: `inbound|http|${port.port}`, domains: ["*"], routes, resolve });
  for (const n of built.notes) {
    if (n.route.source.key.kind === "Service" || n.route.source.key.kind === "ServiceEntry") continue;
    conditions.push({
      resource: n.route.source.key,
      ...(n.kind === "unresolved" ? { type: "ResolvedRefs", status: "False", reason: "BackendNotServed" } as const : { type: "PartiallyInvalid", status: "True", reason: "UnsupportedValue" } as const),
      message: `${n.path.length > 0 ? `${formatPath(n.path)}: ` : ""}${n.message} (route ${n.route.name}, ${svc.hostname}:${port.port})` });
  }
  return { routeConfig: withHashPolicies(built.routeConfig, model, w), conditions, needsFault: built.needsFault, needsCors: built.needsCors, filters: routePolicyFilters(built) };
}
