/* eslint-disable @typescript-eslint/no-explicit-any -- Envoy JSON is inspected freely */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson } from "@bufbuild/protobuf";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { formatValidationError, registry, validateResource } from "../validate/index.js";
import { buildRouteConfiguration, routePolicyFilters } from "./envoyRoutes.js";
import type { BackendIR, ClusterResolver, RouteIR } from "./ir.js";

const key = { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "ns", name: "r" };
const resolve: ClusterResolver = (b) => (b.host.startsWith("missing") ? { error: `${b.host} is not served here` } : { cluster: `c|${b.port ?? 80}|${b.subset ?? ""}|${b.host}` });
const backend = (host: string, weight = 1, extra: Partial<BackendIR> = {}): BackendIR => ({ host, weight, path: ["spec", "b", host], ...extra });
const fwd = (backends: BackendIR[], extra: Partial<Extract<RouteIR["action"], { kind: "forward" }>> = {}): RouteIR["action"] => ({ kind: "forward", backends, mirrors: [], ...extra });
const route = (name: string, action: RouteIR["action"], extra: Partial<RouteIR> = {}): RouteIR => ({ name, source: { key, path: ["spec", "rules", 0] }, matches: [], action, ...extra });

function build(routes: RouteIR[]) {
  const b = buildRouteConfiguration({ name: "rc", virtualHost: "inbound|http|80", domains: ["*"], routes, resolve });
  const v = validateResource(RouteConfigurationSchema, b.routeConfig);
  assert.deepEqual(v.errors.map(formatValidationError), []);
  const json = toJson(RouteConfigurationSchema, b.routeConfig, { registry, useProtoFieldName: true }) as any;
  return { ...b, json, routes: json.virtual_hosts[0].routes as any[] };
}

describe("buildRouteConfiguration", () => {
  it("builds matches: exact, prefix, segment prefix, regex, case, headers, query", () => {
    const { routes } = build([route("m", fwd([backend("a")]), {
      matches: [
        { path: { kind: "exact", value: "/x", ignoreCase: true }, headers: [], queryParams: [] },
        { path: { kind: "prefix", value: "/p" }, headers: [], queryParams: [] },
        { path: { kind: "segmentPrefix", value: "/seg/" }, headers: [], queryParams: [] },
        { path: { kind: "segmentPrefix", value: "/" }, headers: [], queryParams: [] },
        { path: { kind: "regex", value: "/r/[0-9]+" }, headers: [
          { name: "x-exact", value: { exact: "v", ignoreCase: true } },
          { name: "x-prefix", value: { prefix: "p" } },
          { name: "x-suffix", value: { suffix: "s" } },
          { name: "x-re", value: { regex: "a.*" } },
          { name: "x-present" },
          { name: "x-absent", invert: true },
        ], queryParams: [{ name: "q", value: { exact: "1" } }, { name: "flag" }] },
      ],
    })]);
    assert.equal(routes.length, 5);
    assert.deepEqual(routes[0].match, { path: "/x", case_sensitive: false });
    assert.deepEqual(routes[1].match, { prefix: "/p" });
    assert.deepEqual(routes[2].match, { path_separated_prefix: "/seg" });
    assert.deepEqual(routes[3].match, { prefix: "/" });
    assert.deepEqual(routes[4].match.safe_regex, { regex: "/r/[0-9]+" });
    assert.deepEqual(routes[4].match.headers, [
      { name: "x-exact", string_match: { exact: "v", ignore_case: true } },
      { name: "x-prefix", string_match: { prefix: "p" } },
      { name: "x-suffix", string_match: { suffix: "s" } },
      { name: "x-re", string_match: { safe_regex: { regex: "a.*" } } },
      { name: "x-present", present_match: true },
      { name: "x-absent", present_match: true, invert_match: true },
    ]);
    assert.deepEqual(routes[4].match.query_parameters, [{ name: "q", string_match: { exact: "1" } }, { name: "flag", present_match: true }]);
  });

  it("sends a single backend to its cluster with a disabled timeout", () => {
    const { routes } = build([route("one", fwd([backend("a", 1, { port: 8080 })]))]);
    assert.deepEqual(routes[0].route, { cluster: "c|8080||a", timeout: "0s" });
  });

  it("splits by weight, drops weight 0, keeps per-backend header edits", () => {
    const { routes } = build([route("split", fwd([
      backend("a", 90, { requestHeaders: { set: [{ name: "x-v", value: "a" }], add: [{ name: "x-a", value: "1" }], remove: ["x-r"] } }),
      backend("b", 10, { responseHeaders: { set: [], add: [], remove: ["server"] } }),
      backend("c", 0),
    ]))]);
    assert.deepEqual(routes[0].route.weighted_clusters.clusters, [
      { name: "c|80||a", weight: 90, request_headers_to_add: [
        { header: { key: "x-v", value: "a" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
        { header: { key: "x-a", value: "1" } },
      ], request_headers_to_remove: ["x-r"] },
      { name: "c|80||b", weight: 10, response_headers_to_remove: ["server"] },
    ]);
  });

  it("answers 500 for the share of a backend that does not resolve", () => {
    const b = build([route("partial", fwd([backend("a", 3), backend("missing", 1), backend("gone", 1, { error: "Service ns/gone not found" })]))]);
    const clusters = b.routes[0].route.weighted_clusters.clusters;
    // The two unresolved backends share one aborting entry with their summed weight (2 of 5).
    assert.equal(clusters.length, 2);
    assert.deepEqual([clusters[0].name, clusters[0].weight, clusters[0].typed_per_filter_config], ["c|80||a", 3, undefined]);
    assert.equal(clusters[1].name, "c|80||a");
    assert.equal(clusters[1].weight, 2);
    assert.equal(clusters[1].typed_per_filter_config["envoy.filters.http.fault"].abort.http_status, 500);
    assert.equal(clusters[1].typed_per_filter_config["envoy.filters.http.fault"].abort.percentage.numerator, 100);
    assert.equal(b.needsFault, true);
    // Only the resolver's error is new; the source already reported the backend it marked.
    assert.deepEqual(b.notes.map((n) => n.message), ["missing is not served here"]);
  });

  it("answers 500 when no backend resolves, or all weights are 0", () => {
    const { routes } = build([
      route("none", fwd([backend("missing")])),
      route("zero", fwd([backend("a", 0)])),
      route("empty", fwd([])),
    ]);
    assert.deepEqual(routes[0].direct_response, { status: 500, body: { inline_string: "missing is not served here\n" } });
    assert.equal(routes[1].direct_response.body.inline_string, "all backends have weight 0\n");
    assert.equal(routes[2].direct_response.status, 500);
  });

  it("sets route-level header edits, timeout, retries, rewrites and mirrors", () => {
    const { routes } = build([route("all", fwd([backend("a")], {
      timeoutMs: 1500,
      retry: { attempts: 3, perTryTimeoutMs: 500, retryOn: "5xx", retriableStatusCodes: [502, 503], backoffBaseMs: 25 },
      rewrite: { prefix: "/new", authority: "a.example" },
      mirrors: [{ backend: { host: "m", path: [] }, percent: 25 }, { backend: { host: "m2", path: [] }, percent: 0.5 }, { backend: { host: "missing", path: [] } }],
    }), {
      matches: [{ path: { kind: "prefix", value: "/old" }, headers: [], queryParams: [] }],
      requestHeaders: { set: [{ name: "x-s", value: "1" }], add: [], remove: ["x-gone"] },
      responseHeaders: { set: [], add: [{ name: "x-r", value: "2" }], remove: [] },
    })]);
    const r = routes[0];
    assert.deepEqual(r.route, {
      cluster: "c|80||a",
      prefix_rewrite: "/new",
      host_rewrite_literal: "a.example",
      timeout: "1.500s",
      retry_policy: {
        retry_on: "5xx,retriable-status-codes", num_retries: 3, per_try_timeout: "0.500s",
        retriable_status_codes: [502, 503], retry_back_off: { base_interval: "0.025s" },
      },
      request_mirror_policies: [
        { cluster: "c|80||m", runtime_fraction: { default_value: { numerator: 25 } } },
        { cluster: "c|80||m2", runtime_fraction: { default_value: { numerator: 5000, denominator: "MILLION" } } },
      ],
    });
    assert.deepEqual(r.request_headers_to_add, [{ header: { key: "x-s", value: "1" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }]);
    assert.deepEqual(r.request_headers_to_remove, ["x-gone"]);
    assert.deepEqual(r.response_headers_to_add, [{ header: { key: "x-r", value: "2" } }]);
  });

  it("uses Istio's default retry_on and skips a retry policy with 0 attempts", () => {
    const { routes } = build([
      route("d", fwd([backend("a")], { retry: { attempts: 2, retriableStatusCodes: [] } })),
      route("off", fwd([backend("a")], { retry: { attempts: 0, retriableStatusCodes: [] } })),
    ]);
    assert.equal(routes[0].route.retry_policy.retry_on, "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes");
    assert.equal(routes[1].route.retry_policy, undefined);
  });

  it("rewrites a full path, a regex, and segment prefixes as Gateway API asks", () => {
    const seg = (value: string) => [{ path: { kind: "segmentPrefix" as const, value }, headers: [], queryParams: [] }];
    const { routes } = build([
      route("full", fwd([backend("a")], { rewrite: { fullPath: "/one" } })),
      route("re", fwd([backend("a")], { rewrite: { regex: { pattern: "^/a/(.*)$", substitution: "/b/\\1" } } })),
      route("strip", fwd([backend("a")], { rewrite: { prefix: "/" } }), { matches: seg("/foo/") }),
      route("swap", fwd([backend("a")], { rewrite: { prefix: "/xyz/" } }), { matches: seg("/foo") }),
      route("root", fwd([backend("a")], { rewrite: { prefix: "/xyz" } }), { matches: seg("/") }),
    ]);
    assert.deepEqual(routes[0].route.regex_rewrite, { pattern: { regex: "^/.*$" }, substitution: "/one" });
    assert.deepEqual(routes[1].route.regex_rewrite, { pattern: { regex: "^/a/(.*)$" }, substitution: "/b/\\1" });
    assert.deepEqual(routes[2].route.regex_rewrite, { pattern: { regex: "^/foo/*" }, substitution: "/" });
    assert.equal(routes[3].route.prefix_rewrite, "/xyz");
    assert.deepEqual(routes[4].route.regex_rewrite, { pattern: { regex: "^/" }, substitution: "/xyz/" });
  });

  it("builds redirects and direct responses", () => {
    const { routes } = build([
      route("r1", { kind: "redirect", scheme: "https", host: "h.example", port: 443, path: { full: "/new" }, status: 301 }),
      route("r2", { kind: "redirect", path: { prefix: "/v2" }, status: 308 }, { matches: [{ path: { kind: "segmentPrefix", value: "/v1" }, headers: [], queryParams: [] }] }),
      route("r3", { kind: "redirect", status: 302 }),
      route("d", { kind: "direct", status: 418, body: "teapot" }),
      route("u", { kind: "unresolved", status: 500, reason: "filter not supported" }),
    ]);
    // 301 (MOVED_PERMANENTLY) is the enum default, so proto3 JSON leaves it out.
    assert.deepEqual(routes[0].redirect, { scheme_redirect: "https", host_redirect: "h.example", port_redirect: 443, path_redirect: "/new" });
    assert.deepEqual(routes[1].redirect, { prefix_rewrite: "/v2", response_code: "PERMANENT_REDIRECT" });
    assert.deepEqual(routes[2].redirect, { response_code: "FOUND" });
    assert.deepEqual(routes[3].direct_response, { status: 418, body: { inline_string: "teapot" } });
    assert.deepEqual(routes[4].direct_response, { status: 500, body: { inline_string: "filter not supported\n" } });
  });

  it("puts fault and CORS settings in typed_per_filter_config and asks for the filters", () => {
    const b = build([route("p", fwd([backend("a")]), {
      fault: { delay: { fixedDelayMs: 2000, percent: 10 }, abort: { grpcStatus: 14, percent: 0.1 } },
      cors: { allowOrigins: [{ exact: "https://a.example" }, { regex: "https://.*\\.b\\.example" }], allowMethods: ["GET", "POST"], allowHeaders: ["x-a"], exposeHeaders: ["x-b"], maxAgeSeconds: 60, allowCredentials: true },
    })]);
    const cfg = b.routes[0].typed_per_filter_config;
    assert.deepEqual(cfg["envoy.filters.http.fault"], {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
      delay: { fixed_delay: "2s", percentage: { numerator: 10 } },
      abort: { grpc_status: 14, percentage: { numerator: 1000, denominator: "MILLION" } },
    });
    assert.deepEqual(cfg["envoy.filters.http.cors"], {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
      allow_origin_string_match: [{ exact: "https://a.example" }, { safe_regex: { regex: "https://.*\\.b\\.example" } }],
      allow_methods: "GET,POST", allow_headers: "x-a", expose_headers: "x-b", max_age: "60", allow_credentials: true,
    });
    assert.equal(b.needsFault, true);
    assert.equal(b.needsCors, true);
    assert.deepEqual(routePolicyFilters(b).map((f) => f.name), ["envoy.filters.http.fault", "envoy.filters.http.cors"]);
  });

  it("drops mutations of pseudo-headers and Host with a note", () => {
    const b = build([route("h", fwd([backend("a")]), { requestHeaders: { set: [{ name: "Host", value: "x" }], add: [], remove: [":path"] } })]);
    assert.equal(b.routes[0].request_headers_to_add, undefined);
    assert.equal(b.notes.length, 2);
  });

  it("adds no catch-all: unmatched requests get Envoy's 404", () => {
    const { routes } = build([route("only", fwd([backend("a")]), { matches: [{ path: { kind: "exact", value: "/x" }, headers: [], queryParams: [] }] })]);
    assert.equal(routes.length, 1);
    assert.equal(routes[0].match.path, "/x");
  });
});
