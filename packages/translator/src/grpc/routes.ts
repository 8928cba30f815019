/**
 * Routes for proxyless gRPC clients, from the same route IR as the waypoint's: Gateway API
 * routes (HTTPRoute/GRPCRoute with the Service as parent), else VirtualServices, else the default
 * route, resolved to outbound|<port>|<subset>|<host> clusters, cut down to what gRPC honours
 * (honoured.ts) and given only route actions gRPC accepts (routeActions.ts).
 *
 * Which VirtualServices: a gRPC client is a "mesh" client, so those bound to the mesh whose hosts
 * match the service. All proxyless clients share one snapshot, which cannot depend on the client's
 * namespace; so the rules are read as a client in the service's own namespace sees them:
 * VirtualServices of the service's namespace, exported there. One in another namespace is
 * reported as not applied (NotAppliedToGrpc). Matches on source labels or namespaces are dropped
 * for the same reason. Conditions are reported for ports declared gRPC (name grpc*, appProtocol
 * grpc) only. The routing module selects for a waypoint; it is given a stand-in whose
 * namespace is the service's, and its messages are reworded for gRPC clients.
 */
import { describeKey, formatPath, type VirtualServiceSpec } from "@waystation/api";
import { hostMatches, type Condition, type MeshModel, type MeshService, type Waypoint } from "@waystation/model";
import { buildRouteConfiguration, needsFaultFilter, routePolicyFilters } from "../routing/envoyRoutes.js";
import { gatewayRoutesFor } from "../routing/gatewayRoutes.js";
import { httpPorts } from "../routing/gatewayRefs.js";
import type { RouteIR } from "../routing/ir.js";
import { fqdn, virtualServiceRoutes, virtualServicesFor } from "../routing/virtualService.js";
import { defaultRouteIR } from "../waypoint/defaultRoute.js";
import { grpcRoutesIR } from "./honoured.js";
import type { GrpcRouteBuilder } from "./index.js";
import { grpcResolver } from "./resolver.js";
import { grpcRouteActions } from "./routeActions.js";

/** Name of the stand-in waypoint; never a real Gateway name (parentheses are not DNS labels). */
const standIn = "(proxyless-grpc)";
const viewer = "proxyless gRPC clients";

/** The route builder translateGrpc uses by default: the shared routing module, as gRPC honours it. */
export function grpcRouteBuilder(model: MeshModel): GrpcRouteBuilder {
  return (svc, port, routeConfigName, defaultCluster) => {
    const view = clientView(svc);
    const resolve = grpcResolver(model, svc, port);
    const conditions: Condition[] = [];
    const primary = port.port === (httpPorts(svc)[0] ?? port).port;

    const gateway = gatewayRoutesFor(model, view, svc, port, resolve);
    conditions.push(...gateway.conditions);
    let routes: RouteIR[] | undefined;
    if (gateway.routes !== undefined) {
      routes = gateway.routes;
      if (primary) {
        const by = gateway.attached.map(describeKey).join(", ");
        for (const { key } of virtualServicesFor(model, view, svc)) {
          conditions.push({ resource: key, type: "Accepted", status: "False", reason: "OverriddenByGatewayAPI",
            message: `ignored by ${viewer} for ${svc.hostname}: ${by} route${gateway.attached.length > 1 ? "" : "s"} it, and Istio does not mix Gateway API routes with VirtualServices` });
        }
      }
    } else {
      const vs = virtualServiceRoutes(model, view, svc, port);
      if (vs) {
        routes = vs.routes;
        conditions.push(...vs.conditions);
      }
    }
    if (primary) conditions.push(...otherNamespaces(model, svc));
    if (!routes || routes.length === 0) routes = [defaultRouteIR(svc, port)];

    const honoured = grpcRoutesIR(routes);
    const built = buildRouteConfiguration({ name: routeConfigName, virtualHost: routeConfigName, domains: ["*"], routes: honoured.routes, resolve });
    const vhost = built.routeConfig.virtualHosts[0]!;
    vhost.routes = grpcRouteActions(vhost.routes, defaultCluster);

    const where = `${svc.hostname}:${port.port}`;
    for (const n of [...honoured.notes.map((x) => ({ ...x, kind: "dropped" as const })), ...built.notes]) {
      if (n.route.source.key.kind === "Service") continue;
      conditions.push({
        resource: n.route.source.key,
        ...(n.kind === "unresolved" ? { type: "ResolvedRefs", status: "False", reason: "BackendNotServed" } as const : { type: "PartiallyInvalid", status: "True", reason: "UnsupportedValue" } as const),
        message: `${n.path.length > 0 ? `${formatPath(n.path)}: ` : ""}${n.message} (route ${n.route.name}, ${where}, ${viewer})` });
    }
    return {
      routeConfig: built.routeConfig,
      // Fault injection is the one per-route filter gRPC implements; it goes before the router.
      filters: routePolicyFilters({ needsFault: needsFaultFilter(vhost.routes), needsCors: false }),
      // Every HTTP port gets routes (a gRPC client may dial any), but only ports declared gRPC
      // report conditions: on bookinfo's HTTP services they would be noise about clients nobody runs.
      conditions: port.protocol === "GRPC" ? dedupe(conditions.map((c) => ({ ...c, message: reword(c.message, svc) }))) : [],
    };
  };
}

/**
 * A waypoint-shaped stand-in for "a client in the service's namespace": the routing module reads
 * its namespace (which VirtualServices are visible) and its name (for messages) only.
 */
function clientView(svc: MeshService): Waypoint {
  return {
    key: { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: svc.namespace, name: standIn },
    namespace: svc.namespace, name: standIn, trafficType: "service", allowed: { from: "Same" },
    hostname: "", serviceAccount: "", identity: "", addresses: [],
    object: { apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: standIn, namespace: svc.namespace }, spec: {} },
  };
}

/** VirtualServices for this host that live in another namespace: not part of the shared gRPC view. */
function otherNamespaces(model: MeshModel, svc: MeshService): Condition[] {
  const out: Condition[] = [];
  for (const r of model.resources) {
    if (r.key.group !== "networking.istio.io" || r.key.kind !== "VirtualService" || r.key.namespace === svc.namespace) continue;
    const spec = r.object.spec as VirtualServiceSpec;
    if (spec.gateways?.length && !spec.gateways.includes("mesh")) continue;
    const hosts = (spec.hosts ?? []).map((h) => fqdn(h, r.key.namespace, model.options));
    if (!hosts.some((h) => hostMatches(h, svc.hostname) || hostMatches(svc.hostname, h))) continue;
    out.push({ resource: r.key, type: "Accepted", status: "False", reason: "NotAppliedToGrpc",
      message: `not applied by ${viewer} for ${svc.hostname}: they share one configuration, which takes VirtualServices from the service's namespace (${svc.namespace}) only` });
  }
  return out;
}

/** The routing module's messages speak of the waypoint; these are about gRPC clients. */
function reword(message: string, svc: MeshService): string {
  return message.replaceAll(`waypoint ${svc.namespace}/${standIn}`, viewer)
    .replace("cannot evaluate (it sees every client through ztunnel)", "cannot evaluate (they all share one configuration)");
}

function dedupe(cs: readonly Condition[]): Condition[] {
  return [...new Map(cs.map((c) => [`${describeKey(c.resource)}|${c.type}|${c.reason}|${c.message}`, c])).values()];
}
