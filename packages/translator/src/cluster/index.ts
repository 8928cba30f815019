/**
 * DestinationRule -> the policy of a waypoint's inbound-vip clusters (istio-ambient.md §5.6, §6.5;
 * Istio `buildWaypointInboundVIPCluster`): connection pool, outlier detection, load balancing, TLS
 * origination and PROXY protocol, merged per port and subset as Istio does (policy.ts). One feature
 * per file; this one puts them together, and answers the two questions other parts ask: which
 * route hash policy a backend needs (`hashPolicyFor`) and what to tell the user (conditions).
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { Any, Duration } from "@bufbuild/protobuf/wkt";
import { HashPolicySchema, type HashPolicy } from "@waystation/proto/envoy/type/v3/hash_policy_pb.js";
import type { ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import type { TransportSocket } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import type { RouteAction_HashPolicy } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { formatPath, type DestinationRuleSpec as DestinationRuleApiSpec, type FieldPath, type LoadedResource, type TrafficPolicy } from "@waystation/api";
import type { Condition, MeshModel, MeshService, ServicePort, Waypoint } from "@waystation/model";
import { findDestinationRule, type DestinationRuleSpec } from "../destinationRule.js";
import { millis } from "../envoy/build.js";
import { chainProtocol } from "../names.js";
import { connectionPoolPlan } from "./connectionPool.js";
import { httpProtocolOptions, upstreamHttp } from "./httpProtocolOptions.js";
import { hashPolicyOf, loadBalancerPlan } from "./loadBalancer.js";
import { outlierDetectionPlan } from "./outlierDetection.js";
import { durationMs, effectivePolicy } from "./policy.js";
import { withProxyProtocol } from "./proxyProtocol.js";
import { caSecretSuffix, defaultSystemCaPath, tlsOriginationPlan } from "./tls.js";

export { effectivePolicy, type EffectivePolicy } from "./policy.js";
export { defaultSystemCaPath } from "./tls.js";

type ClusterInit = MessageInitShape<typeof ClusterSchema>;

export interface ClusterPolicyOptions {
  /** Mesh connect timeout, used unless connectionPool.tcp.connectTimeout says otherwise. */
  connectTimeoutSeconds: number;
  /** CA bundle for TLS origination without caCertificates (default {@link defaultSystemCaPath}). */
  systemCaPath?: string;
}

/** What a DestinationRule (or its absence) sets on one inbound-vip cluster. */
export interface ClusterPolicy {
  fields: Pick<ClusterInit, "connectTimeout" | "circuitBreakers" | "upstreamConnectionOptions" | "outlierDetection" | "commonLbConfig" | "lbPolicy" | "lbConfig">;
  /** simple: PASSTHROUGH: the cluster must be ORIGINAL_DST without endpoints. */
  passthrough: boolean;
  /** TLS and/or PROXY protocol to put under internal_upstream; undefined means raw_buffer. */
  innerTransportSocket?: TransportSocket;
  httpProtocolOptions?: Any;
  /** Entries for filter_metadata.istio: which DestinationRule (and subset) shaped the cluster, as Istio records it. */
  istioMetadata: Record<string, string>;
}

/** The policy for the cluster of `svc` `port` (`subset`), from the DestinationRule that applies (if any). */
export function clusterPolicy(svc: MeshService, port: ServicePort, dr: LoadedResource<DestinationRuleSpec> | undefined, subset: string | undefined, opts: ClusterPolicyOptions): ClusterPolicy {
  const policy = effectivePolicy(dr?.object.spec as DestinationRuleApiSpec | undefined, port.port, subset);
  const pool = connectionPoolPlan(policy, opts.connectTimeoutSeconds * 1000);
  const outlier = outlierDetectionPlan(policy);
  const lb = loadBalancerPlan(policy?.loadBalancer, svc.resolution === "NONE");
  const upstream = upstreamHttp(port.protocol, pool.http);
  const tls = tlsOriginationPlan(policy?.tls, {
    h2: upstream === "h2", http: chainProtocol(port) === "http", systemCaPath: opts.systemCaPath ?? defaultSystemCaPath,
  });
  const inner = withProxyProtocol(tls?.socket ?? rawPlaceholder, policy);
  // HttpProtocolOptions mean nothing to a tcp_proxy upstream; a TCP port's idle timeout and
  // connection duration go on the chain's tcp_proxy instead (tcpProxyPolicyFor).
  const http = chainProtocol(port) === "http"
    ? httpProtocolOptions({ upstream, http: pool.http, autoSni: tls?.autoSni, autoSanValidation: tls?.autoSanValidation })
    : undefined;
  return {
    fields: {
      connectTimeout: millis(pool.connectTimeoutMs),
      circuitBreakers: pool.circuitBreakers,
      ...(pool.upstreamConnectionOptions ? { upstreamConnectionOptions: pool.upstreamConnectionOptions } : {}),
      ...(outlier ? { outlierDetection: outlier.outlierDetection, commonLbConfig: { healthyPanicThreshold: { value: outlier.healthyPanicThreshold } } } : {}),
      lbPolicy: lb.lbPolicy,
      ...(lb.lbConfig ? { lbConfig: lb.lbConfig } : {}),
    },
    passthrough: lb.passthrough,
    ...(inner !== rawPlaceholder ? { innerTransportSocket: inner } : {}),
    ...(http ? { httpProtocolOptions: http } : {}),
    istioMetadata: {
      ...(dr && policy ? { config: `/apis/networking.istio.io/v1/namespaces/${dr.key.namespace}/destination-rule/${dr.key.name}` } : {}),
      ...(subset ? { subset } : {}),
    },
  };
}

/** Stands for "no socket of our own" while composing; never emitted. */
const rawPlaceholder = {} as TransportSocket;

/**
 * The route hash_policy a backend needs when its cluster hashes (consistentHash in the
 * DestinationRule that the waypoint applies to `svc`, after the port and subset merge), else
 * undefined. Taken from the same merged policy as the cluster, so a route hashes exactly when its
 * cluster is RING_HASH or MAGLEV.
 */
export function hashPolicyFor(model: MeshModel, waypoint: Waypoint, svc: MeshService, port: ServicePort | number, subset?: string): RouteAction_HashPolicy | undefined {
  if (svc.resolution === "NONE") return undefined;
  const dr = findDestinationRule(model, svc, waypoint.namespace);
  if (!dr) return undefined;
  const policy = effectivePolicy(dr.object.spec as DestinationRuleApiSpec, typeof port === "number" ? port : port.port, subset);
  if (policy?.loadBalancer?.simple === "PASSTHROUGH") return undefined;
  return hashPolicyOf(policy?.loadBalancer?.consistentHash);
}

/** What a DestinationRule sets on the tcp_proxy of a TCP chain (Istio sets the same on its waypoint's tcp_proxy). */
export interface TcpProxyPolicy {
  /** connectionPool.tcp.idleTimeout: tcp_proxy closes an idle connection after it (Envoy's default is 1 h). */
  idleTimeout?: Duration;
  /** connectionPool.tcp.maxConnectionDuration: max_downstream_connection_duration. */
  maxDownstreamConnectionDuration?: Duration;
  /** consistentHash.useSourceIp: tcp_proxy hash_policy, so RING_HASH/MAGLEV keep a client on one endpoint. */
  hashPolicy?: HashPolicy[];
}

/**
 * The tcp_proxy settings for the TCP chain of `svc` `port` (with `subset` when the chain sends to
 * one subset): empty when no DestinationRule applies or it sets none of them.
 */
export function tcpProxyPolicyFor(model: MeshModel, waypoint: Waypoint, svc: MeshService, port: ServicePort | number, subset?: string): TcpProxyPolicy {
  const dr = findDestinationRule(model, svc, waypoint.namespace);
  if (!dr) return {};
  const policy = effectivePolicy(dr.object.spec as DestinationRuleApiSpec, typeof port === "number" ? port : port.port, subset);
  const tcp = policy?.connectionPool?.tcp;
  const out: TcpProxyPolicy = {};
  if (tcp?.idleTimeout !== undefined) out.idleTimeout = millis(durationMs(tcp.idleTimeout));
  if (tcp?.maxConnectionDuration !== undefined) out.maxDownstreamConnectionDuration = millis(durationMs(tcp.maxConnectionDuration));
  if (policy?.loadBalancer?.consistentHash?.useSourceIp && svc.resolution !== "NONE") {
    out.hashPolicy = [create(HashPolicySchema, { policySpecifier: { case: "sourceIp", value: {} } })];
  }
  return out;
}

/**
 * Conditions about the DestinationRules a waypoint applies to `services`: parts that a waypoint
 * ignores or cannot serve yet. One set per rule, however many services it covers.
 */
export function destinationRuleConditions(model: MeshModel, waypoint: Waypoint, services: readonly MeshService[]): Condition[] {
  const seen = new Set<string>();
  const out: Condition[] = [];
  const wp = `${waypoint.namespace}/${waypoint.name}`;
  for (const svc of services) {
    const dr = findDestinationRule(model, svc, waypoint.namespace);
    if (!dr) continue;
    const id = `${dr.key.namespace}/${dr.key.name}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const add = (reason: string, message: string) => out.push({ resource: dr.key, type: "WaypointProgrammed", status: "True", reason, message });
    for (const [tp, at] of policies(dr.object.spec as DestinationRuleApiSpec)) {
      const tls = tp.tls;
      if (tls?.mode === "ISTIO_MUTUAL") {
        add("IstioMutualIgnored", `${formatPath([...at, "tls", "mode"])}: ISTIO_MUTUAL is ignored at waypoint ${wp}: it reaches mesh workloads over HBONE (mutual TLS with its own identity) anyway`);
      }
      if ((tls?.mode === "SIMPLE" || tls?.mode === "MUTUAL") && tls.credentialName) {
        const names = tls.mode === "MUTUAL" ? `"${tls.credentialName}" and "${tls.credentialName}${caSecretSuffix}"` : `"${tls.credentialName}${caSecretSuffix}"`;
        add("CredentialNotServed", `${formatPath([...at, "tls", "credentialName"])}: the waypoint reads the certificates from SDS secrets ${names}, which Waystation does not serve yet, so the configuration will be refused; use file paths (caCertificates, clientCertificate, privateKey) mounted into the waypoint for now`);
      }
      const locality = tp.loadBalancer?.localityLbSetting;
      if (locality && locality.enabled !== false) {
        add("LocalityNotApplied", `${formatPath([...at, "loadBalancer", "localityLbSetting"])}: locality load balancing is not applied at waypoints yet (waypoint ${wp} has no locality in the mesh model); endpoints are balanced without regard to locality`);
      }
      if ("tunnel" in tp && tp.tunnel) {
        add("TunnelIgnored", `${formatPath([...at, "tunnel"])}: tunnel settings apply to sidecars' TCP traffic only; waypoint ${wp} ignores them`);
      }
    }
  }
  return out;
}

/** Every traffic policy in a rule, with its path: the top level, its ports, each subset and its ports. */
function policies(spec: DestinationRuleApiSpec): [Partial<TrafficPolicy>, FieldPath][] {
  const out: [Partial<TrafficPolicy>, FieldPath][] = [];
  const visit = (tp: TrafficPolicy | undefined, at: FieldPath) => {
    if (!tp) return;
    out.push([tp, at]);
    (tp.portLevelSettings ?? []).forEach((pl, i) => out.push([pl, [...at, "portLevelSettings", i]]));
  };
  visit(spec.trafficPolicy, ["spec", "trafficPolicy"]);
  (spec.subsets ?? []).forEach((s, i) => visit(s.trafficPolicy, ["spec", "subsets", i, "trafficPolicy"]));
  return out;
}
