/**
 * Which HTTPRoutes and GRPCRoutes apply to one service port of a waypoint, in precedence order,
 * and the route conditions Gateway API defines (Accepted, ResolvedRefs, PartiallyInvalid).
 *
 * - A route attaches through a parentRef naming the Service (group "" or core) or ServiceEntry
 *   (group networking.istio.io), optionally narrowed by `port` or `sectionName` (port name).
 * - Only producer routes apply: the route lives in the service's namespace. A consumer route
 *   (another namespace) would apply to that namespace's clients only, which a waypoint cannot
 *   tell apart; it is reported as not accepted.
 * - A GRPCRoute and an HTTPRoute on the same service port conflict: the HTTPRoute is not
 *   accepted there (GEP-1426, reason Conflicted).
 * - Hostnames of the route are ignored: the parent service already says which traffic it is.
 * Route-level conditions are reported once per route and service, when translating the first
 * service port the route applies to, so that several HTTP ports do not repeat them.
 */
import { formatPath, GATEWAY_GROUP, type LoadedResource, type ParentReference, type ResourceKey } from "@waystation/api";
import type { Condition, MeshModel, MeshService, ServicePort, Waypoint } from "@waystation/model";
import type { GatewayContext, RouteProblem } from "./gatewayFilters.js";
import { describeService, httpPorts, namesService, selectedPorts } from "./gatewayRefs.js";
import { grpcRouteIR } from "./grpcRoute.js";
import { httpRouteIR } from "./httpRoute.js";
import type { ClusterResolver, RouteIR } from "./ir.js";
import { byPrecedence, type RankedRoute } from "./precedence.js";

/** Gateway API routes of one service port. */
export interface GatewayRoutes {
  /** In Envoy order; undefined when no Gateway API route attaches to the service at all. */
  routes?: RouteIR[];
  /** The routes attached to the service (any port): they take it over from VirtualServices. */
  attached: ResourceKey[];
  conditions: Condition[];
}

interface Attachment {
  route: LoadedResource;
  refs: { index: number; ref: ParentReference; ports: ServicePort[] }[];
  /** HTTP ports of the service the route attaches to, in the service's order. */
  ports: ServicePort[];
}

const routeKinds = new Set(["HTTPRoute", "GRPCRoute"]);

export function gatewayRoutesFor(model: MeshModel, w: Waypoint, svc: MeshService, port: ServicePort, resolve: ClusterResolver): GatewayRoutes {
  const http = httpPorts(svc);
  const firstHttp = http[0];
  const conditions: Condition[] = [];
  const cond = (resource: ResourceKey, type: string, status: Condition["status"], reason: string, message: string) =>
    conditions.push({ resource, type, status, reason, message });
  const wp = `waypoint ${w.namespace}/${w.name}`;

  const attachments: Attachment[] = [];
  for (const r of gatewayRouteResources(model)) {
    const parentRefs = (r.object.spec as { parentRefs?: ParentReference[] }).parentRefs ?? [];
    const refs = parentRefs.map((ref, index) => ({ index, ref, ports: selectedPorts(ref, http) })).filter((x) => namesService(x.ref, r.key.namespace, svc));
    if (refs.length === 0) continue;
    if (r.key.namespace !== svc.namespace) {
      if (port.port === firstHttp?.port) {
        cond(r.key, "Accepted", "False", "UnsupportedValue",
          `spec.parentRefs[${refs[0]!.index}]: consumer route (namespace ${r.key.namespace}) for ${describeService(svc)}; ${wp} applies only producer routes, which live in the service's namespace`);
      }
      continue;
    }
    if (port.port === firstHttp?.port) {
      for (const x of refs.filter((e) => e.ports.length === 0)) {
        const narrowed = [x.ref.port !== undefined ? `port ${x.ref.port}` : "", x.ref.sectionName !== undefined ? `sectionName ${x.ref.sectionName}` : ""].filter(Boolean).join(", ");
        cond(r.key, "Accepted", "False", "NoMatchingParent",
          `spec.parentRefs[${x.index}]: ${describeService(svc)} has no HTTP port matching ${narrowed} (HTTP ports: ${http.map((p) => `${p.port}/${p.name || "unnamed"}`).join(", ")})`);
      }
    }
    const ports = http.filter((p) => refs.some((x) => x.ports.includes(p)));
    if (ports.length > 0) attachments.push({ route: r, refs, ports });
  }
  if (attachments.length === 0) return { attached: [], conditions };

  // GEP-1426: where a GRPCRoute attaches, HTTPRoutes on the same port are not accepted.
  const grpcOn = (p: ServicePort) => attachments.some((a) => a.route.key.kind === "GRPCRoute" && a.ports.includes(p));
  const appliedPorts = (a: Attachment) => (a.route.key.kind === "GRPCRoute" ? a.ports : a.ports.filter((p) => !grpcOn(p)));

  const ranked: RankedRoute[] = [];
  for (const a of attachments) {
    if (!a.ports.some((p) => p.port === port.port)) continue;
    const applied = appliedPorts(a);
    if (!applied.some((p) => p.port === port.port)) {
      cond(a.route.key, "Accepted", "False", "Conflicted", `${describeService(svc)} port ${port.port} has GRPCRoutes, which take precedence over HTTPRoutes on the same port (GEP-1426)`);
      continue;
    }
    const ctx: GatewayContext = { model, route: a.route, resolve, problems: [] };
    ranked.push(...(a.route.key.kind === "GRPCRoute" ? grpcRouteIR(ctx) : httpRouteIR(ctx)));
    if (port.port === applied[0]!.port) conditions.push(...routeConditions(a, applied, ctx.problems, svc, wp));
  }
  return { routes: byPrecedence(ranked).map((x) => x.ir), attached: attachments.map((a) => a.route.key), conditions };
}

function routeConditions(a: Attachment, applied: readonly ServicePort[], problems: readonly RouteProblem[], svc: MeshService, wp: string): Condition[] {
  const key = a.route.key;
  const out: Condition[] = [];
  for (const x of a.refs) {
    const ports = x.ports.filter((p) => applied.includes(p));
    if (ports.length === 0) continue;
    out.push({ resource: key, type: "Accepted", status: "True", reason: "Accepted",
      message: `spec.parentRefs[${x.index}]: attached to ${describeService(svc)} port${ports.length > 1 ? "s" : ""} ${ports.map((p) => p.port).join(", ")} on ${wp}` });
  }
  const refs = problems.filter((p) => p.type === "ResolvedRefs");
  out.push(refs.length === 0
    ? { resource: key, type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", message: "all references resolved" }
    : { resource: key, type: "ResolvedRefs", status: "False", reason: refs[0]!.reason, message: refs.map(describeProblem).join("; ") });
  const partial = problems.filter((p) => p.type === "PartiallyInvalid");
  if (partial.length > 0) {
    out.push({ resource: key, type: "PartiallyInvalid", status: "True", reason: partial[0]!.reason, message: partial.map(describeProblem).join("; ") });
  }
  return out;
}

function describeProblem(p: RouteProblem): string {
  return `${formatPath(p.path)}: ${p.message}`;
}

const routeCache = new WeakMap<MeshModel, LoadedResource[]>();

/** The HTTPRoutes, GRPCRoutes (and other route kinds) of the model, found once per model. */
function gatewayRouteResources(model: MeshModel): LoadedResource[] {
  let list = routeCache.get(model);
  if (!list) {
    list = model.resources.filter((r) => r.key.group === GATEWAY_GROUP && routeKinds.has(r.key.kind));
    routeCache.set(model, list);
  }
  return list;
}
