import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson } from "@bufbuild/protobuf";
import type { LoadedResource } from "@waystation/api";
import { Action, AuthorizationSchema, Scope, type Authorization, type Match, type StringMatch } from "@waystation/proto/istio/security/authorization_pb.js";
import { buildModel } from "../../../model/src/build.js";
import { namespace, pod, resource, service } from "../../../model/src/testing.js";
import { addressName, authorizationName, translateWorkloadApi } from "./index.js";

const base = [namespace("istio-system"), namespace("shop", { "istio.io/dataplane-mode": "ambient" }), pod("shop", "web-0", "web", "10.244.1.10"), service("shop", "web", {}, 80)];
const ap = (ns: string, name: string, spec: Record<string, unknown>) => resource("AuthorizationPolicy", ns, name, spec);
const run = (...rs: LoadedResource[]) => translateWorkloadApi(buildModel([...base, ...rs]));
const policy = (r: ReturnType<typeof run>, name: string): Authorization | undefined => r.authorizations.find((a) => authorizationName(a) === name);
const json = (a: Authorization | undefined) => (a ? toJson(AuthorizationSchema, a) as { rules?: unknown[] } & Record<string, unknown> : undefined);
const webPolicies = (r: ReturnType<typeof run>) => {
  const a = r.addresses.find((x) => addressName(x) === "Kubernetes//Pod/shop/web-0");
  return a?.type.case === "workload" ? a.type.value.authorizationPolicies : undefined;
};

/** ztunnel's evaluation of one policy (src/rbac.rs `matches`), for the fails-closed checks. */
interface Conn { srcNs?: string; principal?: string; srcIp?: string; dstPort: number }
function matches(p: Authorization, c: Conn): boolean {
  if (p.rules.length === 0) return false;
  const str = (m: StringMatch, v: string) => m.matchType.case === "exact" ? v === m.matchType.value : m.matchType.case === "prefix" ? v.startsWith(m.matchType.value)
    : m.matchType.case === "suffix" ? v.endsWith(m.matchType.value) : v !== "";
  const field = <T>(pos: T[], neg: T[], f: (x: T) => boolean) => (pos.length === 0 || pos.some(f)) && (neg.length === 0 || !neg.some(f));
  const empty = (m: Match) => Object.entries(m).every(([k, v]) => k === "$typeName" || (Array.isArray(v) && v.length === 0));
  const one = (m: Match) => field(m.namespaces, m.notNamespaces, (s) => str(s, c.srcNs ?? ""))
    && field(m.principals, m.notPrincipals, (s) => str(s, c.principal ?? ""))
    && field(m.destinationPorts, m.notDestinationPorts, (x) => x === c.dstPort);
  return p.rules.some((r) => r.clauses.every((cl) => cl.matches.length === 0 || cl.matches.some((m) => !empty(m) && one(m))));
}

describe("workload API: AuthorizationPolicy -> Authorization", () => {
  it("scope: GLOBAL in the root namespace, NAMESPACE without selector, WORKLOAD_SELECTOR with one; targetRefs are the waypoints'", () => {
    const r = run(
      ap("istio-system", "mesh", { rules: [{}] }),
      ap("shop", "ns", { action: "DENY", rules: [{ from: [{ source: { namespaces: ["evil"] } }] }] }),
      ap("shop", "sel", { selector: { matchLabels: { app: "web" } } }),
      ap("shop", "waypoint-only", { targetRefs: [{ kind: "Service", group: "", name: "web" }], rules: [{}] }),
    );
    assert.deepEqual(r.authorizations.map((a) => [authorizationName(a), Scope[a.scope], Action[a.action]]), [
      ["istio-system/mesh", "GLOBAL", "ALLOW"], ["shop/ns", "NAMESPACE", "DENY"], ["shop/sel", "WORKLOAD_SELECTOR", "ALLOW"],
    ]);
    assert.deepEqual(webPolicies(r), ["shop/sel"], "only selector policies are listed on the workload");
  });

  it("lists selector policies of the root namespace and of the workload's namespace that select it", () => {
    const r = run(
      ap("istio-system", "root-sel", { selector: { matchLabels: { app: "web" } }, rules: [{}] }),
      ap("shop", "other-app", { selector: { matchLabels: { app: "db" } }, rules: [{}] }),
      ap("shop", "web-sel", { selector: { matchLabels: { app: "web" } }, rules: [{}] }),
    );
    assert.deepEqual(webPolicies(r), ["istio-system/root-sel", "shop/web-sel"]);
  });

  it("skips AUDIT and CUSTOM with a condition", () => {
    const r = run(ap("shop", "audit", { action: "AUDIT", rules: [{}] }), ap("shop", "custom", { action: "CUSTOM", provider: { name: "ext" }, rules: [{}] }));
    assert.deepEqual(r.authorizations, []);
    for (const name of ["audit", "custom"]) {
      const c = r.conditions.find((x) => x.resource.name === name);
      assert.equal(c?.status, "False");
      assert.match(c?.message ?? "", /only ALLOW and DENY/);
    }
  });

  it("converts sources, operations and L4 when conditions", () => {
    const r = run(ap("shop", "l4", { selector: { matchLabels: { app: "web" } }, rules: [{
      from: [
        { source: { namespaces: ["shop", "team-*"], notNamespaces: ["*-test"], principals: ["spiffe://cluster.local/ns/a/sa/b", "*"] } },
        { source: { serviceAccounts: ["shop/api"], ipBlocks: ["10.0.0.0/8", "192.168.1.1"], notIpBlocks: ["10.1.0.0/16"] } },
      ],
      to: [{ operation: { ports: ["8080"], notPorts: ["9090"] } }],
      when: [
        { key: "source.ip", values: ["172.16.0.0/12"] },
        { key: "source.namespace", notValues: ["kube-system"] },
        { key: "source.principal", values: ["spiffe://cluster.local/ns/x/sa/y"] },
        { key: "destination.ip", values: ["10.96.0.1"] },
        { key: "destination.port", values: ["80", "443"] },
      ],
    }] }));
    const b64 = (b: number[]) => Buffer.from(b).toString("base64");
    assert.deepEqual(json(policy(r, "shop/l4")), {
      name: "l4", namespace: "shop", scope: "WORKLOAD_SELECTOR",
      rules: [{ clauses: [
        { matches: [
          { namespaces: [{ exact: "shop" }, { prefix: "team-" }], notNamespaces: [{ suffix: "-test" }], principals: [{ exact: "cluster.local/ns/a/sa/b" }, { presence: {} }] },
          { serviceAccounts: [{ namespace: "shop", serviceAccount: "api" }], sourceIps: [{ address: b64([10, 0, 0, 0]), length: 8 }, { address: b64([192, 168, 1, 1]), length: 32 }], notSourceIps: [{ address: b64([10, 1, 0, 0]), length: 16 }] },
        ] },
        { matches: [{ destinationPorts: [8080], notDestinationPorts: [9090] }] },
        { matches: [{ sourceIps: [{ address: b64([172, 16, 0, 0]), length: 12 }] }] },
        { matches: [{ notNamespaces: [{ exact: "kube-system" }] }] },
        { matches: [{ principals: [{ exact: "cluster.local/ns/x/sa/y" }] }] },
        { matches: [{ destinationIps: [{ address: b64([10, 96, 0, 1]), length: 32 }] }] },
        { matches: [{ destinationPorts: [80, 443] }] },
      ] }],
    });
  });

  it("an empty rule matches everything; no rules matches nothing", () => {
    const r = run(ap("shop", "all", { rules: [{}] }), ap("shop", "none", {}));
    assert.equal(matches(policy(r, "shop/all")!, { dstPort: 80 }), true);
    assert.equal(matches(policy(r, "shop/none")!, { dstPort: 80 }), false);
  });
});

describe("workload API: HTTP attributes in ztunnel policies", () => {
  it("ALLOW: a rule with an HTTP attribute is dropped, the others stay, with a warning naming the field", () => {
    const r = run(ap("shop", "mixed", { action: "ALLOW", rules: [
      { from: [{ source: { namespaces: ["shop"] } }], to: [{ operation: { methods: ["GET"] } }] },
      { from: [{ source: { namespaces: ["ops"] } }] },
    ] }));
    const p = policy(r, "shop/mixed")!;
    assert.equal(p.rules.length, 1);
    assert.equal(matches(p, { srcNs: "shop", dstPort: 80 }), false, "the GET-only rule no longer allows shop");
    assert.equal(matches(p, { srcNs: "ops", dstPort: 80 }), true);
    const c = r.conditions.find((x) => x.resource.name === "mixed" && x.reason === "UnsupportedValue");
    assert.match(c?.message ?? "", /^spec\.rules\[0\]\.to\[0\]\.operation\.methods: ztunnel enforces L4 attributes only .* in an ALLOW policy the rule is left out/);
  });

  it("ALLOW: every rule dropped leaves a policy that denies everything, and says so", () => {
    const r = run(ap("shop", "l7", { selector: { matchLabels: { app: "web" } }, rules: [{ when: [{ key: "request.headers[x-user]", values: ["a"] }] }] }));
    const p = policy(r, "shop/l7")!;
    assert.deepEqual(p.rules, []);
    assert.equal(matches(p, { srcNs: "shop", dstPort: 80 }), false);
    assert.ok(r.conditions.some((c) => c.resource.name === "l7" && /spec\.rules\[0\]\.when\[0\]\.key: .*request\.headers\[x-user\]/.test(c.message)));
    assert.ok(r.conditions.some((c) => c.resource.name === "l7" && /denies every connection/.test(c.message)));
  });

  it("DENY: the HTTP part is ignored, so the policy denies more (fails closed)", () => {
    const r = run(
      ap("shop", "deny-post", { action: "DENY", rules: [{ from: [{ source: { namespaces: ["guest"] } }], to: [{ operation: { methods: ["POST"], ports: ["8080"] } }] }] }),
      ap("shop", "deny-path", { action: "DENY", rules: [{ from: [{ source: { namespaces: ["guest"] } }], to: [{ operation: { paths: ["/admin"] } }, { operation: { ports: ["9000"] } }] }] }),
      ap("shop", "deny-jwt", { action: "DENY", rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }),
    );
    const post = policy(r, "shop/deny-post")!;
    assert.deepEqual(json(post)?.rules, [{ clauses: [{ matches: [{ namespaces: [{ exact: "guest" }] }] }, { matches: [{ destinationPorts: [8080] }] }] }]);
    assert.equal(matches(post, { srcNs: "guest", dstPort: 8080 }), true, "any method on 8080 is denied");
    const path = policy(r, "shop/deny-path")!;
    assert.equal(matches(path, { srcNs: "guest", dstPort: 1234 }), true, "an operation that was only a path matches every port");
    assert.equal(matches(path, { srcNs: "other", dstPort: 1234 }), false);
    const jwt = policy(r, "shop/deny-jwt")!;
    assert.deepEqual(json(jwt)?.rules, [{}]);
    assert.equal(matches(jwt, { dstPort: 80 }), true, "a DENY on request principals denies every connection at L4");
    assert.ok(r.conditions.some((c) => c.resource.name === "deny-post" && /operation\.methods: .* in a DENY policy it is ignored/.test(c.message)));
  });

  it("source.serviceAccount and remote.ip are not L4 keys for ztunnel (as istiod 1.28)", () => {
    const r = run(ap("shop", "sa", { rules: [{ when: [{ key: "remote.ip", values: ["1.2.3.4"] }] }, { when: [{ key: "source.serviceAccount", values: ["shop/a"] }] }] }));
    assert.deepEqual(policy(r, "shop/sa")?.rules, []);
  });
});

describe("workload API: PeerAuthentication", () => {
  it("STRICT mesh-wide -> istio_converted_static_strict, referenced by every workload", () => {
    const r = run(resource("PeerAuthentication", "istio-system", "default", { mtls: { mode: "STRICT" } }));
    const p = policy(r, "istio-system/istio_converted_static_strict")!;
    assert.equal(p.action, Action.DENY);
    assert.deepEqual(json(p)?.rules, [{ clauses: [{ matches: [{ notPrincipals: [{ presence: {} }] }] }] }]);
    assert.deepEqual(webPolicies(r), ["istio-system/istio_converted_static_strict"]);
    const plaintext = { dstPort: 80 }, mtls = { principal: "cluster.local/ns/a/sa/b", dstPort: 80 };
    assert.deepEqual([matches(p, plaintext), matches(p, mtls)], [true, false]);
  });

  it("PERMISSIVE, or no PeerAuthentication: nothing", () => {
    assert.deepEqual(run(resource("PeerAuthentication", "istio-system", "default", { mtls: { mode: "PERMISSIVE" } })).authorizations, []);
    assert.deepEqual(run().authorizations, []);
  });

  it("STRICT with a PERMISSIVE port -> the per-policy converted_peer_authentication_<name>", () => {
    const r = run(resource("PeerAuthentication", "shop", "web-pa", { selector: { matchLabels: { app: "web" } }, mtls: { mode: "STRICT" }, portLevelMtls: { 9000: { mode: "PERMISSIVE" } } }));
    assert.deepEqual(r.authorizations.map(authorizationName), ["shop/converted_peer_authentication_web-pa"]);
    assert.deepEqual(webPolicies(r), ["shop/converted_peer_authentication_web-pa"]);
  });
});
