/**
 * Envoy routes from the shared builder -> the route actions gRPC accepts. grpc-js-xds NACKs a
 * RouteConfiguration with any action other than `route` (gRFC A28: "unsupported action"), and it
 * reads timeouts from max_stream_duration only (gRFC A31), so:
 *
 * - a direct response (the 500 of an unresolved route, or a VirtualService directResponse) and a
 *   redirect become a route to the service's own cluster that the fault filter aborts for every
 *   call, with the HTTP status; gRPC turns it into a status code by its HTTP mapping
 *   (doc/http-grpc-status-mapping.md), so a 500 fails the call with UNKNOWN. Traffic stays safe:
 *   the call never falls through to a later route and never reaches a backend.
 * - the route timeout moves to max_stream_duration.max_stream_duration, which gRPC applies as a
 *   cap on the call's deadline; `timeout` itself is left out (gRPC ignores it).
 */
import { clone, create } from "@bufbuild/protobuf";
import { RedirectAction_RedirectResponseCode, RouteAction_MaxStreamDurationSchema, RouteActionSchema, RouteSchema, type Route } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { faultConfig, filterNames } from "../routing/envoyPolicies.js";

const redirectStatus: Record<RedirectAction_RedirectResponseCode, number> = {
  [RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY]: 301,
  [RedirectAction_RedirectResponseCode.FOUND]: 302,
  [RedirectAction_RedirectResponseCode.SEE_OTHER]: 303,
  [RedirectAction_RedirectResponseCode.TEMPORARY_REDIRECT]: 307,
  [RedirectAction_RedirectResponseCode.PERMANENT_REDIRECT]: 308,
};

/** The gRPC status name a client reports for an HTTP status (gRPC's HTTP to gRPC status mapping). */
export function grpcCodeOfHttp(status: number): string {
  switch (status) {
    case 400: return "INTERNAL";
    case 401: return "UNAUTHENTICATED";
    case 403: return "PERMISSION_DENIED";
    case 404: return "UNIMPLEMENTED";
    case 429: case 502: case 503: case 504: return "UNAVAILABLE";
    default: return "UNKNOWN";
  }
}

/** The routes with only actions gRPC accepts; `fallbackCluster` is the service's own cluster. */
export function grpcRouteActions(routes: readonly Route[], fallbackCluster: string): Route[] {
  return routes.map((original) => {
    const r = clone(RouteSchema, original);
    const a = r.action;
    if (a.case === "directResponse" || a.case === "redirect") {
      const status = a.case === "directResponse" ? a.value.status : redirectStatus[a.value.responseCode] ?? 302;
      r.action = { case: "route", value: create(RouteActionSchema, { clusterSpecifier: { case: "cluster", value: fallbackCluster } }) };
      r.typedPerFilterConfig[filterNames.fault] = faultConfig({ abort: { httpStatus: status, percent: 100 } });
    } else if (a.case === "route") {
      const t = a.value.timeout;
      a.value.timeout = undefined;
      if (t && (t.seconds > 0n || t.nanos > 0)) a.value.maxStreamDuration = create(RouteAction_MaxStreamDurationSchema, { maxStreamDuration: t });
    }
    return r;
  });
}
