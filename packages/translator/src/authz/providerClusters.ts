/**
 * The clusters a waypoint's ext_authz filters call: one per extension provider that a CUSTOM
 * AuthorizationPolicy on the waypoint uses, named `outbound|<port>||<host>` as resolveProvider
 * names it (and as Istio names it).
 *
 * A provider whose service is a Service or ServiceEntry of the mesh is reached the way the
 * waypoint reaches the services it fronts (serviceCluster + loadAssignment): endpoints of ambient
 * workloads go through connect_originate over HBONE, others are plain sockets; the service's
 * DestinationRule applies. Any other host is reached by DNS (LOGICAL_DNS; STATIC for an IP),
 * where istiod would reject the provider: the policy is reported, not dropped. A gRPC provider's
 * cluster speaks HTTP/2, whatever the service port declares.
 *
 * Providers that are unknown, invalid, or shared by several CUSTOM providers on one service get
 * no cluster here; rbac.ts already fails those policies closed and reports them.
 */
import { create } from "@bufbuild/protobuf";
import { parseIp, type AuthorizationPolicySpec, type LoadedResource } from "@waystation/api";
import type { Condition, MeshModel, MeshService, ServicePort, Waypoint } from "@waystation/model";
import { ClusterSchema, Cluster_DiscoveryType, Cluster_DnsLookupFamily, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import type { ClusterLoadAssignment } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { httpProtocolOptions, httpProtocolOptionsKey } from "../cluster/httpProtocolOptions.js";
import { findDestinationRule } from "../destinationRule.js";
import { seconds } from "../envoy/build.js";
import { loadAssignment } from "../waypoint/endpoints.js";
import { serviceCluster, usesEds } from "../waypoint/serviceCluster.js";
import { resolveProvider, type ResolvedProvider } from "./extAuthz.js";
import { authzConditionType, type ExtensionProvider } from "./options.js";
import { rbacNames } from "./rbac.js";

/** What ext_authz providers add to a waypoint's snapshot. */
export interface ProviderClusters {
  /** Sorted by name. */
  clusters: Cluster[];
  /** Load assignments of the EDS clusters among them, sorted by cluster name. */
  endpoints: ClusterLoadAssignment[];
  /** On the CUSTOM policies whose provider is not reached as written. */
  conditions: Condition[];
}

export interface ProviderClusterOptions {
  /** The mesh's extension providers; by default model.meshConfig.extensionProviders. */
  extensionProviders?: readonly ExtensionProvider[];
  /** By default the mesh config's connectTimeout (Istio's default 10 s). */
  connectTimeoutSeconds?: number;
}

/** The clusters (and endpoints) of every extension provider a CUSTOM policy on `waypoint` uses. */
export function extAuthzClusters(model: MeshModel, waypoint: Waypoint, options: ProviderClusterOptions = {}): ProviderClusters {
  const providers = options.extensionProviders ?? model.meshConfig.extensionProviders;
  const connectTimeoutSeconds = options.connectTimeoutSeconds ?? model.meshConfig.connectTimeoutSeconds;
  const out: ProviderClusters = { clusters: [], endpoints: [], conditions: [] };
  const byName = new Map<string, ResolvedProvider>();
  for (const [name, policies] of customPolicies(model, waypoint)) {
    const found = providers.find((p) => p.name === name);
    const resolved = found ? resolveProvider(found) : undefined;
    if (!found || !resolved || "error" in resolved) continue;
    const p = resolved.provider;
    // Two providers on one host:port share one cluster; the first by provider name decides its protocol.
    if (byName.has(p.cluster)) continue;
    byName.set(p.cluster, p);
    const target = meshTarget(model, p, (found.envoyExtAuthzHttp ?? found.envoyExtAuthzGrpc)!.service);
    for (const policy of policies) {
      if (target.problem) out.conditions.push(condition(policy, "ProviderServiceNotFound", `spec.provider.name: ${target.problem}; waypoint ${waypoint.namespace}/${waypoint.name} `
        + `reaches ${p.hostname}:${p.port} by DNS instead, and if that fails the requests this policy selects are ${p.failOpen ? "allowed (failOpen is true)" : "denied (failOpen is false)"}`));
      if (target.noEndpoints) out.conditions.push(condition(policy, "ProviderNoEndpoints", `spec.provider.name: extension provider "${p.name}": ${p.hostname} has no endpoints `
        + `for port ${p.port}, so checks fail and the requests this policy selects are ${p.failOpen ? "allowed (failOpen is true)" : "denied (failOpen is false)"}`));
    }
    if (target.service && target.port) {
      const port: ServicePort = p.kind === "grpc" ? { ...target.port, protocol: "GRPC" } : target.port;
      const cluster = serviceCluster(p.cluster, target.service, port, { connectTimeoutSeconds, destinationRule: findDestinationRule(model, target.service, waypoint.namespace) });
      out.clusters.push(cluster);
      if (usesEds(cluster)) out.endpoints.push(loadAssignment(p.cluster, target.service, port, model.workloads));
    } else {
      out.clusters.push(dnsCluster(p, connectTimeoutSeconds));
    }
  }
  out.clusters.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  out.endpoints.sort((a, b) => (a.clusterName < b.clusterName ? -1 : a.clusterName > b.clusterName ? 1 : 0));
  out.conditions.sort((a, b) => (`${a.resource.namespace}/${a.resource.name}\n${a.message}` < `${b.resource.namespace}/${b.resource.name}\n${b.message}` ? -1 : 1));
  return out;
}

/**
 * Enforced CUSTOM policies on the waypoint (attached to its Gateway, or to a service bound to it),
 * grouped by provider name, in name order. Dry-run CUSTOM policies are never applied (rbac.ts).
 */
function customPolicies(model: MeshModel, w: Waypoint): Map<string, LoadedResource[]> {
  const isOurs = (s: MeshService) => s.waypoint.state === "bound" && s.waypoint.waypoint.namespace === w.namespace && s.waypoint.waypoint.name === w.name;
  const out = new Map<string, LoadedResource[]>();
  for (const a of model.attachments) {
    const { key, object } = a.policy;
    if (key.group !== "security.istio.io" || key.kind !== "AuthorizationPolicy") continue;
    const spec = (object.spec ?? {}) as AuthorizationPolicySpec;
    if (spec.action !== "CUSTOM" || !spec.provider?.name || object.metadata.annotations?.[rbacNames.dryRunAnnotation] === "true") continue;
    if (!a.waypoints.some((x) => x.namespace === w.namespace && x.name === w.name) && !a.services.some(isOurs)) continue;
    const list = out.get(spec.provider.name) ?? [];
    if (!list.some((p) => p.key.namespace === key.namespace && p.key.name === key.name)) list.push(a.policy);
    out.set(spec.provider.name, list);
  }
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

interface Target {
  service?: MeshService;
  port?: ServicePort;
  /** Why the host is not reached as a mesh service. */
  problem?: string;
  noEndpoints?: boolean;
}

/** The mesh service `[<namespace>/]<host>` names, and its port, when the model has them. */
function meshTarget(model: MeshModel, p: ResolvedProvider, service: string): Target {
  const ns = service.includes("/") ? service.slice(0, service.indexOf("/")) : undefined;
  const candidates = model.services.filter((s) => s.hostname === p.hostname && (ns === undefined || s.namespace === ns));
  const svc = candidates[0];
  const what = `extension provider "${p.name}" names service ${JSON.stringify(service)}`;
  if (!svc) return { problem: `${what}, which is not the fully qualified host of a Service or ServiceEntry Waystation knows` };
  // Without an address to resolve, a ServiceEntry host is only reachable by its name.
  if (svc.resolution === "NONE") return {};
  const port = svc.ports.find((x) => x.port === p.port);
  if (!port) return { problem: `${what}, whose ${svc.kind} ${svc.namespace}/${svc.name} has no port ${p.port} (ports: ${svc.ports.map((x) => x.port).join(", ") || "none"})` };
  const endpoints = loadAssignment("", svc, port, model.workloads).endpoints.length;
  return { service: svc, port, noEndpoints: svc.resolution !== "DNS" && svc.resolution !== "DNS_ROUND_ROBIN" && endpoints === 0 };
}

/** host:port by DNS (an IP literal as is); HTTP/2 for a gRPC provider. */
function dnsCluster(p: ResolvedProvider, connectTimeoutSeconds: number): Cluster {
  const ip = parseIp(p.hostname) !== undefined;
  const h2 = p.kind === "grpc" ? httpProtocolOptions({ upstream: "h2" }) : undefined;
  return create(ClusterSchema, {
    name: p.cluster,
    connectTimeout: seconds(connectTimeoutSeconds),
    clusterDiscoveryType: { case: "type", value: ip ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.LOGICAL_DNS },
    ...(ip ? {} : { dnsLookupFamily: Cluster_DnsLookupFamily.V4_PREFERRED }),
    loadAssignment: {
      clusterName: p.cluster,
      endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: p.hostname, portSpecifier: { case: "portValue", value: p.port } } } } } } }] }],
    },
    ...(h2 ? { typedExtensionProtocolOptions: { [httpProtocolOptionsKey]: h2 } } : {}),
  });
}

function condition(policy: LoadedResource, reason: string, message: string): Condition {
  return { resource: policy.key, type: authzConditionType, status: "True", reason, message };
}
