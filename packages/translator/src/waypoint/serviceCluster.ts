/**
 * The waypoint's inbound-vip cluster for one service port, optionally one DestinationRule subset
 * (istio-ambient.md §6.5): EDS for mesh services, DNS or static for ServiceEntry hosts, original
 * destination for resolution NONE (or a PASSTHROUGH load balancer). The transport socket is wrapped
 * in internal_upstream so that endpoint metadata reaches connect_originate's original_dst filter;
 * TLS origination and PROXY protocol from a DestinationRule go inside that wrapper. Everything else
 * a DestinationRule sets (pool, outlier detection, load balancing) comes from ../cluster.
 */
import { create } from "@bufbuild/protobuf";
import { ClusterSchema, Cluster_DiscoveryType, Cluster_DnsLookupFamily, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { InternalUpstreamTransportSchema } from "@waystation/proto/envoy/extensions/transport_sockets/internal_upstream/v3/internal_upstream_pb.js";
import { RawBufferSchema } from "@waystation/proto/envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer_pb.js";
import type { TransportSocket } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import type { LoadedResource } from "@waystation/api";
import type { MeshService, ServicePort } from "@waystation/model";
import { clusterPolicy } from "../cluster/index.js";
import { httpProtocolOptionsKey } from "../cluster/httpProtocolOptions.js";
import type { DestinationRuleSpec } from "../destinationRule.js";
import { adsSource, seconds, transportSocket } from "../envoy/build.js";
import { originalDstMetadata } from "./connectOriginate.js";
import { workloadEndpoint } from "./endpoints.js";

export interface ClusterOptions {
  connectTimeoutSeconds: number;
  /** The socket under internal_upstream; by default raw_buffer, or what the DestinationRule asks for. */
  innerTransportSocket?: TransportSocket;
  /** The DestinationRule the waypoint applies to the service (findDestinationRule). */
  destinationRule?: LoadedResource<DestinationRuleSpec>;
  /** The subset this cluster is for: its labels pick endpoints, its policy overrides the rule's. */
  subset?: string;
  /** CA bundle for TLS origination without caCertificates. */
  systemCaPath?: string;
}

export function serviceCluster(name: string, svc: MeshService, port: ServicePort, opts: ClusterOptions): Cluster {
  const policy = clusterPolicy(svc, port, opts.destinationRule, opts.subset, {
    connectTimeoutSeconds: opts.connectTimeoutSeconds,
    ...(opts.systemCaPath ? { systemCaPath: opts.systemCaPath } : {}),
  });
  const inner = opts.innerTransportSocket ?? policy.innerTransportSocket ?? transportSocket("envoy.transport_sockets.raw_buffer", RawBufferSchema, {});
  const base = {
    name,
    connectTimeout: seconds(opts.connectTimeoutSeconds),
    ...policy.fields,
    transportSocket: transportSocket("internal_upstream", InternalUpstreamTransportSchema, {
      passthroughMetadata: [{ kind: { kind: { case: "host" as const, value: {} } }, name: originalDstMetadata }],
      transportSocket: inner,
    }),
    // Which service this cluster serves, as Istio records it (read by stats and access logs), and
    // which DestinationRule shaped it (read by tooling).
    metadata: { filterMetadata: { istio: { services: [{ host: svc.hostname, name: svc.name, namespace: svc.namespace }], ...policy.istioMetadata } } },
    ...(policy.httpProtocolOptions ? { typedExtensionProtocolOptions: { [httpProtocolOptionsKey]: policy.httpProtocolOptions } } : {}),
  };
  if (policy.passthrough || svc.resolution === "NONE") {
    // The client's original destination (the service VIP and port, restored by original_dst).
    return create(ClusterSchema, { ...base, clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST } });
  }
  switch (svc.resolution) {
    case "DNS":
    case "DNS_ROUND_ROBIN": {
      const target = typeof port.targetPort === "number" ? port.targetPort : port.port;
      const hosts = svc.inlineEndpoints.length > 0 ? svc.inlineEndpoints.map((e) => e.address) : [svc.hostname];
      return create(ClusterSchema, {
        ...base,
        clusterDiscoveryType: { case: "type", value: svc.resolution === "DNS" ? Cluster_DiscoveryType.STRICT_DNS : Cluster_DiscoveryType.LOGICAL_DNS },
        dnsLookupFamily: Cluster_DnsLookupFamily.V4_PREFERRED,
        loadAssignment: { clusterName: name, endpoints: [{ lbEndpoints: hosts.map((h) => workloadEndpoint(h, target, { tunnel: "NONE", healthy: true })) }] },
      });
    }
    default:
      return create(ClusterSchema, {
        ...base,
        clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
        edsClusterConfig: { edsConfig: adsSource() },
      });
  }
}

/** Whether a cluster reads its endpoints over EDS (so the translator must publish a load assignment). */
export function usesEds(c: Cluster): boolean {
  return c.clusterDiscoveryType.case === "type" && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS;
}
