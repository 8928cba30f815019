/**
 * TCP chains: TCPRoute (Istio 1.26+ honours it at waypoints, GAMMA style), else a
 * VirtualService tls/tcp rule. A producer TCPRoute whose parentRef names a TCP port of the
 * service turns that port's tcp_proxy into weighted clusters.
 *
 * Limits, reported in conditions:
 * - one TCPRoute per port: the oldest (then namespace/name) wins, the others are Conflicted;
 * - only the first rule is used (TCP has nothing to choose a rule by);
 * - Gateway API wants the share of an invalid backend rejected. tcp_proxy cannot reject a share
 *   without a cluster that refuses connections, which the waypoint does not have, so that share
 *   goes to the valid backends. When no backend is valid, every connection is rejected (a
 *   network RBAC filter that allows nothing, before tcp_proxy).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { FilterChainSchema, type Filter, type FilterChain } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { RBACSchema } from "@waystation/proto/envoy/extensions/filters/network/rbac/v3/rbac_pb.js";
import { TcpProxySchema } from "@waystation/proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { RBAC_Action } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import { formatPath, GATEWAY_GROUP, type LoadedResource, type ParentReference, type TCPRouteSpec } from "@waystation/api";
import { isHttp, type Condition, type MeshModel, type MeshService, type ServicePort, type Waypoint } from "@waystation/model";
import { networkFilter } from "../envoy/build.js";
import type { TcpProxyExtras } from "../waypoint/chains.js";
import { backend, type GatewayContext } from "./gatewayFilters.js";
import { describeService, namesService, selectedPorts } from "./gatewayRefs.js";
import { compareRoutes } from "./precedence.js";
import { waypointResolver } from "./resolver.js";
import { virtualServiceTcpRoute } from "./virtualService.js";

type ClusterSpecifier = MessageInitShape<typeof TcpProxySchema>["clusterSpecifier"];

/** Where a TCP port's connections go under a TCPRoute. */
export interface TcpRouteTarget {
  clusterSpecifier: ClusterSpecifier;
  /** No backend is valid: every connection is refused. */
  reject: boolean;
}

/**
 * Where one TCP port of `svc` sends connections: a TCPRoute if one attaches, else the
 * VirtualService tls/tcp rule Istio would pick (virtualService.ts), else nothing (the caller
 * keeps the port's own cluster). As for HTTP, Gateway API routes take the port over and the
 * VirtualServices are then reported as ignored.
 */
export function tcpRouteTarget(model: MeshModel, w: Waypoint, svc: MeshService, port: ServicePort): { target?: TcpRouteTarget; conditions: Condition[] } {
  if (isHttp(port.protocol) || port.protocol === "UDP") return { conditions: [] };
  const gateway = gatewayTcpTarget(model, w, svc, port);
  const vs = virtualServiceTcpRoute(model, w, svc, port);
  if (gateway.target) {
    if (vs) {
      gateway.conditions.push({ resource: vs.route.source.key, type: "Accepted", status: "False", reason: "OverriddenByGatewayAPI",
        message: `${formatPath(vs.route.source.path)}: ignored by waypoint ${w.namespace}/${w.name} for ${svc.hostname}:${port.port}: a TCPRoute routes it, and Istio does not mix Gateway API routes with VirtualServices` });
    }
    return gateway;
  }
  if (!vs) return gateway;
  const resolve = waypointResolver(model, w, svc, port);
  const conditions = [...gateway.conditions, ...vs.conditions];
  const clusters: { name: string; weight: number }[] = [];
  for (const b of vs.route.backends) {
    if (b.error !== undefined) continue;
    const r = resolve(b);
    if ("error" in r) {
      conditions.push({ resource: vs.route.source.key, type: "ResolvedRefs", status: "False", reason: "BackendNotServed", message: `${formatPath(b.path)}: ${r.error} (${svc.hostname}:${port.port})` });
    } else if (b.weight > 0) clusters.push({ name: r.cluster, weight: b.weight });
  }
  return { target: weighted(clusters), conditions };
}

/** tcp_proxy's cluster specifier for these clusters; none left: reject. */
function weighted(clusters: { name: string; weight: number }[]): TcpRouteTarget {
  if (clusters.length === 0) return { clusterSpecifier: { case: "cluster", value: "" }, reject: true };
  return {
    clusterSpecifier: clusters.length === 1 ? { case: "cluster", value: clusters[0]!.name } : { case: "weightedClusters", value: { clusters } },
    reject: false,
  };
}

/** The TCPRoute target of one TCP port of `svc`, if a TCPRoute attaches, and its conditions. */
function gatewayTcpTarget(model: MeshModel, w: Waypoint, svc: MeshService, port: ServicePort): { target?: TcpRouteTarget; conditions: Condition[] } {
  const conditions: Condition[] = [];
  const candidates = model.resources
    .filter((r) => r.key.group === GATEWAY_GROUP && r.key.kind === "TCPRoute" && r.key.namespace === svc.namespace)
    .filter((r) => ((r.object.spec as TCPRouteSpec).parentRefs ?? [])
      .some((ref: ParentReference) => namesService(ref, r.key.namespace, svc) && selectedPorts(ref, [port]).length > 0))
    .sort(compareRoutes) as LoadedResource<TCPRouteSpec>[];
  const [route, ...others] = candidates;
  if (!route) return { conditions };
  const where = `${describeService(svc)} port ${port.port}`;
  for (const o of others) {
    conditions.push({ resource: o.key, type: "Accepted", status: "False", reason: "Conflicted", message: `TCPRoute ${route.key.namespace}/${route.key.name} already routes ${where}; one TCPRoute per port` });
  }
  const ctx: GatewayContext = { model, route, resolve: waypointResolver(model, w, svc, port), problems: [] };
  const rule = route.object.spec.rules[0]!;
  const backends = rule.backendRefs.map((b, i) => backend(ctx, b, b.weight ?? 1, ["spec", "rules", 0, "backendRefs", i]));
  const clusters: { name: string; weight: number }[] = [];
  for (const b of backends) {
    if (b.error !== undefined || b.weight === 0) continue;
    const r = ctx.resolve(b);
    if ("cluster" in r) clusters.push({ name: r.cluster, weight: b.weight });
  }
  conditions.push({ resource: route.key, type: "Accepted", status: "True", reason: "Accepted", message: `attached to ${where} on waypoint ${w.namespace}/${w.name}` });
  const refs = ctx.problems.filter((p) => p.type === "ResolvedRefs");
  conditions.push(refs.length === 0
    ? { resource: route.key, type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", message: "all references resolved" }
    : { resource: route.key, type: "ResolvedRefs", status: "False", reason: refs[0]!.reason,
      message: `${refs.map((p) => `${formatPath(p.path)}: ${p.message}`).join("; ")}; ${clusters.length > 0 ? "their share goes to the valid backends" : "every connection is refused"}` });
  if (route.object.spec.rules.length > 1) {
    conditions.push({ resource: route.key, type: "PartiallyInvalid", status: "True", reason: "UnsupportedValue", message: `spec.rules[1..]: only the first rule of a TCPRoute is used` });
  }
  return { target: weighted(clusters), conditions };
}

/**
 * A TCP chain for a TCPRoute target: the given network filters (RBAC ...), then tcp_proxy.
 * `fallbackCluster` is the port's own cluster, used only to keep tcp_proxy valid behind the
 * deny-all filter of a rejecting route.
 */
export function tcpRouteChain(name: string, target: TcpRouteTarget, fallbackCluster: string, policyFilters: readonly Filter[] = [], extras: TcpProxyExtras = {}): FilterChain {
  const reject: Filter[] = target.reject ? [networkFilter("envoy.filters.network.rbac", RBACSchema, { statPrefix: `${name}.tcproute_reject`, rules: { action: RBAC_Action.ALLOW } })] : [];
  return create(FilterChainSchema, {
    name,
    filters: [...policyFilters, ...reject, networkFilter("envoy.filters.network.tcp_proxy", TcpProxySchema, {
      ...extras,
      statPrefix: name,
      clusterSpecifier: target.reject ? { case: "cluster", value: fallbackCluster } : target.clusterSpecifier,
    })],
  });
}
