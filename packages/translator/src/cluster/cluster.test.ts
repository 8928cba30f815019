/* eslint-disable @typescript-eslint/no-explicit-any -- Envoy JSON is inspected freely */
/**
 * DestinationRule -> inbound-vip cluster: table tests on the Envoy JSON (snake_case, as Envoy shows
 * config) of the cluster serviceCluster builds, each one also run through the strict validator.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toJson } from "@bufbuild/protobuf";
import { ClusterSchema, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { RouteAction_HashPolicySchema, type RouteAction_HashPolicy } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { LoadedResource } from "@waystation/api";
import { buildModel, type MeshService, type PortProtocol, type ServicePort } from "@waystation/model";
import { namespace, pod, resource, service, waypointGateway } from "../../../model/src/testing.js";
import type { DestinationRuleSpec } from "../destinationRule.js";
import { formatValidationError, registry, validateResource } from "../validate/index.js";
import { serviceCluster } from "../waypoint/serviceCluster.js";
import { translateWaypoint } from "../waypoint/index.js";
import { toEnvoyJson } from "../output.js";
import { effectivePolicy } from "./policy.js";
import { hashPolicyFor, tcpProxyPolicyFor } from "./index.js";
import { TcpProxySchema } from "@waystation/proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";

const svc = (over: Partial<MeshService> = {}): MeshService => ({
  key: { group: "", kind: "Service", namespace: "ns", name: "reviews" }, kind: "Service", namespace: "ns", name: "reviews",
  hostname: "reviews.ns.svc.cluster.local", vips: ["10.96.0.10"], ports: [{ name: "http", port: 9080, targetPort: 9080, protocol: "HTTP" }],
  labels: {}, external: false, resolution: "CLUSTER_IP", inlineEndpoints: [], waypoint: { state: "none", reason: "test" }, ingressUseWaypoint: false,
  ...over,
});
const port = (protocol: PortProtocol = "HTTP", n = 9080): ServicePort => ({ name: protocol.toLowerCase(), port: n, targetPort: n, protocol });
const dr = (spec: DestinationRuleSpec | Record<string, unknown>, ns = "ns", name = "reviews") =>
  resource("DestinationRule", ns, name, { ...spec, host: (spec as { host?: string }).host ?? "reviews" }) as LoadedResource<DestinationRuleSpec>;

/** The cluster in Envoy JSON, after checking that the strict validator accepts it. */
function json(c: Cluster): any {
  const v = validateResource(ClusterSchema, c);
  assert.deepEqual(v.errors.map(formatValidationError), [], `cluster ${c.name} must validate`);
  return toJson(ClusterSchema, c, { registry, useProtoFieldName: true });
}

function build(spec: Record<string, unknown> | undefined, opts: { protocol?: PortProtocol; subset?: string; service?: Partial<MeshService>; port?: number } = {}): any {
  const p = port(opts.protocol, opts.port);
  const s = svc({ ports: [p], ...opts.service });
  return json(serviceCluster("c", s, p, { connectTimeoutSeconds: 10, ...(spec ? { destinationRule: dr(spec) } : {}), ...(opts.subset ? { subset: opts.subset } : {}) }));
}

const unlimited = { max_connections: 4294967295, max_pending_requests: 4294967295, max_requests: 4294967295, max_retries: 4294967295, track_remaining: true };
const inner = (c: any) => c.transport_socket.typed_config.transport_socket;
const httpOptions = (c: any) => c.typed_extension_protocol_options?.["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];

describe("inbound-vip cluster without a DestinationRule", () => {
  it("gets Istio's defaults: LEAST_REQUEST, unlimited circuit breakers, raw socket under internal_upstream", () => {
    const c = build(undefined);
    assert.equal(c.lb_policy, "LEAST_REQUEST");
    assert.equal(c.connect_timeout, "10s");
    assert.deepEqual(c.circuit_breakers, { thresholds: [unlimited] });
    assert.equal(c.transport_socket.name, "internal_upstream");
    assert.equal(inner(c).name, "envoy.transport_sockets.raw_buffer");
    assert.equal(c.outlier_detection, undefined);
    assert.equal(httpOptions(c), undefined);
    assert.deepEqual(c.metadata.filter_metadata.istio, { services: [{ host: "reviews.ns.svc.cluster.local", name: "reviews", namespace: "ns" }] });
  });

  it("speaks HTTP/2 on a GRPC port", () => {
    assert.deepEqual(httpOptions(build(undefined, { protocol: "GRPC" })).explicit_http_config, { http2_protocol_options: {} });
  });
});

interface Case {
  name: string;
  spec: Record<string, unknown>;
  opts?: Parameters<typeof build>[1];
  check: (c: any) => void;
}

const lbCases: Case[] = [
  { name: "simple ROUND_ROBIN", spec: { trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN" } } },
    check: (c) => { assert.equal(c.lb_policy, undefined); assert.equal(c.round_robin_lb_config, undefined); } },
  { name: "simple LEAST_CONN is LEAST_REQUEST", spec: { trafficPolicy: { loadBalancer: { simple: "LEAST_CONN" } } },
    check: (c) => assert.equal(c.lb_policy, "LEAST_REQUEST") },
  { name: "simple RANDOM", spec: { trafficPolicy: { loadBalancer: { simple: "RANDOM" } } },
    check: (c) => assert.equal(c.lb_policy, "RANDOM") },
  { name: "PASSTHROUGH turns the cluster into ORIGINAL_DST without EDS", spec: { trafficPolicy: { loadBalancer: { simple: "PASSTHROUGH" } } },
    check: (c) => { assert.equal(c.type, "ORIGINAL_DST"); assert.equal(c.lb_policy, "CLUSTER_PROVIDED"); assert.equal(c.eds_cluster_config, undefined); } },
  { name: "resolution NONE stays CLUSTER_PROVIDED whatever the rule says", spec: { trafficPolicy: { loadBalancer: { simple: "RANDOM" } } },
    opts: { service: { resolution: "NONE", kind: "ServiceEntry" } },
    check: (c) => { assert.equal(c.type, "ORIGINAL_DST"); assert.equal(c.lb_policy, "CLUSTER_PROVIDED"); } },
  { name: "warmupDurationSecs is slow start on LEAST_REQUEST", spec: { trafficPolicy: { loadBalancer: { warmupDurationSecs: "60s" } } },
    check: (c) => assert.deepEqual(c.least_request_lb_config, { slow_start_config: { slow_start_window: "60s" } }) },
  { name: "warmup with defaults for aggression and minimum weight", spec: { trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN", warmup: { duration: "30s" } } } },
    check: (c) => assert.deepEqual(c.round_robin_lb_config, { slow_start_config: {
      slow_start_window: "30s", aggression: { default_value: 1, runtime_key: "waystation.slow_start.aggression" }, min_weight_percent: { value: 10 } } }) },
  { name: "consistentHash without a ring size: RING_HASH of 1024", spec: { trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: "x-user" } } } },
    check: (c) => { assert.equal(c.lb_policy, "RING_HASH"); assert.deepEqual(c.ring_hash_lb_config, { minimum_ring_size: "1024" }); } },
  { name: "ringHash.minimumRingSize", spec: { trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true, ringHash: { minimumRingSize: 2048 } } } } },
    check: (c) => { assert.equal(c.lb_policy, "RING_HASH"); assert.deepEqual(c.ring_hash_lb_config, { minimum_ring_size: "2048" }); } },
  { name: "maglev.tableSize", spec: { trafficPolicy: { loadBalancer: { consistentHash: { httpQueryParameterName: "u", maglev: { tableSize: 65537 } } } } },
    check: (c) => { assert.equal(c.lb_policy, "MAGLEV"); assert.deepEqual(c.maglev_lb_config, { table_size: "65537" }); } },
];

const poolCases: Case[] = [
  {
    name: "tcp and http limits, keepalive, timeouts",
    spec: { trafficPolicy: { connectionPool: {
      tcp: { maxConnections: 100, connectTimeout: "2500ms", tcpKeepalive: { probes: 3, time: "7200s", interval: "75s" }, maxConnectionDuration: "1h" },
      http: { http1MaxPendingRequests: 64, http2MaxRequests: 500, maxRequestsPerConnection: 16, maxRetries: 4, idleTimeout: "30s" },
    } } },
    check: (c) => {
      assert.equal(c.connect_timeout, "2.500s");
      assert.deepEqual(c.circuit_breakers, { thresholds: [{ max_connections: 100, max_pending_requests: 64, max_requests: 500, max_retries: 4, track_remaining: true }] });
      assert.deepEqual(c.upstream_connection_options, { tcp_keepalive: { keepalive_probes: 3, keepalive_time: 7200, keepalive_interval: 75 } });
      assert.deepEqual(httpOptions(c), {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        common_http_protocol_options: { idle_timeout: "30s", max_requests_per_connection: 16, max_connection_duration: "3600s" },
        explicit_http_config: { http_protocol_options: {} },
      });
    },
  },
  {
    name: "0 means unset, as in Istio",
    spec: { trafficPolicy: { connectionPool: { tcp: { maxConnections: 0 }, http: { maxRetries: 0 } } } },
    check: (c) => assert.deepEqual(c.circuit_breakers, { thresholds: [unlimited] }),
  },
  {
    name: "tcp idleTimeout is the fallback for the HTTP pool",
    spec: { trafficPolicy: { connectionPool: { tcp: { idleTimeout: "5m" } } } },
    check: (c) => assert.deepEqual(httpOptions(c).common_http_protocol_options, { idle_timeout: "300s" }),
  },
  {
    name: "a TCP port's cluster carries no HTTP options (the pool's TCP timeouts go on tcp_proxy)",
    spec: { trafficPolicy: { connectionPool: { tcp: { idleTimeout: "5m", maxConnectionDuration: "1h" }, http: { h2UpgradePolicy: "UPGRADE" } } } },
    opts: { protocol: "TCP" },
    check: (c) => assert.equal(httpOptions(c), undefined),
  },
  {
    name: "maxConcurrentStreams merges into the HTTP/2 config of a GRPC port",
    spec: { trafficPolicy: { connectionPool: { http: { maxConcurrentStreams: 50 } } } },
    opts: { protocol: "GRPC" },
    check: (c) => assert.deepEqual(httpOptions(c).explicit_http_config, { http2_protocol_options: { max_concurrent_streams: 50 } }),
  },
  {
    name: "h2UpgradePolicy UPGRADE speaks HTTP/2 to an HTTP port",
    spec: { trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: "UPGRADE" } } } },
    check: (c) => assert.deepEqual(httpOptions(c).explicit_http_config, { http2_protocol_options: {} }),
  },
  {
    name: "DO_NOT_UPGRADE does not downgrade an HTTP2 port",
    spec: { trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: "DO_NOT_UPGRADE" } } } },
    opts: { protocol: "HTTP2" },
    check: (c) => assert.deepEqual(httpOptions(c).explicit_http_config, { http2_protocol_options: {} }),
  },
  {
    name: "useClientProtocol",
    spec: { trafficPolicy: { connectionPool: { http: { useClientProtocol: true } } } },
    opts: { protocol: "GRPC" },
    check: (c) => assert.deepEqual(httpOptions(c).use_downstream_protocol_config, { http_protocol_options: {}, http2_protocol_options: {} }),
  },
  {
    name: "retryBudget",
    spec: { trafficPolicy: { retryBudget: { percent: 25, minRetryConcurrency: 5 } } },
    check: (c) => assert.deepEqual(c.circuit_breakers.thresholds[0].retry_budget, { budget_percent: { value: 25 }, min_retry_concurrency: 5 }),
  },
];

const outlierCases: Case[] = [
  {
    name: "5xx, gateway errors, local origin, timing; minHealthPercent is the panic threshold",
    spec: { trafficPolicy: { outlierDetection: {
      consecutive5xxErrors: 7, consecutiveGatewayErrors: 3, splitExternalLocalOriginErrors: true, consecutiveLocalOriginFailures: 2,
      interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50, minHealthPercent: 20,
    } } },
    check: (c) => {
      assert.deepEqual(c.outlier_detection, {
        consecutive_5xx: 7, interval: "10s", base_ejection_time: "30s", max_ejection_percent: 50, enforcing_consecutive_5xx: 100,
        enforcing_success_rate: 0, consecutive_gateway_failure: 3, enforcing_consecutive_gateway_failure: 100,
        split_external_local_origin_errors: true, consecutive_local_origin_failure: 2, enforcing_consecutive_local_origin_failure: 100,
        enforcing_local_origin_success_rate: 0,
      });
      assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: { value: 20 } });
    },
  },
  {
    name: "panic mode off by default; consecutive5xxErrors 0 disables that detector",
    spec: { trafficPolicy: { outlierDetection: { consecutive5xxErrors: 0, interval: "5s" } } },
    check: (c) => {
      assert.deepEqual(c.outlier_detection, { consecutive_5xx: 0, interval: "5s", enforcing_consecutive_5xx: 0, enforcing_success_rate: 0 });
      assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: {} });
    },
  },
  {
    name: "deprecated consecutiveErrors counts gateway errors",
    spec: { trafficPolicy: { outlierDetection: { consecutiveErrors: 4 } } },
    check: (c) => assert.deepEqual(c.outlier_detection, {
      enforcing_consecutive_5xx: 0, enforcing_success_rate: 0, consecutive_gateway_failure: 4, enforcing_consecutive_gateway_failure: 100 }),
  },
];

const tlsCases: Case[] = [
  {
    name: "SIMPLE with sni and no CA: the system trust store",
    spec: { trafficPolicy: { tls: { mode: "SIMPLE", sni: "api.example.com" } } },
    check: (c) => {
      assert.equal(c.transport_socket.name, "internal_upstream");
      assert.deepEqual(inner(c), { name: "envoy.transport_sockets.tls", typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        common_tls_context: {
          tls_params: { tls_minimum_protocol_version: "TLSv1_2", tls_maximum_protocol_version: "TLSv1_3" },
          validation_context: { trusted_ca: { filename: "/etc/ssl/certs/ca-certificates.crt" } },
        },
        sni: "api.example.com",
      } });
      assert.equal(httpOptions(c), undefined);
    },
  },
  {
    name: "SIMPLE without sni or SANs: auto SNI and SAN validation from the Host header",
    spec: { trafficPolicy: { tls: { mode: "SIMPLE", caCertificates: "/etc/certs/ca.pem" } } },
    check: (c) => {
      assert.deepEqual(inner(c).typed_config.common_tls_context.validation_context, { trusted_ca: { filename: "/etc/certs/ca.pem" } });
      assert.deepEqual(httpOptions(c).upstream_http_protocol_options, { auto_sni: true, auto_san_validation: true });
      assert.deepEqual(httpOptions(c).explicit_http_config, { http_protocol_options: {} });
    },
  },
  {
    name: "MUTUAL with files, typed SANs, CRL and h2 ALPN",
    spec: { trafficPolicy: { tls: { mode: "MUTUAL", clientCertificate: "/c/cert.pem", privateKey: "/c/key.pem", caCertificates: "/c/ca.pem", caCrl: "/c/crl.pem",
      subjectAltNames: ["api.example.com", "spiffe://example.org/ns/a/sa/b", "10.0.0.1", "ops@example.com"], sni: "api.example.com" } } },
    opts: { protocol: "GRPC" },
    check: (c) => {
      const ctx = inner(c).typed_config.common_tls_context;
      assert.deepEqual(ctx.tls_certificates, [{ certificate_chain: { filename: "/c/cert.pem" }, private_key: { filename: "/c/key.pem" } }]);
      assert.deepEqual(ctx.validation_context, {
        trusted_ca: { filename: "/c/ca.pem" },
        match_typed_subject_alt_names: [
          { san_type: "DNS", matcher: { exact: "api.example.com" } },
          { san_type: "URI", matcher: { exact: "spiffe://example.org/ns/a/sa/b" } },
          { san_type: "IP_ADDRESS", matcher: { exact: "10.0.0.1" } },
          { san_type: "EMAIL", matcher: { exact: "ops@example.com" } },
        ],
        crl: { filename: "/c/crl.pem" },
      });
      assert.deepEqual(ctx.alpn_protocols, ["h2"]);
    },
  },
  {
    name: "credentialName: SDS secrets named as Istio names them",
    spec: { trafficPolicy: { tls: { mode: "MUTUAL", credentialName: "client-cred", sni: "x" } } },
    check: (c) => {
      const ctx = inner(c).typed_config.common_tls_context;
      assert.deepEqual(ctx.tls_certificate_sds_secret_configs, [{ name: "client-cred", sds_config: { ads: {}, resource_api_version: "V3" } }]);
      assert.equal(ctx.combined_validation_context.validation_context_sds_secret_config.name, "client-cred-cacert");
    },
  },
  {
    name: "insecureSkipVerify: an empty validation context",
    spec: { trafficPolicy: { tls: { mode: "SIMPLE", insecureSkipVerify: true } } },
    check: (c) => {
      assert.deepEqual(inner(c).typed_config.common_tls_context.validation_context, {});
      assert.deepEqual(httpOptions(c).upstream_http_protocol_options, { auto_sni: true });
    },
  },
  {
    name: "ISTIO_MUTUAL and DISABLE stay plaintext (HBONE already encrypts)",
    spec: { trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" } }, subsets: [{ name: "plain", trafficPolicy: { tls: { mode: "DISABLE" } } }] },
    check: (c) => assert.equal(inner(c).name, "envoy.transport_sockets.raw_buffer"),
  },
  {
    name: "PROXY protocol wraps the TLS socket, both inside internal_upstream",
    spec: { trafficPolicy: { tls: { mode: "SIMPLE", sni: "s" }, proxyProtocol: { version: "V2" } } },
    check: (c) => {
      const pp = inner(c);
      assert.equal(pp.name, "envoy.transport_sockets.upstream_proxy_protocol");
      assert.deepEqual(pp.typed_config.config, { version: "V2" });
      assert.equal(pp.typed_config.transport_socket.name, "envoy.transport_sockets.tls");
    },
  },
  {
    name: "a TCP port gets no auto SNI (there is no Host header to take it from)",
    spec: { trafficPolicy: { tls: { mode: "SIMPLE" } } },
    opts: { protocol: "TCP" },
    check: (c) => { assert.equal(httpOptions(c), undefined); assert.equal(inner(c).typed_config.sni, undefined); },
  },
];

const mergeCases: Case[] = [
  {
    name: "portLevelSettings replace the top level wholesale (no inheritance)",
    spec: { trafficPolicy: {
      loadBalancer: { simple: "RANDOM" }, outlierDetection: { consecutive5xxErrors: 3 },
      portLevelSettings: [{ port: { number: 9080 }, connectionPool: { tcp: { maxConnections: 7 } } }],
    } },
    check: (c) => {
      assert.equal(c.lb_policy, "LEAST_REQUEST");
      assert.equal(c.outlier_detection, undefined);
      assert.equal(c.circuit_breakers.thresholds[0].max_connections, 7);
    },
  },
  {
    name: "portLevelSettings for another port do not apply",
    spec: { trafficPolicy: { loadBalancer: { simple: "RANDOM" }, portLevelSettings: [{ port: { number: 1 }, loadBalancer: { simple: "ROUND_ROBIN" } }] } },
    check: (c) => assert.equal(c.lb_policy, "RANDOM"),
  },
  {
    name: "a subset's policy overrides the top level field by field",
    spec: {
      trafficPolicy: { loadBalancer: { simple: "RANDOM" }, connectionPool: { tcp: { maxConnections: 10 } } },
      subsets: [{ name: "v2", labels: { version: "v2" }, trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN" } } }],
    },
    opts: { subset: "v2" },
    check: (c) => {
      assert.equal(c.lb_policy, undefined); // ROUND_ROBIN, Envoy's default, is left out of JSON
      assert.equal(c.circuit_breakers.thresholds[0].max_connections, 10);
      assert.deepEqual(c.metadata.filter_metadata.istio.subset, "v2");
      assert.equal(c.metadata.filter_metadata.istio.config, "/apis/networking.istio.io/v1/namespaces/ns/destination-rule/reviews");
    },
  },
  {
    name: "a subset's port-level settings replace all four policies",
    spec: {
      trafficPolicy: { loadBalancer: { simple: "RANDOM" }, connectionPool: { tcp: { maxConnections: 10 } } },
      subsets: [{ name: "v2", trafficPolicy: { portLevelSettings: [{ port: { number: 9080 }, outlierDetection: { consecutive5xxErrors: 2 } }] } }],
    },
    opts: { subset: "v2" },
    check: (c) => {
      assert.equal(c.lb_policy, "LEAST_REQUEST");
      assert.deepEqual(c.circuit_breakers, { thresholds: [unlimited] });
      assert.equal(c.outlier_detection.consecutive_5xx, 2);
    },
  },
];

for (const [title, cases] of [["loadBalancer", lbCases], ["connectionPool", poolCases], ["outlierDetection", outlierCases], ["tls", tlsCases], ["merge rules", mergeCases]] as const) {
  describe(`DestinationRule ${title}`, () => {
    for (const c of cases) it(c.name, () => c.check(build(c.spec, c.opts)));
  });
}

describe("effectivePolicy", () => {
  it("is undefined without a rule or a policy", () => {
    assert.equal(effectivePolicy(undefined, 80), undefined);
    assert.equal(effectivePolicy({ host: "a" }, 80), undefined);
  });
  it("takes a subset's policy when the top level has none", () => {
    assert.deepEqual(effectivePolicy({ host: "a", subsets: [{ name: "s", trafficPolicy: { loadBalancer: { simple: "RANDOM" } } }] }, 80, "s"), { loadBalancer: { simple: "RANDOM" } });
  });
});

describe("a waypoint applying DestinationRules", () => {
  const mesh = (extra: LoadedResource[]) => buildModel([
    namespace("ns", { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" }),
    waypointGateway("ns", "waypoint"),
    service("ns", "reviews", {}, 9080, "10.96.0.10"),
    pod("ns", "reviews-v1", "reviews", "10.0.0.1", { version: "v1" }),
    pod("ns", "reviews-v2", "reviews", "10.0.0.2", { version: "v2" }),
    ...extra,
  ]);

  it("builds a cluster per subset with its endpoints, and reports what the waypoint ignores", () => {
    const model = mesh([dr({
      trafficPolicy: { tls: { mode: "ISTIO_MUTUAL" }, loadBalancer: { localityLbSetting: { enabled: true } } },
      subsets: [{ name: "v1", labels: { version: "v1" } }, { name: "v2", labels: { version: "v2" }, trafficPolicy: { loadBalancer: { simple: "RANDOM" } } }],
    })]);
    const t = translateWaypoint(model, model.waypoints[0]!);
    const out = toEnvoyJson(t.resources) as any;
    const names = out.clusters.map((c: any) => c.name).filter((n: string) => n.startsWith("inbound-vip"));
    assert.deepEqual(names, ["inbound-vip|9080|http/v1|reviews.ns.svc.cluster.local", "inbound-vip|9080|http/v2|reviews.ns.svc.cluster.local", "inbound-vip|9080|http|reviews.ns.svc.cluster.local"]);
    const v2 = out.clusters.find((c: any) => c.name === names[1]);
    assert.equal(v2.lb_policy, "RANDOM");
    const v2Endpoints = out.endpoints.find((e: any) => e.cluster_name === names[1]);
    assert.deepEqual(v2Endpoints.endpoints[0].lb_endpoints.map((e: any) => e.endpoint.address.envoy_internal_address.endpoint_id), ["10.0.0.2:9080"]);
    assert.deepEqual(t.conditions.map((c) => `${c.resource.name} ${c.reason}`), ["reviews IstioMutualIgnored", "reviews LocalityNotApplied"]);
    assert.match(t.conditions[0]!.message, /^spec\.trafficPolicy\.tls\.mode: ISTIO_MUTUAL is ignored at waypoint ns\/waypoint/);
  });

  it("publishes no endpoints for a PASSTHROUGH cluster", () => {
    const model = mesh([dr({ trafficPolicy: { loadBalancer: { simple: "PASSTHROUGH" } } })]);
    const t = translateWaypoint(model, model.waypoints[0]!);
    assert.equal(t.resources.endpoints.length, 0);
    assert.equal(t.resources.clusters.find((c) => c.name.startsWith("inbound-vip"))!.clusterDiscoveryType.value, 4 /* ORIGINAL_DST */);
  });

  it("tcpProxyPolicyFor gives the tcp_proxy idle timeout, connection duration and source-IP hash", () => {
    const model = mesh([dr({ trafficPolicy: {
      connectionPool: { tcp: { idleTimeout: "30m", maxConnectionDuration: "2h" } },
      loadBalancer: { consistentHash: { useSourceIp: true } },
    } })]);
    const s = model.services.find((x) => x.name === "reviews")!;
    const p = tcpProxyPolicyFor(model, model.waypoints[0]!, s, 9080);
    assert.deepEqual(toJson(TcpProxySchema, create(TcpProxySchema, { statPrefix: "t", ...p }), { registry, useProtoFieldName: true }),
      { stat_prefix: "t", idle_timeout: "1800s", hash_policy: [{ source_ip: {} }], max_downstream_connection_duration: "7200s" });
    assert.deepEqual(tcpProxyPolicyFor(mesh([]), model.waypoints[0]!, s, 9080), {});
  });

  it("hashPolicyFor gives the route hash of a hashing cluster, per subset and port", () => {
    const model = mesh([dr({
      trafficPolicy: { loadBalancer: { consistentHash: { httpCookie: { name: "session", path: "/", ttl: "0s" } } } },
      subsets: [{ name: "v1", labels: { version: "v1" }, trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } } },
        { name: "v2", labels: { version: "v2" }, trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN" } } }],
    })]);
    const w = model.waypoints[0]!;
    const s = model.services.find((x) => x.name === "reviews")!;
    const asJson = (p: RouteAction_HashPolicy | undefined) => p && toJson(RouteAction_HashPolicySchema, p, { registry, useProtoFieldName: true });
    assert.deepEqual(asJson(hashPolicyFor(model, w, s, 9080)), { cookie: { name: "session", ttl: "0s", path: "/" } });
    assert.deepEqual(asJson(hashPolicyFor(model, w, s, s.ports[0]!, "v1")), { connection_properties: { source_ip: true } });
    assert.equal(hashPolicyFor(model, w, s, 9080, "v2"), undefined);
  });
});

describe("examples/egress.yaml: TLS origination at an egress waypoint", () => {
  it("sends plain HTTP on port 80 as TLS to httpbin.org:443, SNI httpbin.org, verified against the system CAs", async () => {
    const { readFileSync } = await import("node:fs");
    const { defaultValidator, loadManifests } = await import("@waystation/api");
    const text = readFileSync(new URL("../../../../examples/egress.yaml", import.meta.url), "utf8");
    const model = buildModel(loadManifests([{ path: "egress.yaml", text }], defaultValidator()).resources);
    const se = model.services.find((s) => s.hostname === "httpbin.org")!;
    const rule = model.resources.find((r) => r.key.kind === "DestinationRule" && r.key.name === "httpbin-tls") as LoadedResource<DestinationRuleSpec>;
    const c = json(serviceCluster("inbound-vip|80|http|httpbin.org", se, se.ports[0]!, { connectTimeoutSeconds: 10, destinationRule: rule }));
    assert.equal(c.type, "STRICT_DNS");
    assert.deepEqual(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: "httpbin.org", port_value: 443 });
    assert.equal(inner(c).typed_config.sni, "httpbin.org");
    assert.deepEqual(inner(c).typed_config.common_tls_context.validation_context, { trusted_ca: { filename: "/etc/ssl/certs/ca-certificates.crt" } });
  });
});
