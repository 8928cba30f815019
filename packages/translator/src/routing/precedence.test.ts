import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LoadedResource } from "@waystation/api";
import { methodPath } from "./grpcRoute.js";
import { prefixReplacement } from "./envoyActions.js";
import type { MatchIR, RouteIR } from "./ir.js";
import { byPrecedence, grpcMatchRank, httpMatchRank, type RankedRoute } from "./precedence.js";

const ir = (name: string): RouteIR => ({ name, source: { key: { group: "", kind: "", namespace: "", name: "" }, path: [] }, matches: [], action: { kind: "direct", status: 200 } });
const route = (name: string, ts?: string, ns = "ns"): LoadedResource => {
  const key = { group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: ns, name };
  return {
    key,
    object: { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name, namespace: ns, ...(ts ? { creationTimestamp: ts } : {}) }, spec: {} },
    origin: { file: "test.yaml", line: 1, column: 1 },
    def: { group: key.group, kind: key.kind, versions: ["v1"], namespaced: true },
  } as LoadedResource;
};

describe("HTTPRoute precedence", () => {
  it("orders Exact > RegularExpression > longest PathPrefix > method > headers > query params", () => {
    const r = route("r");
    const entries: [string, Parameters<typeof httpMatchRank>[0]][] = [
      ["default", {}],
      ["prefix-short", { path: { type: "PathPrefix", value: "/a" } }],
      ["prefix-long", { path: { type: "PathPrefix", value: "/a/b" } }],
      ["regex", { path: { type: "RegularExpression", value: "/a/.*" } }],
      ["exact", { path: { type: "Exact", value: "/a" } }],
      ["method", { path: { type: "PathPrefix", value: "/a" }, method: "GET" }],
      ["headers", { path: { type: "PathPrefix", value: "/a" }, headers: [{}, {}] }],
      ["query", { path: { type: "PathPrefix", value: "/a" }, headers: [{}, {}], queryParams: [{}] }],
    ];
    const ranked: RankedRoute[] = entries.map(([name, m], i) => ({ ir: ir(name), rank: httpMatchRank(m), route: r, rule: i, match: 0 }));
    assert.deepEqual(byPrecedence(ranked).map((x) => x.ir.name), ["exact", "regex", "prefix-long", "method", "query", "headers", "prefix-short", "default"]);
  });

  it("breaks ties by the oldest route, then namespace/name, then rule and match order", () => {
    const rank = httpMatchRank({});
    const ranked: RankedRoute[] = [
      { ir: ir("no-timestamp"), rank, route: route("a"), rule: 0, match: 0 },
      { ir: ir("newer"), rank, route: route("z", "2024-02-01T00:00:00Z"), rule: 0, match: 0 },
      { ir: ir("older"), rank, route: route("y", "2024-01-01T00:00:00Z"), rule: 0, match: 0 },
      { ir: ir("b-rule1"), rank, route: route("b"), rule: 1, match: 0 },
      { ir: ir("b-rule0-match1"), rank, route: route("b"), rule: 0, match: 1 },
      { ir: ir("b-rule0-match0"), rank, route: route("b"), rule: 0, match: 0 },
      { ir: ir("other-ns"), rank, route: route("a", undefined, "aa"), rule: 0, match: 0 },
    ];
    assert.deepEqual(byPrecedence(ranked).map((x) => x.ir.name), ["older", "newer", "other-ns", "no-timestamp", "b-rule0-match0", "b-rule0-match1", "b-rule1"]);
  });
});

describe("GRPCRoute precedence and method matches", () => {
  it("ranks service characters, then method characters, then regexes, then headers", () => {
    const r = route("g");
    const entries: [string, Parameters<typeof grpcMatchRank>[0]][] = [
      ["none", {}],
      ["headers-only", { headers: [{}] }],
      ["method", { method: { method: "Check" } }],
      ["service", { method: { service: "a.B" } }],
      ["both", { method: { service: "a.B", method: "C" } }],
      ["regex", { method: { type: "RegularExpression", service: "a\\..*" } }],
    ];
    const ranked = entries.map(([name, m], i) => ({ ir: ir(name), rank: grpcMatchRank(m), route: r, rule: i, match: 0 }));
    assert.deepEqual(byPrecedence(ranked).map((x) => x.ir.name), ["both", "service", "method", "regex", "headers-only", "none"]);
  });

  it("turns method matches into :path matches", () => {
    assert.deepEqual(methodPath({ service: "pkg.Svc", method: "Do" }), { kind: "exact", value: "/pkg.Svc/Do" });
    assert.deepEqual(methodPath({ service: "pkg.Svc" }), { kind: "prefix", value: "/pkg.Svc/" });
    assert.deepEqual(methodPath({ method: "Do" }), { kind: "regex", value: "/[^/]+/Do" });
    assert.deepEqual(methodPath({ type: "RegularExpression", service: "pkg\\..*" }), { kind: "regex", value: "/(?:pkg\\..*)/[^/]+" });
    assert.equal(methodPath(undefined), undefined);
  });
});

describe("ReplacePrefixMatch", () => {
  // Applies what Envoy would do with the result: prefix_rewrite replaces the matched segment
  // prefix, regex_rewrite substitutes the first match of the pattern.
  function rewrite(path: string, prefix: string, replacement: string): string {
    const match: MatchIR = { path: { kind: "segmentPrefix", value: prefix }, headers: [], queryParams: [] };
    const r = prefixReplacement(match, replacement);
    if ("prefix" in r) return r.prefix + path.slice(prefix.replace(/\/+$/, "").length);
    const re = r.regex as { pattern: { regex: string }; substitution: string };
    return path.replace(new RegExp(re.pattern.regex), re.substitution);
  }

  it("follows the table of the Gateway API spec", () => {
    const table: [string, string, string, string][] = [
      ["/foo/bar", "/foo", "/xyz", "/xyz/bar"],
      ["/foo/bar", "/foo", "/xyz/", "/xyz/bar"],
      ["/foo/bar", "/foo/", "/xyz", "/xyz/bar"],
      ["/foo/bar", "/foo/", "/xyz/", "/xyz/bar"],
      ["/foo", "/foo", "/xyz", "/xyz"],
      ["/foo/", "/foo", "/xyz", "/xyz/"],
      ["/foo/bar", "/foo", "", "/bar"],
      ["/foo/", "/foo", "", "/"],
      ["/foo", "/foo", "", "/"],
      ["/foo/", "/foo", "/", "/"],
      ["/foo", "/foo", "/", "/"],
      ["/bar", "/", "/xyz", "/xyz/bar"],
    ];
    for (const [path, prefix, replacement, want] of table) {
      assert.equal(rewrite(path, prefix, replacement), want, `${path} with prefix ${prefix} -> ${JSON.stringify(replacement)}`);
    }
  });

  it("keeps Envoy's plain prefix_rewrite for a VirtualService prefix match", () => {
    assert.deepEqual(prefixReplacement({ path: { kind: "prefix", value: "/foo" }, headers: [], queryParams: [] }, "/"), { prefix: "/" });
  });
});
