/**
 * The one route builder: IR routes -> Envoy Route[] / VirtualHost / RouteConfiguration, for any
 * proxy role, given how that role names the cluster of a backend (a ClusterResolver). Each IR
 * match becomes one Envoy route, in IR order: the source has already put them in precedence order.
 * Nothing is appended: a request no route matches gets Envoy's 404, as Istio (a VirtualService
 * with no matching route) and Gateway API (no matching rule) both want.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { RouteConfigurationSchema, type RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { RouteSchema, VirtualHostSchema, type Route, type VirtualHost } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { Any } from "@bufbuild/protobuf/wkt";
import { envoyAction, resolveForward, type BuildNote } from "./envoyActions.js";
import { headerFields } from "./envoyHeaders.js";
import { matchAll, routeMatch } from "./envoyMatch.js";
import { corsConfig, faultConfig, filterNames, needsCorsFilter, needsFaultFilter } from "./envoyPolicies.js";
import type { ClusterResolver, RouteIR } from "./ir.js";

export type { BuildNote } from "./envoyActions.js";
export { needsCorsFilter, needsFaultFilter, routePolicyFilters, filterNames } from "./envoyPolicies.js";

/** Envoy routes and what had to be dropped or answered with 500 on the way. */
export interface BuiltRoutes {
  routes: Route[];
  notes: BuildNote[];
}

/** Translates IR routes, in order. */
export function buildRoutes(routes: readonly RouteIR[], resolve: ClusterResolver): BuiltRoutes {
  const notes: BuildNote[] = [];
  const out: Route[] = [];
  for (const r of routes) {
    const resolved = r.action.kind === "forward" ? resolveForward(r, r.action, resolve, notes) : undefined;
    const headers = headerFields(r.requestHeaders, r.responseHeaders);
    for (const name of headers.refused) {
      notes.push({ kind: "dropped", route: r, path: r.source.path, message: `header ${JSON.stringify(name)} cannot be modified (Envoy refuses pseudo-headers and Host in header mutations); the mutation is dropped` });
    }
    const perFilter: Record<string, Any> = {
      ...(r.fault && (r.fault.abort || r.fault.delay) ? { [filterNames.fault]: faultConfig(r.fault) } : {}),
      ...(r.cors ? { [filterNames.cors]: corsConfig(r.cors) } : {}),
    };
    for (const m of r.matches.length > 0 ? r.matches : [matchAll]) {
      const init: MessageInitShape<typeof RouteSchema> = {
        name: r.name,
        match: routeMatch(m),
        action: envoyAction(r.action, m, resolved),
        ...headers.fields,
        ...(Object.keys(perFilter).length > 0 ? { typedPerFilterConfig: perFilter } : {}),
      };
      out.push(create(RouteSchema, init));
    }
  }
  return { routes: out, notes };
}

/** A virtual host over the built routes. */
export function buildVirtualHost(name: string, domains: readonly string[], routes: readonly Route[]): VirtualHost {
  return create(VirtualHostSchema, { name, domains: [...domains], routes: [...routes] });
}

/** The result of building a whole route configuration. */
export interface BuiltRouteConfig {
  routeConfig: RouteConfiguration;
  notes: BuildNote[];
  /** The chain must carry envoy.filters.http.fault / envoy.filters.http.cors before the router. */
  needsFault: boolean;
  needsCors: boolean;
}

/**
 * A route configuration with one virtual host. Clusters are not validated by Envoy
 * (validate_clusters false, as Istio sets it): our own snapshot validation checks them.
 */
export function buildRouteConfiguration(opts: {
  name: string;
  virtualHost: string;
  domains: readonly string[];
  routes: readonly RouteIR[];
  resolve: ClusterResolver;
}): BuiltRouteConfig {
  const built = buildRoutes(opts.routes, opts.resolve);
  return {
    routeConfig: create(RouteConfigurationSchema, {
      name: opts.name,
      virtualHosts: [buildVirtualHost(opts.virtualHost, opts.domains, built.routes)],
      validateClusters: false,
    }),
    notes: built.notes,
    needsFault: needsFaultFilter(built.routes),
    needsCors: needsCorsFilter(built.routes),
  };
}
