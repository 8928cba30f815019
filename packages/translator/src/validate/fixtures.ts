/* eslint-disable @typescript-eslint/no-explicit-any -- JSON fixtures that tests edit freely */
/**
 * Hand-written Envoy resources for the validator's tests: a small but realistic waypoint snapshot
 * in Envoy's canonical JSON (snake_case). Each function returns a fresh copy, so a test may mutate
 * it to build an invalid case.
 */

const ads = { ads: {}, resource_api_version: "V3" };
const reviews = "inbound-vip|9080|http|reviews.default.svc.cluster.local";
const reviewsV2 = "inbound-vip|9080|http|reviews-v2.default.svc.cluster.local";
const mirror = "inbound-vip|9080|http|reviews-shadow.default.svc.cluster.local";
const jwksCluster = "outbound|443||jwks.example.com";

export const names = { reviews, reviewsV2, mirror, jwksCluster, routes: "inbound-routes", internal: "connect_originate" };

/** Waypoint listener: HCM with JWT, RBAC and router; TLS from SDS; an access log. */
export function listener(): Record<string, any> {
  return {
    name: "main_internal",
    address: { socket_address: { address: "0.0.0.0", port_value: 15008 } },
    listener_filters: [{
      name: "envoy.filters.listener.tls_inspector",
      typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" },
    }],
    filter_chains: [{
      name: "inbound-vip|9080|http|reviews",
      filter_chain_match: { destination_port: 15008, transport_protocol: "tls" },
      filters: [{
        name: "envoy.filters.network.http_connection_manager",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          stat_prefix: "inbound_http",
          codec_type: "AUTO",
          rds: { route_config_name: "inbound-routes", config_source: ads },
          stream_idle_timeout: "300s",
          use_remote_address: false,
          http_filters: [
            {
              name: "envoy.filters.http.jwt_authn",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                providers: {
                  "example": {
                    issuer: "https://example.com",
                    remote_jwks: { http_uri: { uri: "https://jwks.example.com/keys", cluster: jwksCluster, timeout: "5s" }, cache_duration: "300s" },
                    forward: true,
                  },
                },
                rules: [{ match: { prefix: "/" }, requires: { allow_missing: {} } }],
              },
            },
            {
              name: "envoy.filters.http.rbac",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                rules: {
                  action: "ALLOW",
                  policies: {
                    "ns[default]-policy[reviews-viewer]-rule[0]": {
                      permissions: [{ and_rules: { rules: [
                        { header: { name: ":method", string_match: { exact: "GET" } } },
                        { url_path: { path: { prefix: "/reviews" } } },
                      ] } }],
                      principals: [{ authenticated: { principal_name: { exact: "spiffe://cluster.local/ns/default/sa/productpage" } } }],
                    },
                  },
                },
              },
            },
            { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
          ],
          access_log: [{
            name: "envoy.access_loggers.file",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
              path: "/dev/stdout",
              log_format: { json_format: { start_time: "%START_TIME%", upstream: "%UPSTREAM_HOST%" } },
            },
          }],
        },
      }],
      transport_socket: {
        name: "envoy.transport_sockets.tls",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
          require_client_certificate: true,
          common_tls_context: {
            alpn_protocols: ["h2"],
            tls_certificate_sds_secret_configs: [{ name: "default", sds_config: ads }],
            combined_validation_context: {
              default_validation_context: {},
              validation_context_sds_secret_config: { name: "ROOTCA", sds_config: ads },
            },
          },
        },
      },
    }],
  };
}

/** Internal listener that HBONE-originates to the waypoint over a tcp_proxy. */
export function internalListener(): Record<string, any> {
  return {
    name: "connect_originate",
    internal_listener: {},
    filter_chains: [{
      filters: [{
        name: "envoy.filters.network.tcp_proxy",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
          stat_prefix: "connect_originate",
          cluster: mirror,
          tunneling_config: { hostname: "%DOWNSTREAM_LOCAL_ADDRESS%" },
        },
      }],
    }],
  };
}

/** EDS cluster with HTTP/2 upstream and mTLS whose certificates come over SDS. */
export function cluster(name = reviews): Record<string, any> {
  return {
    name,
    type: "EDS",
    eds_cluster_config: { eds_config: ads, service_name: name },
    connect_timeout: "10s",
    lb_policy: "LEAST_REQUEST",
    circuit_breakers: { thresholds: [{ max_connections: 4294967295, max_requests: 4294967295, max_retries: 4294967295 }] },
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: { max_concurrent_streams: 1024 } },
      },
    },
    transport_socket: {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        sni: "outbound_.9080_._.reviews.default.svc.cluster.local",
        common_tls_context: {
          alpn_protocols: ["istio", "h2"],
          tls_certificate_sds_secret_configs: [{ name: "default", sds_config: ads }],
          combined_validation_context: {
            default_validation_context: {
              match_typed_subject_alt_names: [{ san_type: "URI", matcher: { exact: "spiffe://cluster.local/ns/default/sa/reviews" } }],
            },
            validation_context_sds_secret_config: { name: "ROOTCA", sds_config: ads },
          },
        },
      },
    },
  };
}

/** STATIC cluster whose one endpoint is the internal listener. */
export function internalCluster(): Record<string, any> {
  return {
    name: "connect_originate",
    type: "STATIC",
    connect_timeout: "5s",
    load_assignment: {
      cluster_name: "connect_originate",
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { envoy_internal_address: { server_listener_name: "connect_originate" } } } }] }],
    },
    transport_socket: {
      name: "envoy.transport_sockets.internal_upstream",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.internal_upstream.v3.InternalUpstreamTransport",
        transport_socket: { name: "envoy.transport_sockets.raw_buffer", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer" } },
      },
    },
  };
}

/** Routes: weighted split with retries and a mirror, plus a direct response. */
export function routeConfiguration(): Record<string, any> {
  return {
    name: "inbound-routes",
    virtual_hosts: [{
      name: "reviews.default.svc.cluster.local:9080",
      domains: ["reviews.default.svc.cluster.local", "reviews", "*"],
      routes: [
        {
          name: "default/reviews.0",
          match: { prefix: "/", headers: [{ name: "x-canary", string_match: { exact: "true" }, invert_match: true }] },
          route: {
            weighted_clusters: { clusters: [{ name: reviews, weight: 90 }, { name: reviewsV2, weight: 10 }] },
            timeout: "15s",
            retry_policy: { retry_on: "connect-failure,refused-stream,5xx", num_retries: 2, per_try_timeout: "2s" },
            request_mirror_policies: [{ cluster: mirror, runtime_fraction: { default_value: { numerator: 10, denominator: "HUNDRED" } } }],
          },
          request_headers_to_add: [{ header: { key: "x-waystation", value: "reviews" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }],
        },
        { match: { path: "/healthz" }, direct_response: { status: 200, body: { inline_string: "ok" } } },
      ],
    }],
  };
}

/** Endpoints of an EDS cluster. */
export function clusterLoadAssignment(name = reviews): Record<string, any> {
  return {
    cluster_name: name,
    endpoints: [{
      locality: { region: "us-east1", zone: "us-east1-b" },
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: "10.0.0.12", port_value: 9080 } } }, health_status: "HEALTHY", load_balancing_weight: 1 },
        { endpoint: { address: { socket_address: { address: "10.0.0.13", port_value: 9080 } } }, load_balancing_weight: 3 },
      ],
    }],
  };
}

/** SDS secrets: a workload certificate and the root CA. */
export function secrets(): Record<string, any>[] {
  return [
    {
      name: "default",
      tls_certificate: {
        certificate_chain: { inline_bytes: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==" },
        private_key: { inline_bytes: "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCg==" },
      },
    },
    { name: "ROOTCA", validation_context: { trusted_ca: { inline_string: "-----BEGIN CERTIFICATE-----\n" } } },
  ];
}

/** A complete, consistent snapshot. */
export function snapshot(): { listeners: any[]; routes: any[]; clusters: any[]; endpoints: any[]; secrets: any[] } {
  return {
    listeners: [listener(), internalListener()],
    routes: [routeConfiguration()],
    clusters: [cluster(reviews), cluster(reviewsV2), cluster(mirror), cluster(jwksCluster), internalCluster()],
    endpoints: [clusterLoadAssignment(reviews), clusterLoadAssignment(reviewsV2), clusterLoadAssignment(mirror), clusterLoadAssignment(jwksCluster)],
    secrets: secrets(),
  };
}
