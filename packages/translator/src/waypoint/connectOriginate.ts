/**
 * connect_originate: the waypoint's HBONE client (istio-ambient.md §6.7). Endpoints of mesh
 * workloads point at this internal listener; original_dst takes the endpoint's `local` metadata
 * (podIP:port) as the destination, and tcp_proxy opens `CONNECT podIP:port` over mTLS to
 * podIP:15008 (or to a waypoint named in the endpoint metadata) under the waypoint's identity.
 */
import { create } from "@bufbuild/protobuf";
import { ListenerSchema, type Listener } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { ClusterSchema, Cluster_DiscoveryType, Cluster_LbPolicy, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { OriginalDstSchema } from "@waystation/proto/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js";
import { TcpProxySchema } from "@waystation/proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { HttpProtocolOptionsSchema } from "@waystation/proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { UpstreamTlsContextSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { hbonePort } from "@waystation/model";
import { any, listenerFilter, networkFilter, seconds, transportSocket } from "../envoy/build.js";
import { waypointNames } from "../names.js";
import { hboneTlsContext } from "./tls.js";

/** Endpoint/host metadata namespace read by original_dst and by the connect_originate LB. */
export const originalDstMetadata = "envoy.filters.listener.original_dst";

export function connectOriginateListener(): Listener {
  return create(ListenerSchema, {
    name: waypointNames.connectOriginate,
    listenerSpecifier: { case: "internalListener", value: {} },
    useOriginalDst: false,
    listenerFilters: [listenerFilter("envoy.filters.listener.original_dst", OriginalDstSchema, {})],
    filterChains: [{
      name: waypointNames.connectOriginate,
      filters: [networkFilter("envoy.filters.network.tcp_proxy", TcpProxySchema, {
        statPrefix: waypointNames.connectOriginate,
        clusterSpecifier: { case: "cluster", value: waypointNames.connectOriginate },
        // The CONNECT authority is the original destination, ip:port (§1.2).
        tunnelingConfig: { hostname: "%DOWNSTREAM_LOCAL_ADDRESS%" },
      })],
    }],
  });
}

export function connectOriginateCluster(trustDomain: string, connectTimeoutSeconds = 10): Cluster {
  return create(ClusterSchema, {
    name: waypointNames.connectOriginate,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.ORIGINAL_DST },
    lbPolicy: Cluster_LbPolicy.CLUSTER_PROVIDED,
    connectTimeout: seconds(connectTimeoutSeconds),
    cleanupInterval: seconds(60),
    lbConfig: {
      case: "originalDstLbConfig",
      value: {
        upstreamPortOverride: hbonePort,
        // An endpoint that names a waypoint (ingress or sidecar -> waypoint) is dialled there instead.
        metadataKey: { key: originalDstMetadata, path: [{ segment: { case: "key", value: "waypoint" } }] },
      },
    },
    typedExtensionProtocolOptions: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": any(HttpProtocolOptionsSchema, {
        upstreamProtocolOptions: { case: "explicitHttpConfig", value: { protocolConfig: { case: "http2ProtocolOptions", value: { allowConnect: true } } } },
      }),
    },
    transportSocket: transportSocket("envoy.transport_sockets.tls", UpstreamTlsContextSchema, { commonTlsContext: hboneTlsContext(trustDomain) }),
  });
}
