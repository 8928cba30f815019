/**
 * GRPCRoute -> route IR for a waypoint. A gRPC call is an HTTP/2 POST to /<service>/<method>, so
 * method matches become path matches: both names exact -> the exact path; only the service ->
 * the prefix "/<service>/"; only the method, or RegularExpression -> an RE2 regex on the path.
 *
 * HTTP/2: the waypoint's HCM accepts h2c with prior knowledge (codec AUTO), and the inbound-vip
 * cluster speaks HTTP/2 upstream when the service port's protocol is GRPC or HTTP2
 * (serviceCluster.ts). A GRPCRoute on a port named plain "http" would reach the backend over
 * HTTP/1.1, which gRPC does not speak; that is reported on the route (UnsupportedProtocol).
 */
import type { FieldPath, GRPCMethodMatch, GRPCRouteRule, GRPCRouteSpec, LoadedResource } from "@waystation/api";
import { backend, headerMutation, ruleFilters, type GatewayContext } from "./gatewayFilters.js";
import { valueMatch } from "./httpRoute.js";
import { re2Quote } from "./envoyActions.js";
import type { ActionIR, BackendIR, MatchIR, RouteIR } from "./ir.js";
import { grpcMatchRank, rankedRouteIR, type RankedRoute } from "./precedence.js";

type GRPCRouteMatch = NonNullable<GRPCRouteRule["matches"]>[number];

export function grpcRouteIR(ctx: GatewayContext): RankedRoute[] {
  return rankedRouteIR(ctx.route as LoadedResource<GRPCRouteSpec>, (rule, at) => ruleBase(ctx, rule, at), grpcMatch, grpcMatchRank);
}

/** The :path condition of a gRPC method match, or undefined for "every call". */
export function methodPath(m: GRPCMethodMatch | undefined): MatchIR["path"] {
  if (!m || (!m.service && !m.method)) return undefined;
  if ((m.type ?? "Exact") === "Exact") {
    if (m.service && m.method) return { kind: "exact", value: `/${m.service}/${m.method}` };
    if (m.service) return { kind: "prefix", value: `/${m.service}/` };
    return { kind: "regex", value: `/[^/]+/${re2Quote(m.method!)}` };
  }
  const part = (v: string | undefined) => (v ? `(?:${v})` : "[^/]+");
  return { kind: "regex", value: `/${part(m.service)}/${part(m.method)}` };
}

function grpcMatch(m: GRPCRouteMatch): MatchIR {
  const path = methodPath(m.method);
  return {
    ...(path ? { path } : {}),
    headers: (m.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), value: valueMatch(h.type, h.value) })),
    queryParams: [],
  };
}

function ruleBase(ctx: GatewayContext, rule: GRPCRouteRule, at: FieldPath): Omit<RouteIR, "name" | "source" | "matches"> {
  const f = ruleFilters(ctx, rule.filters, [...at, "filters"]);
  if (rule.sessionPersistence) {
    ctx.problems.push({ type: "PartiallyInvalid", reason: "UnsupportedValue", path: [...at, "sessionPersistence"], message: "session persistence is not supported by Waystation waypoints and is ignored" });
  }
  let action: ActionIR;
  if (f.unresolved !== undefined) action = { kind: "unresolved", status: 500, reason: f.unresolved };
  else {
    const backends = (rule.backendRefs ?? []).map((b, i) => grpcBackend(ctx, b, [...at, "backendRefs", i]));
    action = backends.length === 0 ? { kind: "unresolved", status: 500, reason: "no backendRefs" } : { kind: "forward", backends, mirrors: f.mirrors };
  }
  return {
    action,
    ...(f.requestHeaders ? { requestHeaders: f.requestHeaders } : {}),
    ...(f.responseHeaders ? { responseHeaders: f.responseHeaders } : {}),
  };
}

function grpcBackend(ctx: GatewayContext, b: NonNullable<GRPCRouteRule["backendRefs"]>[number], path: FieldPath): BackendIR {
  const ir = backend(ctx, b, b.weight ?? 1, path);
  for (const [i, f] of (b.filters ?? []).entries()) {
    if (f.type === "RequestHeaderModifier") ir.requestHeaders = headerMutation(f.requestHeaderModifier);
    else if (f.type === "ResponseHeaderModifier") ir.responseHeaders = headerMutation(f.responseHeaderModifier);
    else {
      ctx.problems.push({ type: "PartiallyInvalid", reason: "UnsupportedValue", path: [...path, "filters", i], message: `a ${f.type} filter on a backendRef is not supported; this backend's share of the traffic answers 500` });
      ir.error ??= `${f.type} filter on a backend not supported`;
    }
  }
  if (ir.error === undefined) {
    const port = ctx.model.services.find((s) => s.hostname === ir.host)?.ports.find((p) => p.port === ir.port);
    if (port && port.protocol !== "GRPC" && port.protocol !== "HTTP2") {
      ctx.problems.push({ type: "ResolvedRefs", reason: "UnsupportedProtocol", path, message: `port ${port.port} (${port.name || "unnamed"}) of ${ir.host} is ${port.protocol}, so the waypoint would call it over HTTP/1.1; name the port grpc-* or set appProtocol: grpc` });
    }
  }
  return ir;
}
