/**
 * DestinationRule `proxyProtocol`: the waypoint sends a PROXY protocol header (v1 unless V2 is
 * asked for) before the bytes of each upstream connection, so the destination learns the client
 * address. It wraps the socket under internal_upstream (raw or TLS), as Istio's waypoint does.
 */
import type { TransportSocket } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { ProxyProtocolConfig_Version } from "@waystation/proto/envoy/config/core/v3/proxy_protocol_pb.js";
import { ProxyProtocolUpstreamTransportSchema } from "@waystation/proto/envoy/extensions/transport_sockets/proxy_protocol/v3/upstream_proxy_protocol_pb.js";
import { transportSocket } from "../envoy/build.js";
import type { EffectivePolicy } from "./policy.js";

export function withProxyProtocol(inner: TransportSocket, policy: EffectivePolicy | undefined): TransportSocket {
  const pp = policy?.proxyProtocol;
  if (!pp) return inner;
  return transportSocket("envoy.transport_sockets.upstream_proxy_protocol", ProxyProtocolUpstreamTransportSchema, {
    config: { version: pp.version === "V2" ? ProxyProtocolConfig_Version.V2 : ProxyProtocolConfig_Version.V1 },
    transportSocket: inner,
  });
}
