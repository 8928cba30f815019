/* eslint-disable @typescript-eslint/no-explicit-any -- JSON fixtures that tests edit freely */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromJson } from "@bufbuild/protobuf";
import * as fx from "./fixtures.js";
import { collections, formatValidationError, registry, validateSnapshot, type ResourcesByTypeUrl, type ValidationError } from "./index.js";

type Json = Record<string, any>;
type Snap = ReturnType<typeof fx.snapshot>;
const hcm = (s: Snap): Json => s.listeners[0].filter_chains[0].filters[0].typed_config;
const hcmPath = "listeners[0].filter_chains[0].filters[0].typed_config";
const tcpProxy = (s: Snap): Json => s.listeners[1].filter_chains[0].filters[0].typed_config;
const route0 = (s: Snap): Json => s.routes[0].virtual_hosts[0].routes[0];
const mainListener = 'listener "main_internal"';

function lines(errors: ValidationError[]): string[] {
  return errors.map(formatValidationError);
}

describe("validateSnapshot: consistent snapshots", () => {
  it("passes the fixture snapshot as JSON", () => {
    assert.deepEqual(lines(validateSnapshot(fx.snapshot())), []);
  });

  it("passes the fixture snapshot as protobuf-es messages", () => {
    const s = fx.snapshot();
    const messages: Record<string, unknown[]> = {};
    for (const [collection, schema] of collections) {
      messages[collection] = s[collection].map((j) => fromJson(schema, j, { registry }));
    }
    assert.deepEqual(lines(validateSnapshot(messages)), []);
  });

  it("accepts collections keyed by type URL", () => {
    const s = fx.snapshot();
    const byType: ResourcesByTypeUrl = {
      "type.googleapis.com/envoy.config.listener.v3.Listener": s.listeners,
      "type.googleapis.com/envoy.config.route.v3.RouteConfiguration": s.routes,
      "type.googleapis.com/envoy.config.cluster.v3.Cluster": s.clusters,
      "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment": s.endpoints,
      "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret": s.secrets,
    };
    assert.deepEqual(lines(validateSnapshot(byType)), []);
  });
});

interface RefCase {
  name: string;
  change: (s: Snap) => void;
  path: string;
  message: string | RegExp;
  rule: string;
  /** How many errors the change causes in all (several resources may share the name). */
  count?: number;
}

const otelProvider = (cluster: string): Json => ({
  name: "envoy.tracers.opentelemetry",
  typed_config: { "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig", grpc_service: { envoy_grpc: { cluster_name: cluster } }, service_name: "waypoint" },
});

const refCases: RefCase[] = [
  { name: "HCM rds.route_config_name", rule: "route_config",
    change: (s) => { hcm(s)["rds"].route_config_name = "inbound-routes-v2"; },
    path: `${hcmPath}.rds.route_config_name`,
    message: `${mainListener} refers to route configuration "inbound-routes-v2", which is not in the snapshot` },
  { name: "route cluster", rule: "cluster",
    change: (s) => { route0(s)["route"] = { cluster: "outbound|80||ghost" }; },
    path: "routes[0].virtual_hosts[0].routes[0].route.cluster",
    message: 'route configuration "inbound-routes" refers to cluster "outbound|80||ghost", which is not in the snapshot' },
  { name: "weighted_clusters.clusters[].name", rule: "cluster",
    change: (s) => { route0(s)["route"].weighted_clusters.clusters[1].name = "ghost"; },
    path: "routes[0].virtual_hosts[0].routes[0].route.weighted_clusters.clusters[1].name",
    message: /refers to cluster "ghost"/ },
  { name: "request_mirror_policies[].cluster", rule: "cluster",
    change: (s) => { route0(s)["route"].request_mirror_policies[0].cluster = "ghost"; },
    path: "routes[0].virtual_hosts[0].routes[0].route.request_mirror_policies[0].cluster",
    message: /refers to cluster "ghost"/ },
  { name: "a cluster used by an inline route_config inside the HCM", rule: "cluster",
    change: (s) => {
      delete hcm(s)["rds"];
      hcm(s)["route_config"] = { name: "inline", virtual_hosts: [{ name: "vh", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "ghost" } }] }] };
    },
    path: `${hcmPath}.route_config.virtual_hosts[0].routes[0].route.cluster`, message: /refers to cluster "ghost"/ },
  { name: "tcp_proxy cluster", rule: "cluster",
    change: (s) => { tcpProxy(s)["cluster"] = "ghost"; },
    path: "listeners[1].filter_chains[0].filters[0].typed_config.cluster",
    message: 'listener "connect_originate" refers to cluster "ghost", which is not in the snapshot' },
  { name: "tcp_proxy weighted_clusters", rule: "cluster",
    change: (s) => { delete tcpProxy(s)["cluster"]; tcpProxy(s)["weighted_clusters"] = { clusters: [{ name: fx.names.mirror, weight: 1 }, { name: "ghost", weight: 1 }] }; },
    path: "listeners[1].filter_chains[0].filters[0].typed_config.weighted_clusters.clusters[1].name", message: /refers to cluster "ghost"/ },
  { name: "jwt remote_jwks.http_uri.cluster", rule: "cluster",
    change: (s) => { hcm(s)["http_filters"][0].typed_config.providers.example.remote_jwks.http_uri.cluster = "ghost"; },
    path: `${hcmPath}.http_filters[0].typed_config.providers["example"].remote_jwks.http_uri.cluster`, message: /refers to cluster "ghost"/ },
  { name: "ext_authz grpc_service.envoy_grpc.cluster_name", rule: "cluster",
    change: (s) => {
      hcm(s)["http_filters"].splice(0, 0, { name: "envoy.filters.http.ext_authz", typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
        grpc_service: { envoy_grpc: { cluster_name: "outbound|9191||authz" } }, transport_api_version: "V3" } });
    },
    path: `${hcmPath}.http_filters[0].typed_config.grpc_service.envoy_grpc.cluster_name`, message: /refers to cluster "outbound\|9191\|\|authz"/ },
  { name: "ratelimit rate_limit_service.grpc_service", rule: "cluster",
    change: (s) => {
      hcm(s)["http_filters"].splice(2, 0, { name: "envoy.filters.http.ratelimit", typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit", domain: "waystation",
        rate_limit_service: { grpc_service: { envoy_grpc: { cluster_name: "ratelimit" } }, transport_api_version: "V3" } } });
    },
    path: `${hcmPath}.http_filters[2].typed_config.rate_limit_service.grpc_service.envoy_grpc.cluster_name`, message: /refers to cluster "ratelimit"/ },
  { name: "gRPC access log service", rule: "cluster",
    change: (s) => {
      hcm(s)["access_log"].push({ name: "envoy.access_loggers.http_grpc", typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig",
        common_config: { log_name: "waypoint", grpc_service: { envoy_grpc: { cluster_name: "als" } }, transport_api_version: "V3" } } });
    },
    path: `${hcmPath}.access_log[1].typed_config.common_config.grpc_service.envoy_grpc.cluster_name`, message: /refers to cluster "als"/ },
  { name: "tracing provider (OpenTelemetry)", rule: "cluster",
    change: (s) => { hcm(s)["tracing"] = { provider: otelProvider("otel-collector") }; },
    path: `${hcmPath}.tracing.provider.typed_config.grpc_service.envoy_grpc.cluster_name`, message: /refers to cluster "otel-collector"/ },
  { name: "aggregate cluster members", rule: "cluster",
    change: (s) => {
      s.clusters.push({ name: "aggregate", connect_timeout: "1s", lb_policy: "CLUSTER_PROVIDED", cluster_type: { name: "envoy.clusters.aggregate", typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig", clusters: [fx.names.reviews, "ghost"] } } });
    },
    path: "clusters[5].cluster_type.typed_config.clusters[1]", message: 'cluster "aggregate" refers to cluster "ghost", which is not in the snapshot' },
  { name: "EDS cluster without a ClusterLoadAssignment (service_name)", rule: "eds",
    change: (s) => { s.endpoints.splice(1, 1); },
    path: "clusters[1].eds_cluster_config.service_name",
    message: `cluster "${fx.names.reviewsV2}" is of type EDS, but the snapshot has no ClusterLoadAssignment with cluster_name "${fx.names.reviewsV2}" (EDS looks endpoints up by eds_cluster_config.service_name, or by the cluster name when that is empty)` },
  { name: "EDS cluster without a ClusterLoadAssignment (cluster name)", rule: "eds",
    change: (s) => { s.clusters[0].eds_cluster_config = { eds_config: { ads: {} } }; s.endpoints[0].cluster_name = "something-else"; },
    path: "clusters[0].name", message: /is of type EDS, but the snapshot has no ClusterLoadAssignment with cluster_name "inbound-vip\|9080\|http\|reviews.default.svc.cluster.local"/ },
  { name: "SDS tls_certificate_sds_secret_configs[].name", rule: "secret",
    change: (s) => { s.secrets.splice(0, 1); },
    path: `listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs[0].name`,
    message: `${mainListener} refers to secret "default", which is not in the snapshot`, count: 5 },
  { name: "SDS combined_validation_context.validation_context_sds_secret_config.name", rule: "secret",
    change: (s) => { s.secrets.splice(1, 1); },
    path: "clusters[0].transport_socket.typed_config.common_tls_context.combined_validation_context.validation_context_sds_secret_config.name",
    message: /refers to secret "ROOTCA"/, count: 5 },
  { name: "SDS validation_context_sds_secret_config.name", rule: "secret",
    change: (s) => {
      const ctx = s.clusters[0].transport_socket.typed_config.common_tls_context;
      delete ctx.combined_validation_context;
      ctx.validation_context_sds_secret_config = { name: "ROOTCA-2", sds_config: { ads: {}, resource_api_version: "V3" } };
    },
    path: "clusters[0].transport_socket.typed_config.common_tls_context.validation_context_sds_secret_config.name", message: /refers to secret "ROOTCA-2"/ },
  { name: "internal listener address in a cluster's load_assignment", rule: "internal_listener",
    change: (s) => { s.listeners.splice(1, 1); },
    path: "clusters[4].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.envoy_internal_address.server_listener_name",
    message: 'cluster "connect_originate" refers to internal listener "connect_originate", which is not in the snapshot' },
  { name: "internal listener address in a ClusterLoadAssignment", rule: "internal_listener",
    change: (s) => { s.endpoints[0].endpoints[0].lb_endpoints[0].endpoint.address = { envoy_internal_address: { server_listener_name: "tunnel" } }; },
    path: "endpoints[0].endpoints[0].lb_endpoints[0].endpoint.address.envoy_internal_address.server_listener_name",
    message: /^cluster load assignment ".*" refers to internal listener "tunnel", which is not in the snapshot$/ },
  { name: "an address naming a listener that is not internal", rule: "internal_listener",
    change: (s) => { s.endpoints[0].endpoints[0].lb_endpoints[0].endpoint.address = { envoy_internal_address: { server_listener_name: "main_internal" } }; },
    path: "endpoints[0].endpoints[0].lb_endpoints[0].endpoint.address.envoy_internal_address.server_listener_name",
    message: /refers to listener "main_internal" as an internal listener, but that listener has no internal_listener set$/ },
  { name: "duplicate cluster names", rule: "duplicate",
    change: (s) => { s.clusters.push(fx.cluster()); },
    path: "clusters[5]", message: `cluster name "${fx.names.reviews}" is also used by clusters[0]; names must be unique within a snapshot` },
];

describe("validateSnapshot: dangling references", () => {
  for (const c of refCases) {
    it(c.name, () => {
      const s = fx.snapshot();
      c.change(s);
      const errors = validateSnapshot(s);
      const hit = errors.find((e) => e.path === c.path && (typeof c.message === "string" ? e.message === c.message : c.message.test(e.message)));
      assert.ok(hit, `expected ${c.path}: ${String(c.message)}\ngot:\n${lines(errors).join("\n")}`);
      assert.equal(hit.stage, "reference");
      assert.equal(hit.rule, c.rule);
      assert.ok(hit.resource?.name !== undefined);
      assert.equal(errors.length, c.count ?? 1, lines(errors).join("\n"));
    });
  }
});

describe("validateSnapshot: everything else", () => {
  it("prefixes rule errors with the collection and index and names the resource", () => {
    const s = fx.snapshot();
    s.clusters[2].connect_timeout = "0s";
    const errors = validateSnapshot(s);
    assert.deepEqual(lines(errors), [`clusters[2].connect_timeout (cluster "${fx.names.mirror}"): value must be greater than 0s (got 0s)`]);
    assert.deepEqual(errors[0]?.resource, { collection: "clusters", name: fx.names.mirror });
  });

  it("counts a resource that fails to decode as present, so no dangling references follow", () => {
    const s = fx.snapshot();
    s.routes[0].virtual_hosts[0].unknown = true;
    const errors = validateSnapshot(s);
    assert.deepEqual(lines(errors), ['routes[0].virtual_hosts[0].unknown (route configuration "inbound-routes"): unknown field (envoy.config.route.v3.VirtualHost has no field "unknown")']);
  });

  it("accepts names the bootstrap provides", () => {
    const s = fx.snapshot();
    hcm(s)["tracing"] = { provider: otelProvider("otel-collector") };
    s.secrets = [];
    assert.equal(validateSnapshot(s).length, 1 + 5 + 5);
    assert.deepEqual(lines(validateSnapshot(s, { external: { clusters: ["otel-collector"], secrets: ["default", "ROOTCA"] } })), []);
  });

  it("does not check SDS names without sds_config (static bootstrap secrets)", () => {
    const s = fx.snapshot();
    s.listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs = [{ name: "static-cert" }];
    assert.deepEqual(lines(validateSnapshot(s)), []);
  });

  it("does not check cluster_header routes (resolved per request)", () => {
    const s = fx.snapshot();
    route0(s)["route"] = { cluster_header: "x-target-cluster" };
    assert.deepEqual(lines(validateSnapshot(s)), []);
  });
});

describe("validateSnapshot: messages seen before", () => {
  const asMessages = (s: Snap) => Object.fromEntries(collections.map(([c, schema]) => [c, s[c].map((j: Json) => fromJson(schema, j, { registry }))])) as Record<string, any[]>;

  it("a reused message reports its dangling references at its new position, as a fresh one would", () => {
    const s = fx.snapshot();
    const m = asMessages(s);
    assert.deepEqual(lines(validateSnapshot(m)), []);
    // Same message objects, the tcp_proxy's cluster removed and the listeners reordered: the
    // reference error must carry the listener's current index.
    const change = (x: Record<string, any[]>) => ({ ...x, clusters: x.clusters!.filter((c) => c.name !== fx.names.mirror), listeners: [...x.listeners!].reverse() });
    const expected = lines(validateSnapshot(change(asMessages(s))));
    assert.ok(expected.some((l) => l.startsWith("listeners[0].filter_chains[0].filters[0].typed_config.cluster")), expected.join("\n"));
    const withoutCluster = change(m);
    assert.deepEqual(lines(validateSnapshot(withoutCluster)), expected);
  });

  it("a message that failed its rules is checked again, not remembered as good", () => {
    const s = fx.snapshot();
    s.clusters[0].connect_timeout = "-1s";
    const m = asMessages(s);
    const first = lines(validateSnapshot(m));
    assert.ok(first.some((l) => l.includes("connect_timeout")), first.join("\n"));
    assert.deepEqual(lines(validateSnapshot(m)), first);
  });
});
