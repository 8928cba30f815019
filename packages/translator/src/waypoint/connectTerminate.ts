/**
 * connect_terminate: the waypoint's HBONE server on 0.0.0.0:15008 (istio-ambient.md §6.2).
 * mTLS (TLS 1.3, ALPN h2, client certificate required, peer SAN under our trust domain), an HCM
 * that accepts CONNECT and turns each stream into a raw byte stream to the main_internal listener.
 * The CONNECT authority, the client address and both SPIFFE identities travel as filter state
 * shared with upstream, so the inner chains see the real destination, client and peer identity.
 * Istio does this with its own filters; upstream Envoy's set_filter_state does the same job.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { AddressSchema, SocketAddress_Protocol } from "@waystation/proto/envoy/config/core/v3/address_pb.js";
import { ListenerSchema, type Listener } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { FilterStateValue_SharedWithUpstream, type FilterStateValueSchema } from "@waystation/proto/envoy/extensions/filters/common/set_filter_state/v3/value_pb.js";
import { ConfigSchema as SetFilterStateSchema } from "@waystation/proto/envoy/extensions/filters/http/set_filter_state/v3/set_filter_state_pb.js";
import { RouterSchema } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { DownstreamTlsContextSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { hbonePort } from "@waystation/model";
import { any, httpFilter, millis, seconds, transportSocket } from "../envoy/build.js";
import { hboneTlsContext } from "./tls.js";
import { waypointNames } from "../names.js";

/** Filter-state keys (istio-ambient.md §6.8). */
export const filterState = {
  localIp: "envoy.filters.listener.original_dst.local_ip",
  remoteIp: "envoy.filters.listener.original_dst.remote_ip",
  connectAuthority: "io.istio.connect_authority",
  peerPrincipal: "io.istio.peer_principal",
  localPrincipal: "io.istio.local_principal",
} as const;

export function connectTerminateListener(trustDomain: string): Listener {
  const share = (objectKey: string, format: string, factoryKey?: string): MessageInitShape<typeof FilterStateValueSchema> => ({
    key: { case: "objectKey", value: objectKey },
    ...(factoryKey ? { factoryKey } : {}),
    value: { case: "formatString", value: { format: { case: "textFormatSource", value: { specifier: { case: "inlineString", value: format } } } } },
    sharedWithUpstream: FilterStateValue_SharedWithUpstream.ONCE,
  });
  const routeConfig = create(RouteConfigurationSchema, {
    name: "default",
    virtualHosts: [{
      name: "default",
      domains: ["*"],
      routes: [{
        match: { pathSpecifier: { case: "connectMatcher", value: {} } },
        action: {
          case: "route",
          value: {
            clusterSpecifier: { case: "cluster", value: waypointNames.mainInternal },
            upgradeConfigs: [{ upgradeType: "CONNECT", connectConfig: {} }],
          },
        },
      }],
    }],
  });
  const hcm = any(HttpConnectionManagerSchema, {
    statPrefix: waypointNames.connectTerminate,
    routeSpecifier: { case: "routeConfig", value: routeConfig },
    httpFilters: [
      httpFilter("connect_authority", SetFilterStateSchema, {
        onRequestHeaders: [
          share(filterState.localIp, "%REQ(:AUTHORITY)%"),
          share(filterState.connectAuthority, "%REQ(:AUTHORITY)%", "envoy.string"),
          share(filterState.remoteIp, "%DOWNSTREAM_REMOTE_ADDRESS%"),
          share(filterState.peerPrincipal, "%DOWNSTREAM_PEER_URI_SAN%", "envoy.string"),
          share(filterState.localPrincipal, "%DOWNSTREAM_LOCAL_URI_SAN%", "envoy.string"),
        ],
      }),
      httpFilter("envoy.filters.http.router", RouterSchema, {}),
    ],
    upgradeConfigs: [{ upgradeType: "CONNECT" }],
    http2ProtocolOptions: {
      allowConnect: true,
      maxConcurrentStreams: 100,
      // HBONE keepalive, the same as ztunnel: PING every 10 s, 20 s timeout (§1.4).
      connectionKeepalive: { interval: seconds(10), timeout: seconds(20) },
    },
    // CONNECT streams are long-lived tunnels: no idle timeout on the stream.
    streamIdleTimeout: millis(0),
    useRemoteAddress: false,
  });
  return create(ListenerSchema, {
    name: waypointNames.connectTerminate,
    address: create(AddressSchema, {
      address: { case: "socketAddress", value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: hbonePort }, protocol: SocketAddress_Protocol.TCP } },
    }),
    listenerFilters: [],
    filterChains: [{
      name: waypointNames.connectTerminate,
      filters: [{ name: "envoy.filters.network.http_connection_manager", configType: { case: "typedConfig", value: hcm } }],
      transportSocket: transportSocket("envoy.transport_sockets.tls", DownstreamTlsContextSchema, {
        commonTlsContext: hboneTlsContext(trustDomain),
        requireClientCertificate: true,
      }),
    }],
    // HBONE connections are few and long-lived: spread them evenly over worker threads.
    connectionBalanceConfig: { balanceType: { case: "exactBalance", value: {} } },
  });
}
