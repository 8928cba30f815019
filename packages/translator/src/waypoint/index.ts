/**
 * Translation for a waypoint Envoy: connect_terminate -> main_internal -> per service port chain
 * -> inbound-vip cluster -> connect_originate (istio-ambient.md §6). Pure: model in, resources and
 * conditions out, sorted by name.
 */
import { create } from "@bufbuild/protobuf";
import { ClusterSchema, Cluster_DiscoveryType, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import type { Condition, MeshModel, MeshService, MeshWorkload, ServicePort, Waypoint } from "@waystation/model";
import { destinationRuleConditions } from "../cluster/index.js";
import { findDestinationRule } from "../destinationRule.js";
import { seconds } from "../envoy/build.js";
import { chainProtocol, inboundVipName, waypointNames } from "../names.js";
import { emptyResources, sortResources, type Translation } from "../resources.js";
import { routeConfigForPort, tcpRouteChain, tcpRouteTarget } from "../routing/index.js";
import { httpChain, tcpChain, type TcpProxyExtras } from "./chains.js";
import { securityFor } from "../authn/index.js";
import { rateLimitFor } from "../ratelimit/index.js";
import type { RateLimitServiceTarget } from "../ratelimit/globalRateLimit.js";
import type { ExtensionProvider } from "../authz/options.js";
import { extAuthzClusters } from "../authz/providerClusters.js";
import { tcpProxyPolicyFor, type TcpProxyPolicy } from "../cluster/index.js";
import { connectOriginateCluster, connectOriginateListener } from "./connectOriginate.js";
import { connectTerminateListener } from "./connectTerminate.js";
import { loadAssignment } from "./endpoints.js";
import { mainInternalListener, type DispatchEntry } from "./mainInternal.js";
import { serviceCluster, usesEds } from "./serviceCluster.js";

export interface WaypointTranslateOptions {
  /** Mesh connect timeout (Istio's default is 10 s). */
  connectTimeoutSeconds: number;
  /** The mesh config's extension providers, for CUSTOM AuthorizationPolicies. */
  extensionProviders: readonly ExtensionProvider[];
  /** Where waypoints reach the global rate limit service; ratelimit.waystation:8081 when unset. */
  rateLimitService?: RateLimitServiceTarget;
}

export const defaultWaypointOptions: WaypointTranslateOptions = { connectTimeoutSeconds: 10, extensionProviders: [] };

/** The services a waypoint fronts: those whose binding resolved to it. */
export function servicesOf(model: MeshModel, w: Waypoint): MeshService[] {
  return model.services.filter((s) => s.waypoint.state === "bound" && s.waypoint.waypoint.key.namespace === w.namespace && s.waypoint.waypoint.name === w.name);
}

export function translateWaypoint(model: MeshModel, w: Waypoint, options: Partial<WaypointTranslateOptions> = {}): Translation {
  // The mesh config (the istio ConfigMap) gives the defaults; explicit options win.
  const opts = {
    ...defaultWaypointOptions,
    extensionProviders: model.meshConfig.extensionProviders,
    connectTimeoutSeconds: model.meshConfig.connectTimeoutSeconds,
    ...options,
  };
  const td = model.options.trustDomain;
  const out = emptyResources();
  const conditions: Condition[] = [];
  const dispatch: DispatchEntry[] = [];
  // Clusters that policies need (JWKS servers); the same name always has the same content.
  const extraClusters = new Map<string, Cluster>();

  for (const svc of servicesOf(model, w)) {
    if (svc.vips.length === 0) {
      conditions.push({ resource: svc.key, type: "WaypointProgrammed", status: "False", reason: "NoAddress",
        message: `${svc.hostname} has no virtual IP, so ztunnel cannot send its traffic to waypoint ${w.namespace}/${w.name}` });
      continue;
    }
    const dr = findDestinationRule(model, svc, w.namespace);
    // Authorization and authentication (CUSTOM -> jwt_authn -> RBAC), the same for every chain of the service.
    const security = securityFor(model, w, svc, { extensionProviders: opts.extensionProviders, trustDomain: td, connectTimeoutSeconds: opts.connectTimeoutSeconds });
    conditions.push(...security.conditions);
    for (const c of security.clusters) extraClusters.set(c.name, c);
    const rateLimits = rateLimitFor(model, w, svc, opts.rateLimitService ? { service: opts.rateLimitService } : {});
    conditions.push(...rateLimits.conditions);
    for (const c of rateLimits.clusters) extraClusters.set(c.name, c);
    for (const port of svc.ports) {
      if (port.protocol === "UDP") continue;
      const name = inboundVipName(svc, port);
      const cluster = serviceCluster(name, svc, port, { connectTimeoutSeconds: opts.connectTimeoutSeconds, destinationRule: dr });
      out.clusters.push(cluster);
      if (usesEds(cluster)) out.endpoints.push(loadAssignment(name, svc, port, model.workloads));
      for (const subset of dr?.object.spec.subsets ?? []) {
        const subsetName = inboundVipName(svc, port, subset.name);
        const subsetCluster = serviceCluster(subsetName, svc, port, { connectTimeoutSeconds: opts.connectTimeoutSeconds, destinationRule: dr, subset: subset.name });
        out.clusters.push(subsetCluster);
        if (usesEds(subsetCluster)) out.endpoints.push(loadAssignment(subsetName, svc, port, model.workloads, subset.labels ?? {}));
      }
      if (chainProtocol(port) === "http") {
        // Routes from HTTPRoute/GRPCRoute, VirtualService or the default; fault/CORS filters when routes use them.
        const routing = routeConfigForPort(model, w, svc, port, name);
        conditions.push(...routing.conditions);
        // Rate limits run after authorization and before fault/CORS; their descriptors come from the vhost.
        for (const vh of routing.routeConfig.virtualHosts) vh.rateLimits.push(...rateLimits.routeRateLimits);
        // Filter order (istio-ambient.md §6.4): security, then fault and CORS when routes use them, then the router.
        dispatch.push({ vips: svc.vips, port: port.port, chain: httpChain(name, [...security.httpFilters, ...rateLimits.httpFilters, ...routing.filters]) });
        out.routes.push(routing.routeConfig);
      } else {
        const tcp = tcpRouteTarget(model, w, svc, port);
        conditions.push(...tcp.conditions);
        const extras = tcpProxyExtras(tcpProxyPolicyFor(model, w, svc, port));
        dispatch.push({ vips: svc.vips, port: port.port, chain: tcp.target ? tcpRouteChain(name, tcp.target, name, security.networkFilters, extras) : tcpChain(name, name, security.networkFilters, extras) });
      }
    }
  }

  // Clusters of the ext_authz servers that CUSTOM policies on this waypoint name.
  const ext = extAuthzClusters(model, w, { extensionProviders: opts.extensionProviders, connectTimeoutSeconds: opts.connectTimeoutSeconds });
  for (const c of ext.clusters) extraClusters.set(c.name, c);
  out.endpoints.push(...ext.endpoints);
  conditions.push(...ext.conditions);

  conditions.push(...destinationRuleConditions(model, w, servicesOf(model, w)));
  out.listeners.push(connectTerminateListener(td), mainInternalListener(dispatch), connectOriginateListener());
  out.clusters.push(mainInternalCluster(), connectOriginateCluster(td, opts.connectTimeoutSeconds), ...extraClusters.values());
  return { resources: sortResources(out), conditions: uniqueConditions(conditions) };
}

/** A policy attached to the waypoint reports once, not once per service it covers. */
function uniqueConditions(conditions: Condition[]): Condition[] {
  const seen = new Set<string>();
  return conditions.filter((c) => {
    const k = `${c.resource.group}/${c.resource.kind}/${c.resource.namespace}/${c.resource.name}\n${c.type}\n${c.status}\n${c.reason}\n${c.message}`;
    return seen.has(k) ? false : (seen.add(k), true);
  });
}

/** The DestinationRule's tcp_proxy settings, as tcp_proxy fields. */
function tcpProxyExtras(p: TcpProxyPolicy): TcpProxyExtras {
  return {
    ...(p.idleTimeout ? { idleTimeout: p.idleTimeout } : {}),
    ...(p.maxDownstreamConnectionDuration ? { maxDownstreamConnectionDuration: p.maxDownstreamConnectionDuration } : {}),
    ...(p.hashPolicy ? { hashPolicy: p.hashPolicy } : {}),
  };
}

/** connect_terminate's CONNECT route sends each tunnel's bytes here: the main_internal listener. */
function mainInternalCluster(): Cluster {
  return create(ClusterSchema, {
    name: waypointNames.mainInternal,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
    connectTimeout: seconds(10),
    loadAssignment: {
      clusterName: waypointNames.mainInternal,
      endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "envoyInternalAddress", value: { addressNameSpecifier: { case: "serverListenerName", value: waypointNames.mainInternal } } } } } } }] }],
    },
  });
}

/** Which waypoint a proxy is: the pod of that name if the model has it, else the longest waypoint name prefixing the pod name. */
export function waypointForPod(model: MeshModel, namespace: string, podName: string): Waypoint | undefined {
  const pod: MeshWorkload | undefined = model.workloads.find((x) => x.kind === "Pod" && x.namespace === namespace && x.name === podName);
  if (pod?.waypointOf) return model.waypoints.find((x) => x.namespace === namespace && x.name === pod.waypointOf!.name);
  return model.waypoints
    .filter((x) => x.namespace === namespace && (podName === x.name || podName.startsWith(`${x.name}-`)))
    .sort((a, b) => b.name.length - a.name.length)[0];
}

export type { ServicePort };
