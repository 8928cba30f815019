/* eslint-disable @typescript-eslint/no-explicit-any -- JSON fixtures that tests edit freely */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, fromJson, type DescMessage } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { ClusterLoadAssignmentSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema, type Listener } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { RouterSchema } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import * as fx from "./fixtures.js";
import { formatValidationError, registry, validateResource, type ValidationError } from "./index.js";

type Json = Record<string, any>;
const hcm = (l: Json): Json => l["filter_chains"][0].filters[0].typed_config;
const hcmPath = "filter_chains[0].filters[0].typed_config";
const route0 = (r: Json): Json => r["virtual_hosts"][0].routes[0];
const tls = (c: Json): Json => c["transport_socket"].typed_config.common_tls_context;

describe("validateResource: valid resources", () => {
  const valid: [string, DescMessage, () => unknown][] = [
    ["Listener with HCM, JWT, RBAC, router and SDS TLS", ListenerSchema, fx.listener],
    ["internal Listener with tcp_proxy", ListenerSchema, fx.internalListener],
    ["EDS Cluster with UpstreamTlsContext over SDS", ClusterSchema, () => fx.cluster()],
    ["STATIC Cluster to an internal listener", ClusterSchema, fx.internalCluster],
    ["RouteConfiguration", RouteConfigurationSchema, fx.routeConfiguration],
    ["ClusterLoadAssignment", ClusterLoadAssignmentSchema, () => fx.clusterLoadAssignment()],
    ["Secret (tls_certificate)", SecretSchema, () => fx.secrets()[0]],
    ["Secret (validation_context)", SecretSchema, () => fx.secrets()[1]],
  ];
  for (const [name, schema, build] of valid) {
    it(name, () => {
      const r = validateResource(schema, build());
      assert.deepEqual(r.errors.map(formatValidationError), []);
      assert.equal(r.message?.$typeName, schema.typeName);
    });
  }

  it("accepts lowerCamelCase field names and a type URL for the type", () => {
    const r = validateResource("type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", {
      clusterName: "c", endpoints: [{ lbEndpoints: [{ endpoint: { address: { socketAddress: { address: "10.0.0.1", portValue: 80 } } } }] }],
    });
    assert.deepEqual(r.errors, []);
  });

  it("accepts a protobuf-es message and returns it", () => {
    const msg = fromJson(ListenerSchema, fx.listener(), { registry });
    const r = validateResource(ListenerSchema, msg);
    assert.deepEqual(r.errors, []);
    assert.equal(r.message, msg);
  });
});

interface Case {
  name: string;
  schema: DescMessage;
  input: () => unknown;
  path: string;
  message: string | RegExp;
  stage?: ValidationError["stage"];
}

function edit<T extends Json>(build: () => T, change: (j: T) => void): () => T {
  return () => {
    const j = build();
    change(j);
    return j;
  };
}

const cases: Case[] = [
  // ---- stage 1: strict decoding
  { name: "unknown field inside the HCM typed_config", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { hcm(l)["stat_prefixx"] = "x"; }),
    path: `${hcmPath}.stat_prefixx`, message: /^unknown field \(.*HttpConnectionManager has no field "stat_prefixx"; did you mean "stat_prefix"\?\)$/ },
  { name: "unknown top-level field in camelCase", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { l["listenerFiltersTimeoutt"] = "1s"; }),
    path: "listenerFiltersTimeoutt", message: /^unknown field .*did you mean "listener_filters_timeout"/ },
  { name: "unknown field in a map value (typed_extension_protocol_options)", schema: ClusterSchema, stage: "decode",
    input: edit(() => fx.cluster(), (c) => { c["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_option = {}; }),
    path: 'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_option',
    message: /^unknown field .*did you mean "http2_protocol_options"\?/ },
  { name: "wrong type: string for a uint32", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { l["address"].socket_address.port_value = "http"; }),
    path: "address.socket_address.port_value", message: 'expected an integer (uint32, 0 to 4294967295), got "http"' },
  { name: "wrong type: uint32 overflow", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { l["address"].socket_address.port_value = 4294967296; }),
    path: "address.socket_address.port_value", message: "4294967296 is out of range: expected an integer (uint32, 0 to 4294967295)" },
  { name: "wrong type: object where a list is expected", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { l["filter_chains"] = { filters: [] }; }),
    path: "filter_chains", message: "expected an array, got an object" },
  { name: "wrong type: string for a BoolValue wrapper", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { hcm(l)["use_remote_address"] = "yes"; }),
    path: `${hcmPath}.use_remote_address`, message: 'expected true or false, got "yes"' },
  { name: "wrong type: malformed duration", schema: ClusterSchema, stage: "decode",
    input: edit(() => fx.cluster(), (c) => { c["connect_timeout"] = "10"; }),
    path: "connect_timeout", message: /^expected a duration string such as "1.5s"/ },
  { name: "wrong type: bytes that are not base64", schema: SecretSchema, stage: "decode",
    input: edit(() => fx.secrets()[0] as Json, (s) => { s["tls_certificate"].private_key.inline_bytes = "not base64!"; }),
    path: "tls_certificate.private_key.inline_bytes", message: 'expected bytes as a base64 string, got "not base64!"' },
  { name: "wrong type: null inside a list", schema: RouteConfigurationSchema, stage: "decode",
    input: edit(fx.routeConfiguration, (r) => { r["virtual_hosts"][0].domains = ["a", null]; }),
    path: "virtual_hosts[0].domains[1]", message: "null is not allowed as a list item" },
  { name: "wrong type: the resource is not an object", schema: ClusterSchema, stage: "decode",
    input: () => [fx.cluster()], path: "", message: "expected an object (envoy.config.cluster.v3.Cluster), got an array" },
  { name: "enum typo (RBAC action)", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { hcm(l)["http_filters"][1].typed_config.rules.action = "PERMIT"; }),
    path: `${hcmPath}.http_filters[1].typed_config.rules.action`,
    message: 'unknown value "PERMIT" for enum envoy.config.rbac.v3.RBAC.Action; expected one of ALLOW, DENY, LOG' },
  { name: "enum typo with a suggestion (lb_policy)", schema: ClusterSchema, stage: "decode",
    input: edit(() => fx.cluster(), (c) => { c["lb_policy"] = "ROUND_ROBBIN"; }),
    path: "lb_policy", message: /^unknown value "ROUND_ROBBIN" for enum envoy.config.cluster.v3.Cluster.LbPolicy \(did you mean ROUND_ROBIN\?\)/ },
  { name: "unknown @type", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { hcm(l)["http_filters"][1].typed_config["@type"] = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACC"; }),
    path: `${hcmPath}.http_filters[1].typed_config`,
    message: 'unknown "@type" "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACC": the type is not in the registry (misspelt, or its .proto is missing from proto/roots.mjs)' },
  { name: "missing @type", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { hcm(l)["http_filters"][2].typed_config = {}; }),
    path: `${hcmPath}.http_filters[2].typed_config`, message: /^"@type" is missing: an Any must name its payload type/ },
  { name: "two members of a oneof (rds and route_config)", schema: ListenerSchema, stage: "decode",
    input: edit(fx.listener, (l) => { hcm(l)["route_config"] = { name: "inline" }; }),
    path: `${hcmPath}.route_config`,
    message: '"rds" and "route_config" are both set, but they are alternatives (oneof route_specifier); set only one' },
  { name: "two members of a oneof (type and cluster_type)", schema: ClusterSchema, stage: "decode",
    input: edit(() => fx.cluster(), (c) => { c["cluster_type"] = { name: "envoy.clusters.aggregate" }; }),
    path: "cluster_type", message: /"type" and "cluster_type" are both set.*oneof cluster_discovery_type/ },
  { name: "the same field under both spellings", schema: ClusterSchema, stage: "decode",
    input: edit(() => fx.cluster(), (c) => { c["connectTimeout"] = "1s"; }),
    path: "connect_timeout", message: 'field is given twice, as "connect_timeout" and as "connectTimeout"' },

  // ---- stage 2: PGV rules
  { name: "Cluster with an empty name", schema: ClusterSchema, stage: "rule",
    input: edit(() => fx.cluster(), (c) => { c["name"] = ""; }),
    path: "name", message: "value length must be at least 1 characters" },
  { name: "out-of-range port (lte 65535)", schema: ListenerSchema, stage: "rule",
    input: edit(fx.listener, (l) => { l["address"].socket_address.port_value = 70000; }),
    path: "address.socket_address.port_value", message: "value must be less than or equal to 65535 (got 70000)" },
  { name: "HCM without stat_prefix", schema: ListenerSchema, stage: "rule",
    input: edit(fx.listener, (l) => { delete hcm(l)["stat_prefix"]; }),
    path: `${hcmPath}.stat_prefix`, message: "value length must be at least 1 characters" },
  { name: "HTTP filter with an empty name", schema: ListenerSchema, stage: "rule",
    input: edit(fx.listener, (l) => { hcm(l)["http_filters"][1].name = ""; }),
    path: `${hcmPath}.http_filters[1].name`, message: "value length must be at least 1 characters" },
  { name: "route without an action (required oneof)", schema: RouteConfigurationSchema, stage: "rule",
    input: edit(fx.routeConfiguration, (r) => { delete route0(r)["route"]; }),
    path: "virtual_hosts[0].routes[0]",
    message: "exactly one of route, redirect, direct_response, filter_action, non_forwarding_action must be set (oneof action is required)" },
  { name: "route without match (message.required)", schema: RouteConfigurationSchema, stage: "rule",
    input: edit(fx.routeConfiguration, (r) => { delete route0(r)["match"]; }),
    path: "virtual_hosts[0].routes[0].match", message: "value is required" },
  { name: "filter chain filter without typed_config is fine, but an RBAC permission must choose a rule", schema: ListenerSchema, stage: "rule",
    input: edit(fx.listener, (l) => { hcm(l)["http_filters"][1].typed_config.rules.policies["ns[default]-policy[reviews-viewer]-rule[0]"].permissions = [{}]; }),
    path: `${hcmPath}.http_filters[1].typed_config.rules.policies["ns[default]-policy[reviews-viewer]-rule[0]"].permissions[0]`,
    message: /^exactly one of and_rules, or_rules, any, header, url_path, .* must be set \(oneof rule is required\)$/ },
  { name: "virtual host without domains (min_items)", schema: RouteConfigurationSchema, stage: "rule",
    input: edit(fx.routeConfiguration, (r) => { r["virtual_hosts"][0].domains = []; }),
    path: "virtual_hosts[0].domains", message: "value must contain at least 1 item(s) (has 0)" },
  { name: "negative duration where gte 0 (request_headers_timeout)", schema: ListenerSchema, stage: "rule",
    input: edit(fx.listener, (l) => { hcm(l)["request_headers_timeout"] = "-1s"; }),
    path: `${hcmPath}.request_headers_timeout`, message: "value must be greater than or equal to 0s (got -1s)" },
  { name: "negative duration in a range (jwks http_uri.timeout)", schema: ListenerSchema, stage: "rule",
    input: edit(fx.listener, (l) => { hcm(l)["http_filters"][0].typed_config.providers.example.remote_jwks.http_uri.timeout = "-0.5s"; }),
    path: `${hcmPath}.http_filters[0].typed_config.providers["example"].remote_jwks.http_uri.timeout`,
    message: "value must be inside range [0s, 4294967296s) (got -0.5s)" },
  { name: "zero connect_timeout (gt 0s)", schema: ClusterSchema, stage: "rule",
    input: edit(() => fx.cluster(), (c) => { c["connect_timeout"] = "0s"; }),
    path: "connect_timeout", message: "value must be greater than 0s (got 0s)" },
  { name: "wrapper value below its minimum (choice_count gte 2)", schema: ClusterSchema, stage: "rule",
    input: edit(() => fx.cluster(), (c) => { c["least_request_lb_config"] = { choice_count: 1 }; }),
    path: "least_request_lb_config.choice_count", message: "value must be greater than or equal to 2 (got 1)" },
  { name: "wrapper outside a range, inside an Any in a map", schema: ClusterSchema, stage: "rule",
    input: edit(() => fx.cluster(), (c) => { c["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_options.max_concurrent_streams = 0; }),
    path: 'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].explicit_http_config.http2_protocol_options.max_concurrent_streams',
    message: "value must be inside range [1, 2147483647] (got 0)" },
  { name: "endpoint weight 0 (gte 1)", schema: ClusterLoadAssignmentSchema, stage: "rule",
    input: edit(() => fx.clusterLoadAssignment(), (a) => { a["endpoints"][0].lb_endpoints[1].load_balancing_weight = 0; }),
    path: "endpoints[0].lb_endpoints[1].load_balancing_weight", message: "value must be greater than or equal to 1 (got 0)" },
  { name: "enum not_in (SAN type unspecified)", schema: ClusterSchema, stage: "rule",
    input: edit(() => fx.cluster(), (c) => { tls(c)["combined_validation_context"].default_validation_context.match_typed_subject_alt_names[0].san_type = "SAN_TYPE_UNSPECIFIED"; }),
    path: "transport_socket.typed_config.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names[0].san_type",
    message: "value must not be one of [SAN_TYPE_UNSPECIFIED]" },
  { name: "enum defined_only (a number that names no value)", schema: ClusterSchema, stage: "rule",
    input: edit(() => fx.cluster(), (c) => { c["lb_policy"] = 42; }),
    path: "lb_policy", message: /^value 42 is not a defined value of envoy.config.cluster.v3.Cluster.LbPolicy \(ROUND_ROBIN, LEAST_REQUEST, / },
  { name: "invalid HTTP header name (strict, ignore_empty)", schema: ClusterSchema, stage: "rule",
    input: edit(() => fx.cluster(), (c) => { c["typed_extension_protocol_options"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].upstream_http_protocol_options = { auto_sni: true, override_auto_sni_header: "x sni" }; }),
    path: 'typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].upstream_http_protocol_options.override_auto_sni_header',
    message: "value must be a valid HTTP header name" },
  { name: "empty item in a repeated string (items.string.min_len)", schema: RouteConfigurationSchema, stage: "rule",
    input: edit(fx.routeConfiguration, (r) => { r["virtual_hosts"][0].request_headers_to_remove = ["x-ok", ""]; }),
    path: "virtual_hosts[0].request_headers_to_remove[1]", message: "value length must be at least 1 characters" },
  { name: "header value with a newline (strict: false)", schema: RouteConfigurationSchema, stage: "rule",
    input: edit(fx.routeConfiguration, (r) => { route0(r)["request_headers_to_add"][0].header.value = "a\r\nInjected: 1"; }),
    path: "virtual_hosts[0].routes[0].request_headers_to_add[0].header.value", message: "value must be free of NUL, CR and LF characters" },
  { name: "repeated unique with item rules (response_headers_to_copy)", schema: RouteConfigurationSchema, stage: "rule",
    input: edit(fx.routeConfiguration, (r) => { route0(r)["route"].internal_redirect_policy = { response_headers_to_copy: ["x-a", "x-b", "x-a"] }; }),
    path: "virtual_hosts[0].routes[0].route.internal_redirect_policy.response_headers_to_copy[2]",
    message: "repeated value must contain unique items; this one repeats item 0" },
  { name: "Any required (typed_config of a TypedExtensionConfig)", schema: ClusterSchema, stage: "rule",
    input: edit(() => fx.cluster(), (c) => { c["lb_policy"] = "LOAD_BALANCING_POLICY_CONFIG"; c["load_balancing_policy"] = { policies: [{ typed_extension_config: { name: "envoy.load_balancing_policies.round_robin" } }] }; }),
    path: "load_balancing_policy.policies[0].typed_extension_config.typed_config", message: "value is required" },
  { name: "jwks uri empty inside a map of providers", schema: ListenerSchema, stage: "rule",
    input: edit(fx.listener, (l) => { hcm(l)["http_filters"][0].typed_config.providers.example.remote_jwks.http_uri.uri = ""; }),
    path: `${hcmPath}.http_filters[0].typed_config.providers["example"].remote_jwks.http_uri.uri`, message: "value length must be at least 1 characters" },
];

describe("validateResource: invalid resources", () => {
  assert.ok(cases.length >= 30, `only ${cases.length} cases`);
  for (const c of cases) {
    it(c.name, () => {
      const r = validateResource(c.schema, c.input());
      const hit = r.errors.find((e) => e.path === c.path
        && (typeof c.message === "string" ? e.message === c.message : c.message.test(e.message)));
      assert.ok(hit, `expected ${c.path}: ${String(c.message)}\ngot:\n${r.errors.map(formatValidationError).join("\n")}`);
      if (c.stage) assert.equal(hit.stage, c.stage);
      if (hit.stage === "decode") assert.equal(r.message, undefined, "no message after a decode error");
    });
  }
});

describe("validateResource: message input", () => {
  it("applies the rules to a protobuf-es message", () => {
    const c = fromJson(ClusterSchema, fx.cluster(), { registry });
    c.name = "";
    const r = validateResource(ClusterSchema, c);
    assert.deepEqual(r.errors.map(formatValidationError), ["name: value length must be at least 1 characters"]);
  });

  it("reports an Any whose type is not in the registry", () => {
    const l = fromJson(ListenerSchema, fx.listener(), { registry }) as Listener;
    const filter = l.filterChains[0]?.filters[0];
    assert.ok(filter?.configType.case === "typedConfig");
    filter.configType.value = { ...anyPack(RouterSchema, create(RouterSchema)), typeUrl: "type.googleapis.com/example.Unknown" };
    const r = validateResource(ListenerSchema, l);
    assert.equal(r.errors.length, 1);
    assert.equal(r.errors[0]?.path, "filter_chains[0].filters[0].typed_config");
    assert.match(r.errors[0]?.message ?? "", /^unknown type "type.googleapis.com\/example.Unknown"/);
  });

  it("rejects a message of another type", () => {
    const r = validateResource(ClusterSchema, create(RouterSchema));
    assert.equal(r.errors[0]?.message, "expected a envoy.config.cluster.v3.Cluster message, got envoy.extensions.filters.http.router.v3.Router");
  });

  it("rejects an unknown resource type", () => {
    const r = validateResource("type.googleapis.com/envoy.config.listener.v3.Listenr", {});
    assert.match(r.errors[0]?.message ?? "", /^unknown resource type/);
  });
});
