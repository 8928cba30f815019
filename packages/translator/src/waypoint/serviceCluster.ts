/**
 * The waypoint's inbound-vip cluster for one service port (istio-ambient.md §6.5): EDS for mesh
 * services, DNS or static for ServiceEntry hosts, original destination for resolution NONE. The
 * transport socket is wrapped in internal_upstream so that endpoint metadata reaches
 * connect_originate's original_dst filter.
 */
import { create } from "@bufbuild/protobuf";
import { ClusterSchema, Cluster_DiscoveryType, Cluster_DnsLookupFamily, Cluster_LbPolicy, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { InternalUpstreamTransportSchema } from "@waystation/proto/envoy/extensions/transport_sockets/internal_upstream/v3/internal_upstream_pb.js";
import { RawBufferSchema } from "@waystation/proto/envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer_pb.js";
import { HttpProtocolOptionsSchema } from "@waystation/proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import type { TransportSocket } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import type { MeshService, ServicePort } from "@waystation/model";
import { adsSource, any, seconds, transportSocket } from "../envoy/build.js";
import { originalDstMetadata } from "./connectOriginate.js";
import { workloadEndpoint } from "./endpoints.js";

export interface ClusterOptions {
  connectTimeoutSeconds: number;
  /** The socket under internal_upstream; raw_buffer unless a DestinationRule originates TLS. */
  innerTransportSocket?: TransportSocket;
}

export function serviceCluster(name: string, svc: MeshService, port: ServicePort, opts: ClusterOptions): Cluster {
  const inner = opts.innerTransportSocket ?? transportSocket("envoy.transport_sockets.raw_buffer", RawBufferSchema, {});
  const base = {
    name,
    connectTimeout: seconds(opts.connectTimeoutSeconds),
    transportSocket: transportSocket("internal_upstream", InternalUpstreamTransportSchema, {
      passthroughMetadata: [{ kind: { kind: { case: "host" as const, value: {} } }, name: originalDstMetadata }],
      transportSocket: inner,
    }),
    // Which service this cluster serves, as Istio records it (read by stats and access logs).
    metadata: { filterMetadata: { istio: { services: [{ host: svc.hostname, name: svc.name, namespace: svc.namespace }] } } },
    ...(port.protocol === "HTTP2" || port.protocol === "GRPC" ? {
      typedExtensionProtocolOptions: {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": any(HttpProtocolOptionsSchema, {
          upstreamProtocolOptions: { case: "explicitHttpConfig", value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } } },
        }),
      },
    } : {}),
  };
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
    case "NONE":
      return create(ClusterSchema, {
        ...base,
        clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST },
        lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
      });
    default:
      return create(ClusterSchema, {
        ...base,
        clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
        edsClusterConfig: { edsConfig: adsSource() },
      });
  }
}
