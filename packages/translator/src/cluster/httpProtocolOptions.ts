/**
 * The cluster's `envoy.extensions.upstreams.http.v3.HttpProtocolOptions`: one message that several
 * features write to (port protocol, connection pool, h2 upgrade, TLS auto SNI), merged here.
 *
 * Upstream protocol, in Istio's order of precedence:
 * 1. h2UpgradePolicy UPGRADE: HTTP/2 (Istio `shouldH2Upgrade`: the user vouches the port is HTTP);
 * 2. useClientProtocol: whatever the client spoke (use_downstream_protocol_config);
 * 3. an HTTP2 or GRPC port: HTTP/2 (explicit);
 * 4. otherwise HTTP/1.1. The mesh-wide default h2UpgradePolicy is DO_NOT_UPGRADE, so DEFAULT and
 *    DO_NOT_UPGRADE change nothing (and never downgrade a declared HTTP2/GRPC port).
 * maxConcurrentStreams applies whenever the result speaks HTTP/2 (Istio only applies it to ports
 * declared HTTP/2, and loses it on an UPGRADE: a quirk not kept).
 *
 * Envoy requires one upstream protocol in this message, so HTTP/1.1 is written out explicitly when
 * only common options (idle timeout ...) are set; the message is left out when nothing is.
 */
import type { Any } from "@bufbuild/protobuf/wkt";
import type { PortProtocol } from "@waystation/model";
import { HttpProtocolOptionsSchema } from "@waystation/proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { any, millis } from "../envoy/build.js";
import type { HttpConnectionSettings } from "./connectionPool.js";

/** The key Envoy looks the options up by in typed_extension_protocol_options. */
export const httpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

export type UpstreamHttp = "h1" | "h2" | "downstream";

/** Which protocol the cluster speaks upstream. */
export function upstreamHttp(protocol: PortProtocol, http: HttpConnectionSettings | undefined): UpstreamHttp {
  if (http?.h2UpgradePolicy === "UPGRADE") return "h2";
  if (http?.useClientProtocol) return "downstream";
  return protocol === "HTTP2" || protocol === "GRPC" ? "h2" : "h1";
}

export interface HttpOptionsInput {
  upstream: UpstreamHttp;
  http?: HttpConnectionSettings;
  autoSni?: boolean;
  autoSanValidation?: boolean;
}

/** The packed HttpProtocolOptions, or undefined when the defaults (HTTP/1.1, nothing else) hold. */
export function httpProtocolOptions(input: HttpOptionsInput): Any | undefined {
  const h = input.http;
  const common = {
    ...(h?.idleTimeoutMs !== undefined ? { idleTimeout: millis(h.idleTimeoutMs) } : {}),
    ...(h?.maxRequestsPerConnection !== undefined ? { maxRequestsPerConnection: h.maxRequestsPerConnection } : {}),
    ...(h?.maxConnectionDurationMs !== undefined ? { maxConnectionDuration: millis(h.maxConnectionDurationMs) } : {}),
  };
  const upstreamOptions = {
    ...(input.autoSni ? { autoSni: true } : {}),
    ...(input.autoSanValidation ? { autoSanValidation: true } : {}),
  };
  const hasCommon = Object.keys(common).length > 0;
  const hasUpstream = Object.keys(upstreamOptions).length > 0;
  if (input.upstream === "h1" && !hasCommon && !hasUpstream) return undefined;
  const h2 = h?.maxConcurrentStreams !== undefined ? { maxConcurrentStreams: h.maxConcurrentStreams } : {};
  return any(HttpProtocolOptionsSchema, {
    ...(hasCommon ? { commonHttpProtocolOptions: common } : {}),
    ...(hasUpstream ? { upstreamHttpProtocolOptions: upstreamOptions } : {}),
    upstreamProtocolOptions: input.upstream === "downstream"
      ? { case: "useDownstreamProtocolConfig", value: { httpProtocolOptions: {}, http2ProtocolOptions: h2 } }
      : { case: "explicitHttpConfig", value: { protocolConfig: input.upstream === "h2"
        ? { case: "http2ProtocolOptions", value: h2 }
        : { case: "httpProtocolOptions", value: {} } } },
  });
}
