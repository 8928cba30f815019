/**
 * Per-route policies that need an HTTP filter in the chain: fault injection and CORS. Routes
 * carry their settings in `typed_per_filter_config`; the chain then needs the filter itself, with
 * an empty config (it does nothing on routes without per-route settings), before the router.
 */
import type { Any } from "@bufbuild/protobuf/wkt";
import type { Route } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { CorsPolicySchema, CorsSchema } from "@waystation/proto/envoy/extensions/filters/http/cors/v3/cors_pb.js";
import { HTTPFaultSchema } from "@waystation/proto/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { any, httpFilter, millis } from "../envoy/build.js";
import { fractionalPercent } from "./envoyHeaders.js";
import { stringMatcher } from "./envoyMatch.js";
import type { CorsIR, FaultIR } from "./ir.js";

/** The HTTP filter names; per-route configs are keyed by them. */
export const filterNames = { fault: "envoy.filters.http.fault", cors: "envoy.filters.http.cors" } as const;

/** HTTPFault for one route: a fixed delay and/or an abort, each for a percentage of requests. */
export function faultConfig(f: FaultIR): Any {
  return any(HTTPFaultSchema, {
    ...(f.delay ? { delay: { faultDelaySecifier: { case: "fixedDelay", value: millis(f.delay.fixedDelayMs) }, percentage: fractionalPercent(f.delay.percent) } } : {}),
    ...(f.abort ? {
      abort: {
        errorType: f.abort.grpcStatus !== undefined
          ? { case: "grpcStatus", value: f.abort.grpcStatus }
          : { case: "httpStatus", value: f.abort.httpStatus ?? 500 },
        percentage: fractionalPercent(f.abort.percent),
      },
    } : {}),
  });
}

/**
 * A 500 for every request. Used on a weighted cluster whose backend did not resolve, so that its
 * share of the traffic gets the 500 Gateway API asks for (see envoyActions.ts).
 */
export function abort500(): Any {
  return faultConfig({ abort: { httpStatus: 500, percent: 100 } });
}

/** CorsPolicy for one route (filter envoy.filters.http.cors reads it from typed_per_filter_config). */
export function corsConfig(c: CorsIR): Any {
  return any(CorsPolicySchema, {
    allowOriginStringMatch: c.allowOrigins.map(stringMatcher),
    ...(c.allowMethods.length > 0 ? { allowMethods: c.allowMethods.join(",") } : {}),
    ...(c.allowHeaders.length > 0 ? { allowHeaders: c.allowHeaders.join(",") } : {}),
    ...(c.exposeHeaders.length > 0 ? { exposeHeaders: c.exposeHeaders.join(",") } : {}),
    ...(c.maxAgeSeconds !== undefined ? { maxAge: String(c.maxAgeSeconds) } : {}),
    ...(c.allowCredentials !== undefined ? { allowCredentials: c.allowCredentials } : {}),
  });
}

function usesFilter(routes: readonly Route[], name: string): boolean {
  return routes.some((r) => name in r.typedPerFilterConfig
    || (r.action.case === "route" && r.action.value.clusterSpecifier.case === "weightedClusters"
      && r.action.value.clusterSpecifier.value.clusters.some((c) => name in c.typedPerFilterConfig)));
}

/** Whether any route (or weighted cluster) carries a fault config, so the chain needs the fault filter. */
export function needsFaultFilter(routes: readonly Route[]): boolean {
  return usesFilter(routes, filterNames.fault);
}

/** Whether any route carries a CORS policy, so the chain needs the CORS filter. */
export function needsCorsFilter(routes: readonly Route[]): boolean {
  return usesFilter(routes, filterNames.cors);
}

/**
 * The filters to put before the router. CORS comes first: a response the fault filter
 * generates (an abort) then still passes CORS on its way out, so a browser can read it.
 */
export function routePolicyFilters(needs: { needsFault: boolean; needsCors: boolean }): HttpFilter[] {
  // Istio's HCM order (istio-ambient.md §6.4): fault, then cors, then the router.
  return [
    ...(needs.needsFault ? [httpFilter(filterNames.fault, HTTPFaultSchema, {})] : []),
    ...(needs.needsCors ? [httpFilter(filterNames.cors, CorsSchema, {})] : []),
  ];
}
