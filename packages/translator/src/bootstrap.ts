/**
 * The Envoy bootstrap for a proxy Waystation configures (waystation bootstrap): who it is (node
 * id, in Istio's form), where ADS is (one static cluster, HTTP/2, Delta by default as Istio 1.22+
 * does), what internal listeners need (the envoy.bootstrap.internal_listener extension, Istio's
 * buffer size), the admin interface on 127.0.0.1:15000, Prometheus stats on :15090 and readiness
 * on :15021 — both as stock Envoy listeners in front of the admin endpoints, since stock Envoy has
 * no pilot-agent beside it. Pure.
 */
import { create } from "@bufbuild/protobuf";
import { BootstrapSchema, type Bootstrap } from "@waystation/proto/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { ApiConfigSource_ApiType, ApiVersion } from "@waystation/proto/envoy/config/core/v3/config_source_pb.js";
import { Cluster_DiscoveryType, Cluster_DnsLookupFamily } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { InternalListenerSchema } from "@waystation/proto/envoy/extensions/bootstrap/internal_listener/v3/internal_listener_pb.js";
import { HttpProtocolOptionsSchema } from "@waystation/proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { HttpConnectionManagerSchema } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { RouterSchema } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import { UpstreamTlsContextSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { adsSource, any, httpFilter, networkFilter, seconds, transportSocket, typed } from "./envoy/build.js";
import { identifyProxy } from "./proxy.js";

export interface BootstrapOptions {
  nodeId: string;
  /** host:port of Waystation's ADS (15010 plaintext, 15012 TLS). */
  xds: string;
  /** Delta xDS (default) or State-of-the-World. */
  delta?: boolean;
  /** Verify the control plane over TLS with this CA bundle file (the 15012 port). */
  xdsCaFile?: string;
  adminPort?: number;
  prometheusPort?: number;
  readinessPort?: number;
}

const xdsCluster = "xds-grpc";
const adminCluster = "admin";

export function envoyBootstrap(o: BootstrapOptions): Bootstrap | { error: string } {
  const proxy = identifyProxy({ id: o.nodeId });
  if ("error" in proxy) return { error: proxy.error };
  const colon = o.xds.lastIndexOf(":");
  const host = colon < 0 ? "" : o.xds.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = colon < 0 ? NaN : Number(o.xds.slice(colon + 1));
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) return { error: `--xds must be host:port, not ${JSON.stringify(o.xds)}` };
  const adminPort = o.adminPort ?? 15000;
  const statusListener = (name: string, listenPort: number, path: string, rewrite: string) => ({
    name,
    address: { address: { case: "socketAddress" as const, value: { address: "0.0.0.0", portSpecifier: { case: "portValue" as const, value: listenPort } } } },
    filterChains: [{
      filters: [networkFilter("envoy.filters.network.http_connection_manager", HttpConnectionManagerSchema, {
        statPrefix: name,
        routeSpecifier: {
          case: "routeConfig",
          value: {
            name,
            virtualHosts: [{
              name, domains: ["*"],
              routes: [{
                match: { pathSpecifier: { case: "prefix", value: path } },
                action: { case: "route", value: { clusterSpecifier: { case: "cluster", value: adminCluster }, prefixRewrite: rewrite } },
              }],
            }],
          },
        },
        httpFilters: [httpFilter("envoy.filters.http.router", RouterSchema, {})],
      })],
    }],
  });
  return create(BootstrapSchema, {
    node: { id: o.nodeId, cluster: `${proxy.podName.replace(/-[a-z0-9]+(-[a-z0-9]+)?$/, "")}.${proxy.namespace}` },
    admin: { address: { address: { case: "socketAddress", value: { address: "127.0.0.1", portSpecifier: { case: "portValue", value: adminPort } } } } },
    dynamicResources: {
      adsConfig: {
        apiType: o.delta === false ? ApiConfigSource_ApiType.GRPC : ApiConfigSource_ApiType.DELTA_GRPC,
        transportApiVersion: ApiVersion.V3,
        grpcServices: [{ targetSpecifier: { case: "envoyGrpc", value: { clusterName: xdsCluster } } }],
        setNodeOnFirstMessageOnly: true,
      },
      cdsConfig: adsSource(),
      ldsConfig: adsSource(),
    },
    staticResources: {
      clusters: [
        {
          name: xdsCluster,
          clusterDiscoveryType: { case: "type", value: /^[0-9.]+$/.test(host) ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.STRICT_DNS },
          dnsLookupFamily: Cluster_DnsLookupFamily.V4_PREFERRED,
          connectTimeout: seconds(1),
          loadAssignment: { clusterName: xdsCluster, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: host, portSpecifier: { case: "portValue", value: port } } } } } } }] }] },
          typedExtensionProtocolOptions: {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": any(HttpProtocolOptionsSchema, {
              upstreamProtocolOptions: { case: "explicitHttpConfig", value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } } },
            }),
          },
          ...(o.xdsCaFile ? {
            transportSocket: transportSocket("envoy.transport_sockets.tls", UpstreamTlsContextSchema, {
              commonTlsContext: { validationContextType: { case: "validationContext", value: { trustedCa: { specifier: { case: "filename", value: o.xdsCaFile } } } } },
            }),
          } : {}),
        },
        {
          name: adminCluster,
          clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
          connectTimeout: seconds(1),
          loadAssignment: { clusterName: adminCluster, endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: "127.0.0.1", portSpecifier: { case: "portValue", value: adminPort } } } } } } }] }] },
        },
      ],
      listeners: [
        statusListener("prometheus_stats", o.prometheusPort ?? 15090, "/stats/prometheus", "/stats/prometheus"),
        statusListener("readiness", o.readinessPort ?? 15021, "/healthz/ready", "/ready"),
      ],
    },
    // Internal listeners (main_internal, connect_originate) need this extension (istio-ambient.md §6.11).
    bootstrapExtensions: [typed("envoy.bootstrap.internal_listener", InternalListenerSchema, { bufferSizeKb: 64 })],
  });
}
