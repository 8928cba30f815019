/**
 * VirtualService -> route IR at a waypoint: table tests on the IR objects (selection, merging and
 * order, matches, backends, retries, timeouts, faults, mirrors, CORS, rewrites, redirects, direct
 * responses, delegation) and on the TCP/TLS routes and the mesh-wide conditions.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LoadedResource } from "@waystation/api";
import { buildModel, type MeshModel } from "@waystation/model";
import { namespace, resource, service, waypointGateway } from "../../../model/src/testing.js";
import type { BackendIR, RouteIR } from "./ir.js";
import { virtualServiceRoutes, virtualServiceStatus, virtualServiceTcpRoute, type VirtualServiceRoutes } from "./virtualService.js";

const H = "reviews.ns.svc.cluster.local";

function vs(name: string, spec: Record<string, unknown>, ns = "ns", created?: string): LoadedResource {
  const r = resource("VirtualService", ns, name, spec);
  if (created) r.object.metadata.creationTimestamp = created;
  return r;
}

const multiPort = resource("Service", "ns", "multi", { selector: { app: "multi" }, clusterIP: "10.96.0.20",
  ports: [{ name: "http", port: 80 }, { name: "http-admin", port: 8080 }, { name: "tcp-db", port: 5432 }] });

function mesh(extra: LoadedResource[]): MeshModel {
  return buildModel([
    namespace("ns", { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" }),
    namespace("other", { "istio.io/dataplane-mode": "ambient" }),
    waypointGateway("ns", "waypoint"),
    service("ns", "reviews", {}, 9080, "10.96.0.10"),
    service("ns", "ratings", {}, 9080, "10.96.0.11"),
    service("other", "details", { "istio.io/use-waypoint": "waypoint", "istio.io/use-waypoint-namespace": "ns" }, 9080, "10.96.0.12"),
    multiPort,
    ...extra,
  ]);
}

/** The VirtualService routes of host:port at the waypoint. */
function run(extra: LoadedResource[], host = H, port?: number): VirtualServiceRoutes | undefined {
  const model = mesh(extra);
  const svc = model.services.find((s) => s.hostname === host);
  assert.ok(svc, `service ${host}`);
  const p = port === undefined ? svc.ports[0]! : svc.ports.find((x) => x.port === port)!;
  return virtualServiceRoutes(model, model.waypoints[0]!, svc, p);
}

/** The routes of a VirtualService `reviews` with these http rules, on reviews:9080. */
function routesOf(http: unknown[], extra: Record<string, unknown> = {}): RouteIR[] {
  return run([vs("reviews", { hosts: ["reviews"], http, ...extra })])!.routes;
}

const key = (name: string, ns = "ns") => ({ group: "networking.istio.io", kind: "VirtualService", namespace: ns, name });
const backend = (host: string, port: number, weight: number, path: (string | number)[], extra: Partial<BackendIR> = {}): BackendIR =>
  ({ host, port, weight, path, ...extra });
const defaultRetry = { attempts: 2, retriableStatusCodes: [503] };
const forwardTo = (b: BackendIR[], extra: Record<string, unknown> = {}) => ({ kind: "forward", backends: b, retry: defaultRetry, mirrors: [], ...extra });

describe("which VirtualServices apply at the waypoint", () => {
  const cases: { name: string; resources: LoadedResource[]; host?: string; applies: boolean }[] = [
    { name: "short host in the service's namespace", resources: [vs("a", { hosts: ["reviews"], http: [{ route: [{ destination: { host: "reviews" } }] }] })], applies: true },
    { name: "FQDN host", resources: [vs("a", { hosts: [H], http: [{ route: [{ destination: { host: H } }] }] })], applies: true },
    { name: "wildcard host", resources: [vs("a", { hosts: ["*.ns.svc.cluster.local"], gateways: ["gw", "mesh"], http: [{ route: [{ destination: { host: H } }] }] })], applies: true },
    { name: "bound to gateways only", resources: [vs("a", { hosts: ["reviews"], gateways: ["gw"], http: [{ route: [{ destination: { host: "reviews" } }] }] })], applies: false },
    { name: "in a third namespace", resources: [vs("a", { hosts: [H], http: [{ route: [{ destination: { host: H } }] }] }, "other")], applies: false },
    { name: "waypoint's namespace, for a service elsewhere", host: "details.other.svc.cluster.local", applies: true,
      resources: [vs("a", { hosts: ["details.other.svc.cluster.local"], http: [{ route: [{ destination: { host: "details.other.svc.cluster.local" } }] }] })] },
    { name: "not exported to the waypoint's namespace", host: "details.other.svc.cluster.local", applies: false,
      resources: [vs("a", { hosts: ["details.other.svc.cluster.local"], exportTo: ["."], http: [{ route: [{ destination: { host: "details.other.svc.cluster.local" } }] }] }, "other")] },
    { name: "a two-label host is not a short name (Istio): reviews.ns is not expanded", resources: [vs("a", { hosts: ["reviews.ns"], http: [{ route: [{ destination: { host: H } }] }] })], applies: false },
    { name: "only tcp rules: nothing for an HTTP chain", resources: [vs("a", { hosts: ["reviews"], tcp: [{ route: [{ destination: { host: "reviews" } }] }] })], applies: false },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(run(c.resources, c.host) !== undefined, c.applies));
  }
});

describe("VirtualService http rules -> route IR", () => {
  it("header match then weighted split over subsets (examples/traffic.yaml)", () => {
    const routes = routesOf([
      { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], route: [{ destination: { host: "reviews", subset: "v2" } }] },
      { name: "split", route: [{ destination: { host: "reviews", subset: "v1" }, weight: 50 }, { destination: { host: "reviews", subset: "v3" }, weight: 50 }] },
    ]);
    assert.deepEqual(routes, [
      {
        name: "ns.reviews.jason", source: { key: key("reviews"), path: ["spec", "http", 0, "match", 0] },
        matches: [{ headers: [{ name: "end-user", value: { exact: "jason" } }], queryParams: [] }],
        action: forwardTo([backend(H, 9080, 100, ["spec", "http", 0, "route", 0, "destination"], { subset: "v2" })]),
      },
      {
        name: "ns.reviews.split", source: { key: key("reviews"), path: ["spec", "http", 1] }, matches: [],
        action: forwardTo([
          backend(H, 9080, 50, ["spec", "http", 1, "route", 0, "destination"], { subset: "v1" }),
          backend(H, 9080, 50, ["spec", "http", 1, "route", 1, "destination"], { subset: "v3" }),
        ]),
      },
    ]);
  });

  it("translates every kind of match; headers sorted, then :method, :authority, :scheme", () => {
    const [r] = routesOf([{ match: [{
      name: "m", uri: { prefix: "/api" }, ignoreUriCase: true,
      method: { exact: "GET" }, authority: { prefix: "reviews" }, scheme: { exact: "https" },
      headers: { "x-b": { regex: "v[0-9]+" }, "x-a": {}, "x-star": { regex: "*" } },
      withoutHeaders: { "x-debug": { exact: "1" }, "x-none": {} },
      queryParams: { z: { exact: "1" }, a: { prefix: "p" }, present: {} },
    }], route: [{ destination: { host: "reviews" } }] }]);
    assert.equal(r!.name, "ns.reviews.0.m");
    assert.deepEqual(r!.matches, [{
      path: { kind: "prefix", value: "/api", ignoreCase: true },
      headers: [
        { name: "x-a" }, { name: "x-b", value: { regex: "v[0-9]+" } }, { name: "x-debug", value: { exact: "1" }, invert: true },
        { name: "x-none", invert: true }, { name: "x-star" },
        { name: ":method", value: { exact: "GET" } }, { name: ":authority", value: { prefix: "reviews" } }, { name: ":scheme", value: { exact: "https" } },
      ],
      queryParams: [{ name: "a", value: { prefix: "p" } }, { name: "present" }, { name: "z", value: { exact: "1" } }],
    }]);
  });

  it("exact and regex paths", () => {
    const routes = routesOf([{ match: [{ uri: { exact: "/x" } }, { uri: { regex: "/r/.+" }, ignoreUriCase: true }], route: [{ destination: { host: "reviews" } }] }]);
    assert.deepEqual(routes.map((r) => r.matches[0]!.path), [{ kind: "exact", value: "/x" }, { kind: "regex", value: "/r/.+" }]);
    assert.deepEqual(routes.map((r) => r.source.path), [["spec", "http", 0, "match", 0], ["spec", "http", 0, "match", 1]]);
  });

  it("keeps a port match only on its own port, and gateway matches only for mesh", () => {
    const model = [vs("multi", { hosts: ["multi"], http: [
      { name: "admin", match: [{ port: 8080, uri: { prefix: "/admin" } }], route: [{ destination: { host: "multi", port: { number: 8080 } } }] },
      { name: "gw", match: [{ gateways: ["ingress"], uri: { prefix: "/gw" } }, { gateways: ["mesh"], uri: { prefix: "/mesh" } }], route: [{ destination: { host: "multi" } }] },
    ] })];
    const on80 = run(model, "multi.ns.svc.cluster.local", 80)!.routes;
    assert.deepEqual(on80.map((r) => r.name), ["ns.multi.gw"]);
    assert.deepEqual(on80[0]!.matches[0]!.path, { kind: "prefix", value: "/mesh" });
    const on8080 = run(model, "multi.ns.svc.cluster.local", 8080)!.routes;
    assert.deepEqual(on8080.map((r) => r.name), ["ns.multi.admin", "ns.multi.gw"]);
  });

  it("drops matches on source labels or namespace, with a condition", () => {
    const out = run([vs("reviews", { hosts: ["reviews"], http: [
      { match: [{ sourceLabels: { app: "productpage" } }, { sourceNamespace: "ns", uri: { prefix: "/x" } }], route: [{ destination: { host: "reviews", subset: "v2" } }] },
      { route: [{ destination: { host: "reviews" } }] },
    ] })])!;
    assert.deepEqual(out.routes.map((r) => r.name), ["ns.reviews.1"]);
    assert.deepEqual(out.conditions.map((c) => [c.type, c.status, c.reason, c.message]), [
      ["PartiallyInvalid", "True", "SourceMatchDropped", "spec.http[0].match[0]: matches on sourceLabels, which waypoint ns/waypoint cannot evaluate (it sees every client through ztunnel); the match is dropped, as Istio does since 1.25"],
      ["PartiallyInvalid", "True", "SourceMatchDropped", "spec.http[0].match[1]: matches on sourceNamespace, which waypoint ns/waypoint cannot evaluate (it sees every client through ztunnel); the match is dropped, as Istio does since 1.25"],
    ]);
  });

  it("resolves destination hosts and ports as Istio does", () => {
    const out = run([vs("reviews", { hosts: ["reviews"], http: [{ route: [
      { destination: { host: "ratings" }, weight: 40 },
      { destination: { host: "multi", port: { number: 8080 } }, weight: 30 },
      { destination: { host: "multi" }, weight: 20 },
      { destination: { host: "httpbin.org" }, weight: 10 },
      { destination: { host: "reviews", subset: "never" }, weight: 0 },
    ] }] })])!;
    const b = (out.routes[0]!.action as { backends: BackendIR[] }).backends;
    // ratings has one port; multi has three, so without a port it takes the chain's (9080);
    // httpbin.org is not a short name; zero weights are dropped from a split.
    assert.deepEqual(b.map((x) => [x.host, x.port, x.weight]), [
      ["ratings.ns.svc.cluster.local", 9080, 40], ["multi.ns.svc.cluster.local", 8080, 30], ["multi.ns.svc.cluster.local", 9080, 20], ["httpbin.org", 9080, 10],
    ]);
  });

  it("header operations on the rule and per destination; :authority becomes a host rewrite", () => {
    const [r] = routesOf([{
      headers: { request: { set: { "x-b": "2", ":authority": "internal.example", "x-a": "1" }, add: { "x-c": "3" }, remove: ["x-d"] }, response: { remove: ["server"] } },
      route: [{ destination: { host: "reviews" }, headers: { request: { set: { "x-dest": "v" } } } }],
    }]);
    assert.deepEqual(r!.requestHeaders, { set: [{ name: "x-a", value: "1" }, { name: "x-b", value: "2" }], add: [{ name: "x-c", value: "3" }], remove: ["x-d"] });
    assert.deepEqual(r!.responseHeaders, { set: [], add: [], remove: ["server"] });
    const a = r!.action as { rewrite: unknown; backends: BackendIR[] };
    assert.deepEqual(a.rewrite, { authority: "internal.example" });
    assert.deepEqual(a.backends[0]!.requestHeaders, { set: [{ name: "x-dest", value: "v" }], add: [], remove: [] });
  });

  it("an authority per destination: applied for one destination, reported for a split", () => {
    const [one] = routesOf([{ route: [{ destination: { host: "reviews" }, headers: { request: { set: { host: "a.example" } } } }] }]);
    assert.deepEqual((one!.action as { rewrite: unknown }).rewrite, { authority: "a.example" });
    const out = run([vs("reviews", { hosts: ["reviews"], http: [{ route: [
      { destination: { host: "reviews", subset: "v1" }, weight: 50, headers: { request: { set: { host: "a.example" } } } },
      { destination: { host: "reviews", subset: "v2" }, weight: 50 },
    ] }] })])!;
    assert.equal((out.routes[0]!.action as { rewrite?: unknown }).rewrite, undefined);
    assert.deepEqual(out.conditions.map((c) => c.reason), ["UnsupportedValue"]);
  });

  const retryCases: { name: string; retries: unknown; want: unknown }[] = [
    { name: "no retries: Istio's default policy", retries: undefined, want: defaultRetry },
    { name: "attempts 0 disables retries", retries: { attempts: 0 }, want: undefined },
    { name: "attempts only keeps the default conditions", retries: { attempts: 5, perTryTimeout: "2s" }, want: { attempts: 5, retriableStatusCodes: [503], perTryTimeoutMs: 2000 } },
    { name: "status codes in retryOn", retries: { attempts: 3, retryOn: "5xx,503,reset,429" },
      want: { attempts: 3, retryOn: "5xx,reset,retriable-status-codes", retriableStatusCodes: [503, 429] } },
    { name: "retryOn without codes replaces the default codes", retries: { attempts: 3, retryOn: "gateway-error,connect-failure", backoff: "25ms" },
      want: { attempts: 3, retryOn: "gateway-error,connect-failure", retriableStatusCodes: [], backoffBaseMs: 25 } },
  ];
  for (const c of retryCases) {
    it(`retries: ${c.name}`, () => {
      const [r] = routesOf([{ route: [{ destination: { host: "reviews" } }], ...(c.retries ? { retries: c.retries } : {}) }]);
      assert.deepEqual((r!.action as { retry?: unknown }).retry, c.want);
    });
  }

  it("timeout", () => {
    const [r] = routesOf([{ route: [{ destination: { host: "reviews" } }], timeout: "1.5s" }]);
    assert.equal((r!.action as { timeoutMs?: number }).timeoutMs, 1500);
  });

  const faultCases: { name: string; fault: unknown; want: unknown }[] = [
    { name: "delay with percentage", fault: { delay: { fixedDelay: "5s", percentage: { value: 12.5 } } }, want: { delay: { fixedDelayMs: 5000, percent: 12.5 } } },
    { name: "delay with the deprecated percent", fault: { delay: { fixedDelay: "100ms", percent: 30 } }, want: { delay: { fixedDelayMs: 100, percent: 30 } } },
    { name: "delay without a percentage delays nothing", fault: { delay: { fixedDelay: "1s" } }, want: { delay: { fixedDelayMs: 1000, percent: 0 } } },
    { name: "HTTP abort", fault: { abort: { httpStatus: 503, percentage: { value: 10 } } }, want: { abort: { httpStatus: 503, percent: 10 } } },
    { name: "gRPC abort by name", fault: { abort: { grpcStatus: "UNAVAILABLE", percentage: { value: 100 } } }, want: { abort: { grpcStatus: 14, percent: 100 } } },
  ];
  for (const c of faultCases) {
    it(`fault: ${c.name}`, () => assert.deepEqual(routesOf([{ route: [{ destination: { host: "reviews" } }], fault: c.fault }])[0]!.fault, c.want));
  }

  it("mirrors: mirror with a percentage, mirrors[], 0% dropped", () => {
    const [r] = routesOf([{
      route: [{ destination: { host: "reviews", subset: "v1" } }],
      mirror: { host: "reviews", subset: "v2" }, mirrorPercentage: { value: 25 },
      mirrors: [{ destination: { host: "ratings" } }, { destination: { host: "multi", port: { number: 80 } }, percentage: { value: 0 } }],
    }]);
    assert.deepEqual((r!.action as { mirrors: unknown }).mirrors, [
      { backend: { host: H, port: 9080, subset: "v2", path: ["spec", "http", 0, "mirror"] }, percent: 25 },
      { backend: { host: "ratings.ns.svc.cluster.local", port: 9080, path: ["spec", "http", 0, "mirrors", 0, "destination"] } },
    ]);
    const [deprecated] = routesOf([{ route: [{ destination: { host: "reviews" } }], mirror: { host: "ratings" }, mirrorPercent: 0 }]);
    assert.deepEqual((deprecated!.action as { mirrors: unknown }).mirrors, []);
  });

  it("CORS: allowOrigins, or the deprecated allowOrigin as exact matches", () => {
    const [r] = routesOf([{ route: [{ destination: { host: "reviews" } }], corsPolicy: {
      allowOrigins: [{ exact: "https://a.example" }, { regex: "https://.*\\.b\\.example" }], allowMethods: ["GET", "POST"],
      allowHeaders: ["x-a"], exposeHeaders: ["x-b"], maxAge: "24h", allowCredentials: true,
    } }]);
    assert.deepEqual(r!.cors, { allowOrigins: [{ exact: "https://a.example" }, { regex: "https://.*\\.b\\.example" }], allowMethods: ["GET", "POST"],
      allowHeaders: ["x-a"], exposeHeaders: ["x-b"], maxAgeSeconds: 86400, allowCredentials: true });
    const [old] = routesOf([{ route: [{ destination: { host: "reviews" } }], corsPolicy: { allowOrigin: ["*"] } }]);
    assert.deepEqual(old!.cors, { allowOrigins: [{ exact: "*" }], allowMethods: [], allowHeaders: [], exposeHeaders: [] });
  });

  it("rewrites: uri (Envoy prefix_rewrite), uriRegexRewrite, authority", () => {
    const routes = routesOf([
      { match: [{ uri: { prefix: "/v1/" } }], rewrite: { uri: "/", authority: "new.example" }, route: [{ destination: { host: "reviews" } }] },
      { match: [{ uri: { exact: "/old" } }], rewrite: { uri: "/new" }, route: [{ destination: { host: "reviews" } }] },
      { rewrite: { uriRegexRewrite: { match: "^/a/(.*)$", rewrite: "/b/\\1" } }, route: [{ destination: { host: "reviews" } }] },
    ]);
    assert.deepEqual(routes.map((r) => (r.action as { rewrite?: unknown }).rewrite), [
      { prefix: "/", authority: "new.example" }, { prefix: "/new" }, { regex: { pattern: "^/a/(.*)$", substitution: "/b/\\1" } },
    ]);
  });

  const redirectCases: { name: string; redirect: unknown; want: unknown }[] = [
    { name: "defaults to 301", redirect: { uri: "/new", authority: "x.example" }, want: { kind: "redirect", host: "x.example", path: { full: "/new" }, status: 301 } },
    { name: "scheme and port; :443 on https is implied", redirect: { scheme: "https", port: 443, redirectCode: 308 }, want: { kind: "redirect", scheme: "https", status: 308 } },
    { name: "derivePort FROM_REQUEST_PORT is the chain's port", redirect: { authority: "y", derivePort: "FROM_REQUEST_PORT", redirectCode: 302 }, want: { kind: "redirect", host: "y", port: 9080, status: 302 } },
    { name: "an unsupported code answers 500", redirect: { uri: "/x", redirectCode: 300 }, want: { kind: "unresolved", status: 500, reason: "redirect code 300 is not supported" } },
  ];
  for (const c of redirectCases) {
    it(`redirect: ${c.name}`, () => {
      const [r] = routesOf([{ redirect: c.redirect, headers: { response: { set: { "x-r": "1" } } } }]);
      assert.deepEqual(r!.action, c.want);
      assert.deepEqual(r!.responseHeaders, { set: [{ name: "x-r", value: "1" }], add: [], remove: [] });
    });
  }

  it("direct responses with a string or base64 body", () => {
    const routes = routesOf([
      { match: [{ uri: { exact: "/s" } }], directResponse: { status: 418, body: { string: "teapot" } } },
      { match: [{ uri: { exact: "/b" } }], directResponse: { status: 200, body: { bytes: Buffer.from("{\"ok\":true}").toString("base64") } } },
      { directResponse: { status: 204 } },
    ]);
    assert.deepEqual(routes.map((r) => r.action), [
      { kind: "direct", status: 418, body: "teapot" }, { kind: "direct", status: 200, body: "{\"ok\":true}" }, { kind: "direct", status: 204 },
    ]);
  });
});

describe("merging and ordering", () => {
  it("concatenates the rules of several VirtualServices, oldest first, and stops after a catch-all", () => {
    const out = run([
      vs("b-late", { hosts: ["reviews"], http: [{ name: "late", route: [{ destination: { host: "reviews" } }] }] }, "ns", "2024-01-02T00:00:00Z"),
      vs("a-early", { hosts: ["reviews"], http: [{ name: "early", match: [{ uri: { prefix: "/e" } }], route: [{ destination: { host: "reviews", subset: "v1" } }] }] }, "ns", "2024-01-01T00:00:00Z"),
      vs("c-last", { hosts: ["reviews"], http: [{ name: "never", route: [{ destination: { host: "reviews" } }] }] }, "ns", "2024-01-03T00:00:00Z"),
    ])!;
    assert.deepEqual(out.routes.map((r) => r.name), ["ns.a-early.early", "ns.b-late.late"]);
    assert.deepEqual(out.sources.map((k) => k.name), ["a-early", "b-late", "c-last"]);
    assert.deepEqual(out.conditions.map((c) => [c.resource.name, c.reason, c.message]), [
      ["c-last", "RuleShadowed", "spec.http: never used for reviews.ns.svc.cluster.local:9080 at waypoint ns/waypoint: route ns.b-late.late (VirtualService ns/b-late) takes all traffic first"],
    ]);
  });

  it("without timestamps, orders by name then namespace (Istio sortConfigByCreationTime)", () => {
    const out = run([
      vs("z", { hosts: [H], http: [{ match: [{ uri: { prefix: "/z" } }], route: [{ destination: { host: H } }] }] }),
      vs("a", { hosts: [H], http: [{ match: [{ uri: { prefix: "/a" } }], route: [{ destination: { host: H } }] }] }),
    ])!;
    assert.deepEqual(out.routes.map((r) => r.name), ["ns.a.0", "ns.z.0"]);
  });

  it("a catch-all match ends the rule list even in the middle of a rule's matches", () => {
    const routes = routesOf([
      { match: [{ uri: { prefix: "/" } }, { uri: { prefix: "/x" } }], route: [{ destination: { host: "reviews" } }] },
      { route: [{ destination: { host: "reviews", subset: "v1" } }] },
    ]);
    assert.deepEqual(routes.map((r) => r.source.path), [["spec", "http", 0, "match", 0]]);
  });
});

describe("delegation", () => {
  const root = (http: unknown[]) => vs("root", { hosts: ["reviews"], http });
  const delegate = (name: string, http: unknown[], ns = "ns", exportTo?: string[]) => vs(name, { http, ...(exportTo ? { exportTo } : {}) }, ns);

  it("merges the delegate's rules into the root's matches, inheriting what they leave out", () => {
    const out = run([
      root([{ name: "api", match: [{ uri: { prefix: "/api" }, headers: { "x-team": { exact: "a" } } }], delegate: { name: "api-routes", namespace: "other" }, timeout: "9s" }]),
      delegate("api-routes", [
        { name: "v1", match: [{ uri: { prefix: "/api/v1" } }], route: [{ destination: { host: "details" } }] },
        { name: "bad", match: [{ uri: { prefix: "/other" } }], route: [{ destination: { host: "details" } }] },
        { route: [{ destination: { host: H } }], timeout: "1s" },
      ], "other"),
    ])!;
    assert.deepEqual(out.routes.map((r) => [r.name, r.source.key.name, r.source.path.join(".")]), [
      ["ns.root.api-v1", "api-routes", "spec.http.0.match.0"],
      ["ns.root.api", "api-routes", "spec.http.2.match.0"],
    ]);
    assert.deepEqual(out.routes[0]!.matches, [{ path: { kind: "prefix", value: "/api/v1" }, headers: [{ name: "x-team", value: { exact: "a" } }], queryParams: [] }]);
    // Hosts resolve in the delegate's namespace; an unset timeout comes from the root.
    const a0 = out.routes[0]!.action as { backends: BackendIR[]; timeoutMs: number };
    assert.equal(a0.backends[0]!.host, "details.other.svc.cluster.local");
    assert.equal(a0.timeoutMs, 9000);
    assert.equal((out.routes[1]!.action as { timeoutMs: number }).timeoutMs, 1000);
    assert.deepEqual(out.conditions.map((c) => [c.resource.name, c.reason]), [["api-routes", "DelegateConflict"]]);
  });

  it("a missing or unexported delegate answers 500, with a condition", () => {
    const out = run([
      root([
        { match: [{ uri: { prefix: "/gone" } }], delegate: { name: "gone" } },
        { match: [{ uri: { prefix: "/private" } }], delegate: { name: "private", namespace: "other" } },
      ]),
      delegate("private", [{ route: [{ destination: { host: H } }] }], "other", ["."]),
    ])!;
    assert.deepEqual(out.routes.map((r) => r.action), [
      { kind: "unresolved", status: 500, reason: "delegate VirtualService ns/gone does not exist (or has hosts, so it is not a delegate)" },
      { kind: "unresolved", status: 500, reason: "delegate VirtualService other/private is not exported to namespace ns" },
    ]);
    assert.deepEqual(out.conditions.map((c) => [c.type, c.status, c.reason]), [["ResolvedRefs", "False", "DelegateNotFound"], ["ResolvedRefs", "False", "DelegateNotFound"]]);
  });
});

describe("TCP and TLS rules", () => {
  it("weighted tcp backends for the chain's port", () => {
    const model = mesh([vs("db", { hosts: ["multi"], tcp: [
      { match: [{ port: 1 }], route: [{ destination: { host: "multi" } }] },
      { match: [{ port: 5432 }], route: [{ destination: { host: "multi", port: { number: 5432 } }, weight: 80 }, { destination: { host: "ratings" }, weight: 20 }] },
    ] })]);
    const svc = model.services.find((s) => s.name === "multi")!;
    const got = virtualServiceTcpRoute(model, model.waypoints[0]!, svc, svc.ports.find((p) => p.port === 5432)!);
    assert.deepEqual(got, { conditions: [], route: {
      name: "ns.db.tcp.1", source: { key: key("db"), path: ["spec", "tcp", 1] },
      backends: [
        backend("multi.ns.svc.cluster.local", 5432, 80, ["spec", "tcp", 1, "route", 0, "destination"]),
        backend("ratings.ns.svc.cluster.local", 9080, 20, ["spec", "tcp", 1, "route", 1, "destination"]),
      ],
    } });
  });

  it("tls rules come first, and only an SNI match on exactly the service host counts", () => {
    const model = mesh([
      vs("t", { hosts: [H], tls: [
        { match: [{ sniHosts: ["*.ns.svc.cluster.local"] }], route: [{ destination: { host: H, subset: "wild" } }] },
        { match: [{ sniHosts: [H] }], route: [{ destination: { host: H, subset: "sni" } }] },
      ], tcp: [{ route: [{ destination: { host: H, subset: "tcp" } }] }] }),
    ]);
    const svc = model.services.find((s) => s.hostname === H)!;
    const got = virtualServiceTcpRoute(model, model.waypoints[0]!, svc, svc.ports[0]!)!;
    assert.equal(got.route.name, "ns.t.tls.1");
    assert.equal(got.route.backends[0]!.subset, "sni");
  });
});

describe("virtualServiceStatus", () => {
  it("reports VirtualServices no waypoint applies", () => {
    const model = mesh([
      resource("Service", "plain", "web", { selector: { app: "web" }, clusterIP: "10.96.1.1", ports: [{ name: "http", port: 80 }] }),
      vs("web", { hosts: ["web"], http: [{ route: [{ destination: { host: "web" } }] }] }, "plain"),
      vs("third", { hosts: [H], http: [{ route: [{ destination: { host: H } }] }] }, "other"),
      vs("gw-only", { hosts: ["web.plain.svc.cluster.local"], gateways: ["gw"], http: [{ route: [{ destination: { host: "web.plain.svc.cluster.local" } }] }] }),
    ]);
    assert.deepEqual(virtualServiceStatus(model).map((c) => [c.resource.name, c.status, c.reason, c.message]), [
      ["third", "False", "NotAllowedNamespace", "waypoint ns/waypoint ignores it for reviews.ns.svc.cluster.local: only VirtualServices in the service's namespace (ns) or the waypoint's (ns) apply"],
      ["web", "False", "NoWaypoint", "no waypoint serves web.plain.svc.cluster.local; the VirtualService is not applied by any proxy"],
    ]);
  });
});

describe("conditions on services with several HTTP ports", () => {
  it("are reported on the first HTTP port only", () => {
    const extra = [vs("multi", { hosts: ["multi"], http: [{ match: [{ sourceLabels: { a: "b" } }], route: [{ destination: { host: "multi" } }] }, { route: [{ destination: { host: "multi" } }] }] })];
    assert.equal(run(extra, "multi.ns.svc.cluster.local", 80)!.conditions.length, 1);
    assert.equal(run(extra, "multi.ns.svc.cluster.local", 8080)!.conditions.length, 0);
  });
});
