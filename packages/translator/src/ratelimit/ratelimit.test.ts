import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import type { LoadedResource } from "@waystation/api";
import { ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { RateLimitSchema } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { HttpFilterSchema } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { buildModel } from "../../../model/src/build.js";
import { namespace, resource, service, waypointGateway } from "../../../model/src/testing.js";
import { validateResource } from "../validate/index.js";
import { registry } from "../validate/registry.js";
import { exactPathRegex, pathPrefixMatcher } from "./actions.js";
import { canonicalCidr, compileRules, globalRules, rateLimitFor, rateLimitPoliciesFor, type RateLimitConfig, type RateLimitOptions } from "./index.js";

const opts = { registry, useProtoFieldName: true } as const;

/** Envoy JSON of everything rateLimitFor built, after checking each piece with the strict validator. */
function json(c: RateLimitConfig) {
  const check = (schema: Parameters<typeof validateResource>[0], m: unknown, what: string) => assert.deepEqual(validateResource(schema, m).errors, [], what);
  c.httpFilters.forEach((f) => check(HttpFilterSchema, f, f.name));
  c.routeRateLimits.forEach((r, i) => check(RateLimitSchema, r, `rate_limits[${i}]`));
  c.clusters.forEach((x) => check(ClusterSchema, x, x.name));
  return {
    filters: c.httpFilters.map((f) => toJson(HttpFilterSchema, f, opts) as { name: string; typed_config: Record<string, JsonValue> }),
    rateLimits: c.routeRateLimits.map((r) => toJson(RateLimitSchema, r, opts)),
    clusters: c.clusters.map((x) => toJson(ClusterSchema, x, opts)),
  };
}

const ns = "bookinfo";
const toService = (name = "reviews") => [{ group: "", kind: "Service", name }];
const toWaypoint = [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" }];
const policy = (name: string, spec: Record<string, unknown>) => resource("RateLimitPolicy", ns, name, spec);
const mesh = [
  namespace(ns, { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" }),
  waypointGateway(ns, "waypoint"),
  service(ns, "reviews", {}, 9080, "10.96.0.12"),
  service(ns, "ratings", {}, 9080, "10.96.0.13"),
  resource("Service", ns, "db", { selector: { app: "db" }, clusterIP: "10.96.0.14", ports: [{ name: "tcp-pg", port: 5432 }] }),
];

function limitsFor(policies: LoadedResource[], svc = "reviews", options?: RateLimitOptions) {
  const m = buildModel([...mesh, ...policies]);
  return rateLimitFor(m, m.waypoints[0]!, m.services.find((s) => s.name === svc)!, options);
}

/** The policy of the RateLimitPolicy doc comment (packages/api/src/kinds/security/rateLimitPolicy.ts). */
const reviews = policy("reviews", {
  targetRefs: toService(),
  local: {
    rules: [
      { name: "all", limit: { requests: 1000, unit: "second" } },
      { name: "writes", match: { path: { type: "PathPrefix", value: "/reviews" }, method: "POST" }, tokenBucket: { maxTokens: 50, tokensPerFill: 10, fillInterval: "1s" } },
      { name: "free-plan", descriptor: [{ header: { name: "x-plan", value: "free" } }], limit: { requests: 10, unit: "second" } },
    ],
  },
  global: {
    failureMode: "open",
    rules: [
      { name: "per-user", descriptor: [{ header: { name: "x-user-id" } }], limit: { requests: 100, unit: "minute" } },
      { name: "export-per-caller", descriptor: [{ sourcePrincipal: {} }, { path: { value: "/reviews/export" } }], limit: { requests: 5, unit: "hour" } },
    ],
  },
});

const rule = (id: string) => ({ generic_key: { descriptor_key: "waystation.io/rule", descriptor_value: id } });
const svcEntry = (host = "reviews.bookinfo.svc.cluster.local") => ({ generic_key: { descriptor_key: "waystation.io/service", descriptor_value: host } });
const percent = (numerator: number, runtime_key: string) => ({ default_value: numerator ? { numerator } : {}, runtime_key });

describe("RateLimitPolicy -> Envoy rate limit filters", () => {
  it("renders the documented example: principal header, local filter, global filter, stripped header", () => {
    const out = json(limitsFor([reviews]));
    assert.deepEqual(out.filters.map((f) => f.name), [
      "waystation.ratelimit.set_peer_principal",
      "envoy.filters.http.local_ratelimit",
      "envoy.filters.http.ratelimit",
      "waystation.ratelimit.strip_peer_principal",
    ]);
    assert.deepEqual(out.filters[0]!.typed_config, {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
      mutations: {
        request_mutations: [
          { remove: "x-waystation-peer-principal" },
          { append: { header: { key: "x-waystation-peer-principal", value: "%FILTER_STATE(io.istio.peer_principal:PLAIN)%" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" } },
        ],
      },
    });
    assert.deepEqual(out.filters[1]!.typed_config, {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
      stat_prefix: "local_rate_limit",
      status: { code: "TooManyRequests" },
      // "all" is unconditional, so it is the default bucket every request takes a token from.
      token_bucket: { max_tokens: 1000, tokens_per_fill: 1000, fill_interval: "1s" },
      filter_enabled: percent(100, "local_rate_limit_enabled"),
      filter_enforced: percent(100, "local_rate_limit_enforced"),
      enable_x_ratelimit_headers: "DRAFT_VERSION_03",
      descriptors: [
        { entries: [{ key: "waystation.io/rule", value: "bookinfo/reviews/writes" }], token_bucket: { max_tokens: 50, tokens_per_fill: 10, fill_interval: "1s" } },
        { entries: [{ key: "waystation.io/rule", value: "bookinfo/reviews/free-plan" }, { key: "header.x-plan", value: "free" }], token_bucket: { max_tokens: 10, tokens_per_fill: 10, fill_interval: "1s" } },
      ],
      always_consume_default_token_bucket: true,
      rate_limited_as_resource_exhausted: true,
    });
    assert.deepEqual(out.filters[2]!.typed_config, {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.ratelimit.v3.RateLimit",
      domain: "waystation",
      stage: 2,
      timeout: "0.100s",
      rate_limited_as_resource_exhausted: true,
      rate_limit_service: {
        grpc_service: { envoy_grpc: { cluster_name: "outbound|8081||ratelimit.waystation", authority: "ratelimit.waystation:8081" } },
        transport_api_version: "V3",
      },
      enable_x_ratelimit_headers: "DRAFT_VERSION_03",
      stat_prefix: "global_rate_limit",
    });
    assert.deepEqual(out.filters[3]!.typed_config.mutations, { request_mutations: [{ remove: "x-waystation-peer-principal" }] });
    assert.deepEqual(out.rateLimits, [
      {
        stage: 0,
        actions: [{
          header_value_match: {
            descriptor_key: "waystation.io/rule", descriptor_value: "bookinfo/reviews/writes", expect_match: true,
            headers: [{ name: ":path", string_match: { safe_regex: { regex: "/reviews([/?].*)?" } } }, { name: ":method", string_match: { exact: "POST" } }],
          },
        }],
      },
      {
        stage: 0,
        actions: [
          rule("bookinfo/reviews/free-plan"),
          { header_value_match: { descriptor_key: "header.x-plan", descriptor_value: "free", expect_match: true, headers: [{ name: "x-plan", string_match: { exact: "free" } }] } },
        ],
      },
      { stage: 2, actions: [rule("bookinfo/reviews/per-user"), svcEntry(), { request_headers: { header_name: "x-user-id", descriptor_key: "header.x-user-id" } }] },
      {
        stage: 2,
        actions: [
          rule("bookinfo/reviews/export-per-caller"), svcEntry(),
          { request_headers: { header_name: "x-waystation-peer-principal", descriptor_key: "source.principal" } },
          { header_value_match: { descriptor_key: "path", descriptor_value: "/reviews/export", expect_match: true, headers: [{ name: ":path", string_match: { safe_regex: { regex: "/reviews/export(\\?.*)?" } } }] } },
        ],
      },
    ]);
    assert.deepEqual(out.clusters, [{
      name: "outbound|8081||ratelimit.waystation",
      type: "STRICT_DNS",
      connect_timeout: "1s",
      dns_lookup_family: "V4_PREFERRED",
      load_assignment: {
        cluster_name: "outbound|8081||ratelimit.waystation",
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "ratelimit.waystation", port_value: 8081 } } } }] }],
      },
      typed_extension_protocol_options: {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          explicit_http_config: { http2_protocol_options: {} },
        },
      },
    }]);
  });

  it("renders every descriptor entry kind as the action that produces it", () => {
    const cases: [string, unknown, JsonValue][] = [
      ["header value", { header: { name: "X-Plan", value: "free" } }, { header_value_match: { descriptor_key: "header.x-plan", descriptor_value: "free", expect_match: true, headers: [{ name: "x-plan", string_match: { exact: "free" } }] } }],
      ["header per value", { header: { name: "x-user-id" } }, { request_headers: { header_name: "x-user-id", descriptor_key: "header.x-user-id" } }],
      ["path value", { path: { value: "/a.b" } }, { header_value_match: { descriptor_key: "path", descriptor_value: "/a.b", expect_match: true, headers: [{ name: ":path", string_match: { safe_regex: { regex: "/a\\.b(\\?.*)?" } } }] } }],
      ["path per value", { path: {} }, { request_headers: { header_name: ":path", descriptor_key: "path" } }],
      ["principal value", { sourcePrincipal: { value: "cluster.local/ns/shop/sa/cart" } }, { header_value_match: { descriptor_key: "source.principal", descriptor_value: "spiffe://cluster.local/ns/shop/sa/cart", expect_match: true, headers: [{ name: "x-waystation-peer-principal", string_match: { exact: "spiffe://cluster.local/ns/shop/sa/cart" } }] } }],
      ["principal per value", { sourcePrincipal: {} }, { request_headers: { header_name: "x-waystation-peer-principal", descriptor_key: "source.principal" } }],
      ["remote address per value", { remoteAddress: {} }, { remote_address: {} }],
      ["IPv4 CIDR", { remoteAddress: { value: "10.1.0.0/16" } }, { masked_remote_address: { v4_prefix_mask_len: 16 } }],
      ["IPv6 CIDR", { remoteAddress: { value: "2001:db8::/32" } }, { masked_remote_address: { v6_prefix_mask_len: 32 } }],
      ["generic", { generic: { key: "tier", value: "gold" } }, { generic_key: { descriptor_key: "tier", descriptor_value: "gold" } }],
      ["generic default key", { generic: { value: "gold" } }, { generic_key: { descriptor_key: "generic_key", descriptor_value: "gold" } }],
    ];
    for (const [what, entry, action] of cases) {
      const p = policy("p", { targetRefs: toService(), global: { rules: [{ name: "r", descriptor: [entry], limit: { requests: 1, unit: "second" } }] } });
      const out = json(limitsFor([p]));
      assert.deepEqual(out.rateLimits, [{ stage: 2, actions: [rule("bookinfo/p/r"), svcEntry(), action] }], what);
    }
  });

  it("path matchers follow Gateway API path semantics on Envoy's :path (which carries the query)", () => {
    const full = (re: string) => new RegExp(`^(?:${re})$`);
    const prefix = pathPrefixMatcher("/reviews/").matchPattern!;
    assert.equal(prefix.case, "safeRegex");
    const re = full((prefix.value as { regex: string }).regex);
    for (const p of ["/reviews", "/reviews/", "/reviews/1", "/reviews?x=1"]) assert.ok(re.test(p), p);
    for (const p of ["/reviewsx", "/review", "/"]) assert.ok(!re.test(p), p);
    assert.deepEqual(pathPrefixMatcher("/").matchPattern, { case: "prefix", value: "/" });
    const ex = full(exactPathRegex("/a+b"));
    assert.ok(ex.test("/a+b") && ex.test("/a+b?q=1"));
    assert.ok(!ex.test("/a+b/c") && !ex.test("/aab"));
  });

  it("keeps the default bucket unlimited when no unconditional rule fits the common refill interval", () => {
    const p = policy("p", {
      targetRefs: toService(),
      local: {
        rules: [
          { name: "hourly", limit: { requests: 5000, unit: "hour" } },
          { name: "burst", tokenBucket: { maxTokens: 20, fillInterval: "130ms" } },
          { descriptor: [{ remoteAddress: { value: "10.1.2.3" } }], limit: { requests: 1, unit: "second" } },
        ],
      },
    });
    const c = limitsFor([p]);
    const out = json(c);
    assert.deepEqual(out.filters.map((f) => f.name), ["envoy.filters.http.local_ratelimit"]);
    const cfg = out.filters[0]!.typed_config;
    // 130ms is not on Envoy's 50 ms grain: it becomes 150ms; gcd(3600s, 150ms, 1s) = 50ms.
    assert.deepEqual(cfg.token_bucket, { max_tokens: 2147483647, tokens_per_fill: 2147483647, fill_interval: "0.050s" });
    assert.deepEqual(cfg.descriptors, [
      { entries: [{ key: "waystation.io/rule", value: "bookinfo/p/hourly" }], token_bucket: { max_tokens: 5000, tokens_per_fill: 5000, fill_interval: "3600s" } },
      { entries: [{ key: "waystation.io/rule", value: "bookinfo/p/burst" }], token_bucket: { max_tokens: 20, tokens_per_fill: 1, fill_interval: "0.150s" } },
      { entries: [{ key: "waystation.io/rule", value: "bookinfo/p/#2" }, { key: "masked_remote_address", value: "10.1.2.3/32" }], token_bucket: { max_tokens: 1, tokens_per_fill: 1, fill_interval: "1s" } },
    ]);
    assert.deepEqual(out.rateLimits.map((r) => (r as { actions: unknown[] }).actions), [
      [rule("bookinfo/p/hourly")],
      [rule("bookinfo/p/burst")],
      [rule("bookinfo/p/#2"), { masked_remote_address: { v4_prefix_mask_len: 32 } }],
    ]);
    assert.deepEqual(c.conditions.map((x) => [x.resource.name, x.type, x.status, x.reason]), [["p", "WaypointAccepted", "True", "Adjusted"]]);
    assert.match(c.conditions[0]!.message, /fillInterval: 130ms is enforced as 150ms/);
  });

  it("gives shadow policies their own filter: enabled, never enforced, no headers", () => {
    const shadow = policy("dry", { targetRefs: toService(), shadow: true, local: { rules: [{ name: "all", limit: { requests: 1, unit: "second" } }] } });
    const out = json(limitsFor([shadow, policy("real", { targetRefs: toService(), local: { rules: [{ name: "all", limit: { requests: 9, unit: "minute" } }] } })]));
    assert.deepEqual(out.filters.map((f) => [f.typed_config.stat_prefix, f.typed_config.stage, f.typed_config.filter_enforced, f.typed_config.enable_x_ratelimit_headers]), [
      ["local_rate_limit", undefined, percent(100, "local_rate_limit_enforced"), "DRAFT_VERSION_03"],
      ["local_rate_limit_shadow", 1, percent(0, "local_rate_limit_shadow_enforced"), undefined],
    ]);
    // Unconditional rules alone need no route actions: the default bucket takes every request.
    assert.deepEqual(out.rateLimits, []);
  });

  it("splits global rules by failure mode; shadow rules always fail open", () => {
    const p = (name: string, failureMode: string, shadow = false) => policy(name, {
      targetRefs: toWaypoint, shadow, global: { failureMode, rules: [{ descriptor: [{ remoteAddress: {} }], limit: { requests: 3, unit: "second" } }] },
    });
    const c = limitsFor([p("a-open", "open"), p("b-closed", "closed"), p("c-dry", "closed", true)], "ratings", { service: { host: "10.0.0.9", port: 18081, timeoutMs: 250 } });
    const out = json(c);
    assert.deepEqual(out.filters.map((f) => [f.typed_config.stage, f.typed_config.failure_mode_deny, f.typed_config.status_on_error, f.typed_config.timeout]), [
      [2, undefined, undefined, "0.250s"],
      [3, true, { code: "ServiceUnavailable" }, "0.250s"],
    ]);
    assert.deepEqual(out.rateLimits.map((r) => [(r as { stage: number }).stage, ((r as { actions: { generic_key?: { descriptor_value: string } }[] }).actions[0]!.generic_key!.descriptor_value)]), [
      [2, "bookinfo/a-open/#0"], [2, "bookinfo/c-dry/#0"], [3, "bookinfo/b-closed/#0"],
    ]);
    assert.deepEqual((out.rateLimits[0] as { actions: unknown[] }).actions.slice(1), [svcEntry("ratings.bookinfo.svc.cluster.local"), { remote_address: {} }]);
    assert.deepEqual(out.clusters.map((x) => [(x as { name: string }).name, (x as { type: string }).type]), [["outbound|18081||10.0.0.9", "STATIC"]]);
    assert.deepEqual(c.conditions.map((x) => [x.resource.name, x.reason]), [["c-dry", "ShadowFailsOpen"]]);
  });

  it("turns x-ratelimit headers off when any enforced policy of the filter asks, and says so to the others", () => {
    const quiet = policy("quiet", { targetRefs: toService(), responseHeaders: false, global: { rules: [{ descriptor: [{ path: {} }], limit: { requests: 1, unit: "hour" } }] } });
    const loud = policy("loud", { targetRefs: toWaypoint, global: { rules: [{ descriptor: [{ path: {} }], limit: { requests: 1, unit: "hour" } }] } });
    const c = limitsFor([quiet, loud]);
    assert.equal(json(c).filters[0]!.typed_config.enable_x_ratelimit_headers, undefined);
    assert.deepEqual(c.conditions.map((x) => [x.resource.name, x.reason]), [["loud", "HeadersOff"]]);
    assert.match(c.conditions[0]!.message, /bookinfo\/quiet .* sets responseHeaders: false \(at waypoint bookinfo\/waypoint, service reviews\.bookinfo\.svc\.cluster\.local\)/);
  });

  it("finds policies attached to the waypoint and to the service, and nothing else", () => {
    const m = buildModel([...mesh,
      policy("wp", { targetRefs: toWaypoint, global: { rules: [{ limit: { requests: 1, unit: "second" } }] } }),
      policy("other", { targetRefs: toService("ratings"), global: { rules: [{ limit: { requests: 1, unit: "second" } }] } }),
      reviews,
    ]);
    const svc = (n: string) => m.services.find((s) => s.name === n)!;
    assert.deepEqual(rateLimitPoliciesFor(m, m.waypoints[0]!, svc("reviews")).map((p) => p.key.name), ["reviews", "wp"]);
    assert.deepEqual(rateLimitPoliciesFor(m, m.waypoints[0]!, svc("ratings")).map((p) => p.key.name), ["other", "wp"]);
  });

  it("limits nothing on a TCP-only service, and says why", () => {
    const c = limitsFor([policy("p", { targetRefs: toService("db"), local: { rules: [{ limit: { requests: 1, unit: "second" } }] } })], "db");
    assert.deepEqual([c.httpFilters, c.routeRateLimits, c.clusters], [[], [], []]);
    assert.deepEqual(c.conditions.map((x) => [x.status, x.reason]), [["False", "NotHTTP"]]);
  });

  it("returns nothing when no policy applies", () => {
    assert.deepEqual(limitsFor([]), { httpFilters: [], routeRateLimits: [], clusters: [], conditions: [] });
  });

  it("leaves out a local rule whose descriptor entry has no value (defence in depth: the API rejects it)", () => {
    const c = limitsFor([policy("p", { targetRefs: toService(), local: { rules: [{ name: "bad", descriptor: [{ header: { name: "x-user" } }], limit: { requests: 1, unit: "second" } }] } })]);
    assert.deepEqual(c.httpFilters, []);
    assert.deepEqual(c.conditions.map((x) => [x.status, x.reason]), [["False", "UnsupportedValue"]]);
    assert.match(c.conditions[0]!.message, /spec\.local\.rules\[0\]\.descriptor\[0\]: a local rule needs a value/);
  });
});

describe("shared descriptor derivation", () => {
  it("derives ids, keys and canonical values the same way for the translator and the service", () => {
    const p = policy("p", {
      targetRefs: toService(),
      global: {
        failureMode: "closed",
        rules: [
          { descriptor: [{ sourcePrincipal: { value: "spiffe://td/ns/a/sa/b" } }, { path: { value: "/x?y" } }], limit: { requests: 2, unit: "minute" } },
          { name: "cidr6", descriptor: [{ remoteAddress: { value: "2001:0db8:0:0:1::/64" } }], limit: { requests: 2, unit: "hour" } },
        ],
      },
    });
    const [a, b] = compileRules(p, "global");
    assert.deepEqual(a!.entries, [
      { kind: "rule", key: "waystation.io/rule", value: "bookinfo/p/#0" },
      { kind: "service", key: "waystation.io/service" },
      { kind: "sourcePrincipal", key: "source.principal", value: "spiffe://td/ns/a/sa/b" },
      { kind: "path", key: "path", value: "/x" },
    ]);
    assert.deepEqual([a!.failureMode, a!.shadow, a!.responseHeaders, a!.limit], ["closed", false, true, { requests: 2, unit: "minute" }]);
    assert.deepEqual(b!.entries[2], { kind: "remoteAddress", key: "masked_remote_address", value: "2001:db8::/64", cidr: { length: 64, family: 6 } });
    assert.deepEqual(globalRules([reviews, p]).map((r) => r.id), ["bookinfo/p/#0", "bookinfo/p/cidr6", "bookinfo/reviews/export-per-caller", "bookinfo/reviews/per-user"]);
  });

  it("prints CIDRs as Envoy's masked_remote_address does", () => {
    const cases: [string, string][] = [
      ["10.1.2.3", "10.1.2.3/32"], ["10.1.2.3/16", "10.1.0.0/16"], ["0.0.0.0/0", "0.0.0.0/0"],
      ["2001:db8::1", "2001:db8::1/128"], ["2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128"],
      ["::/0", "::/0"], ["fe80::1:2/64", "fe80::/64"], ["1:0:1:1:1:1:1:1/128", "1:0:1:1:1:1:1:1/128"],
    ];
    for (const [input, want] of cases) assert.equal(canonicalCidr(input)?.value, want, input);
    assert.equal(canonicalCidr("nope"), undefined);
  });
});
