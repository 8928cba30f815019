import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { AuthorizationPolicySpec } from "./authorizationPolicy.js";

const load = (text: string) => loadManifests([{ path: "authz.yaml", text }], defaultValidator());
const problems = (text: string) => load(text).problems.map(formatProblem);

/** A policy `shop/p` whose spec body (indented two spaces) starts on line 7. */
const policy = (spec: string, apiVersion = "security.istio.io/v1") => `apiVersion: ${apiVersion}
kind: AuthorizationPolicy
metadata:
  name: p
  namespace: shop
spec:
${spec}`;

const realistic = `
  selector:
    matchLabels: { app: reviews }
  action: ALLOW
  rules:
    - from:
        - source:
            principals: ["cluster.local/ns/shop/sa/productpage", "*/ns/ops/sa/prometheus"]
            notIpBlocks: ["10.0.0.0/8", "2001:db8::/32"]
        - source:
            namespaces: ["test*"]
            serviceAccounts: ["monitoring/prometheus"]
      to:
        - operation:
            methods: ["GET", "HEAD"]
            paths: ["/reviews/*", "*.css", "/api/{*}/items/{**}"]
            ports: ["9080"]
            hosts: ["*.shop.svc.cluster.local"]
      when:
        - key: request.auth.claims[iss]
          values: ["https://accounts.example.com"]
        - key: request.auth.claims[groups][admins]
          notValues: ["false"]
        - key: request.headers[x-tenant]
          values: ["acme", "globex*"]
        - key: source.ip
          notValues: ["192.168.0.0/16"]
        - key: destination.port
          values: ["9080"]
        - key: experimental.envoy.filters.network.mysql_proxy[db.table]
          values: ["[update]"]
`;

describe("AuthorizationPolicy", () => {
  it("loads a realistic policy clean, typed", () => {
    const r = load(policy(realistic));
    assert.deepEqual(r.problems.map(formatProblem), []);
    const spec = r.resources[0]!.object.spec as AuthorizationPolicySpec;
    assert.equal(spec.rules?.[0]?.to?.[0]?.operation.ports?.[0], "9080");
  });

  it("loads v1beta1 unchanged and normalises it to v1", () => {
    const r = load(policy(realistic, "security.istio.io/v1beta1"));
    assert.deepEqual(r.problems, []);
    assert.equal(r.resources[0]!.object.apiVersion, "security.istio.io/v1");
    assert.deepEqual(r.resources[0]!.object.spec, load(policy(realistic)).resources[0]!.object.spec);
  });

  it("accepts an empty spec, rules: [] and rules: [{}] (deny-all, deny-all, allow-all)", () => {
    assert.deepEqual(problems(policy("").replace("spec:\n", "spec: {}\n")), []);
    for (const spec of ["  rules: []\n", "  rules: [{}]\n", "  action: DENY\n  rules: []\n"]) assert.deepEqual(problems(policy(spec)), [], spec);
  });

  it("accepts CUSTOM with a provider and targetRefs to a waypoint", () => {
    assert.deepEqual(problems(policy(`  targetRefs:
    - { kind: Gateway, group: gateway.networking.k8s.io, name: waypoint }
  action: CUSTOM
  provider: { name: ext-authz }
  rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }]
`)), []);
  });

  const cases: [name: string, spec: string, want: (string | RegExp)[]][] = [
    ["unknown action", "  action: PERMIT\n",
      ['authz.yaml:7:11 AuthorizationPolicy shop/p: spec.action must be one of "ALLOW", "DENY", "AUDIT", "CUSTOM", not "PERMIT"']],
    ["CUSTOM without provider", "  action: CUSTOM\n  rules: [{}]\n",
      ["authz.yaml:7:11 AuthorizationPolicy shop/p: spec.action is CUSTOM, which requires provider.name (the extension provider, from the mesh config, that decides)"]],
    ["provider without CUSTOM", "  action: DENY\n  provider: { name: ext }\n  rules: [{}]\n",
      ["authz.yaml:8:13 AuthorizationPolicy shop/p: spec.provider may only be set when action is CUSTOM (action is DENY)"]],
    ["provider with the default action", "  provider: { name: ext }\n",
      ["authz.yaml:7:13 AuthorizationPolicy shop/p: spec.provider may only be set when action is CUSTOM (action is ALLOW)"]],
    ["selector with targetRefs", "  selector: { matchLabels: { app: a } }\n  targetRefs: [{ kind: Service, name: a }]\n",
      ["authz.yaml:8:15 AuthorizationPolicy shop/p: spec.targetRefs cannot be combined with selector: a policy attaches either to workloads (selector) or to Gateways and Services (targetRefs)"]],
    ["targetRef with targetRefs", "  targetRef: { kind: Service, name: a }\n  targetRefs: [{ kind: Service, name: b }]\n",
      ["authz.yaml:7:14 AuthorizationPolicy shop/p: spec.targetRef cannot be combined with targetRefs; move the reference into targetRefs"]],
    ["targetRefs to a Deployment", "  targetRefs: [{ kind: Deployment, group: apps, name: a }]\n",
      ['authz.yaml:7:24 AuthorizationPolicy shop/p: spec.targetRefs[0].kind must be one of Gateway, GatewayClass, Service, ServiceEntry, not "Deployment"']],
    ["targetRef with the wrong group", "  targetRef: { kind: Gateway, group: networking.istio.io, name: w }\n",
      ['authz.yaml:7:38 AuthorizationPolicy shop/p: spec.targetRef.group must be "gateway.networking.k8s.io" for kind Gateway, not "networking.istio.io"']],
    ["targetRefs across namespaces", "  targetRefs: [{ kind: Service, name: a, namespace: other }]\n",
      ['authz.yaml:7:53 AuthorizationPolicy shop/p: spec.targetRefs[0].namespace must be the policy\'s own namespace "shop": a policy cannot attach across namespaces']],
    ["bad ipBlocks", "  rules: [{ from: [{ source: { ipBlocks: [10.0.0.0/8, 10.0.0.300, \"fe80::/129\"] } }] }]\n", [
      'authz.yaml:7:55 AuthorizationPolicy shop/p: spec.rules[0].from[0].source.ipBlocks[1] must be an IP address or CIDR such as "10.0.0.0/8", not "10.0.0.300"',
      'authz.yaml:7:67 AuthorizationPolicy shop/p: spec.rules[0].from[0].source.ipBlocks[2] must be an IP address or CIDR such as "10.0.0.0/8", not "fe80::/129"',
    ]],
    ["bad ports", "  rules: [{ to: [{ operation: { ports: [\"80\", \"http\", \"0\", \"8000-9000\"] } }] }]\n", [
      'authz.yaml:7:47 AuthorizationPolicy shop/p: spec.rules[0].to[0].operation.ports[1] must be a port number from 1 to 65535, not "http"',
      'authz.yaml:7:55 AuthorizationPolicy shop/p: spec.rules[0].to[0].operation.ports[2] must be a port number from 1 to 65535, not "0"',
      'authz.yaml:7:60 AuthorizationPolicy shop/p: spec.rules[0].to[0].operation.ports[3] must be a port number from 1 to 65535, not "8000-9000"',
    ]],
    ["a port given as a number", "  rules: [{ to: [{ operation: { notPorts: [80] } }] }]\n",
      ["authz.yaml:7:44 AuthorizationPolicy shop/p: spec.rules[0].to[0].operation.notPorts[0] must be a string"]],
    ["unknown condition key", "  rules: [{ when: [{ key: request.auth.claims, values: [a] }] }]\n",
      ["authz.yaml:7:27 AuthorizationPolicy shop/p: spec.rules[0].when[0].key is not a condition key Istio supports; use request.headers[<name>], source.ip, remote.ip, source.namespace, source.principal, source.serviceAccount, request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[<name>], destination.ip, destination.port, connection.sni or experimental.envoy.filters.<filter>[<key>]"]],
    ["a typo in a condition key", "  rules: [{ when: [{ key: \"request.header[x-a]\", values: [a] }] }]\n",
      [/^authz\.yaml:7:27 AuthorizationPolicy shop\/p: spec\.rules\[0\]\.when\[0\]\.key is not a condition key Istio supports; /]],
    ["condition without values", "  rules:\n    - when:\n        - key: source.namespace\n",
      ["authz.yaml:9:11 AuthorizationPolicy shop/p: spec.rules[0].when[0] must set values or notValues for source.namespace"]],
    ["condition values checked by key", "  rules:\n    - when:\n        - { key: remote.ip, values: [1.2.3.4/33] }\n        - { key: destination.port, notValues: [\"99999\"] }\n", [
      'authz.yaml:9:38 AuthorizationPolicy shop/p: spec.rules[0].when[0].values[0] must be an IP address or CIDR such as "10.0.0.0/8", not "1.2.3.4/33"',
      'authz.yaml:10:48 AuthorizationPolicy shop/p: spec.rules[0].when[1].notValues[0] must be a port number from 1 to 65535, not "99999"',
    ]],
    ["wildcard in the middle", "  rules:\n    - from: [{ source: { principals: [\"cluster.local/ns/*/sa/a\"] } }]\n      to: [{ operation: { paths: [\"*/admin/*\"] } }]\n", [
      'authz.yaml:8:39 AuthorizationPolicy shop/p: spec.rules[0].from[0].source.principals[0] may use "*" only as the whole value, as a prefix ("*foo") or as a suffix ("foo*"), not "cluster.local/ns/*/sa/a"',
      'authz.yaml:9:35 AuthorizationPolicy shop/p: spec.rules[0].to[0].operation.paths[0] may use "*" only as the whole value, as a prefix ("*foo") or as a suffix ("foo*"), not "*/admin/*"',
    ]],
    ["bad path templates", "  rules: [{ to: [{ operation: { notPaths: [\"/a/{**}/b\", \"/a/x{*}\"] } }] }]\n", [
      'authz.yaml:7:44 AuthorizationPolicy shop/p: spec.rules[0].to[0].operation.notPaths[0] is not a valid path template: "{**}" may only be the last segment, in "/a/{**}/b"',
      'authz.yaml:7:57 AuthorizationPolicy shop/p: spec.rules[0].to[0].operation.notPaths[1] is not a valid path template: a segment must be "{*}", "{**}" or plain text, not "x{*}"',
    ]],
    ["serviceAccounts not in ns/name form, and with principals", "  rules:\n    - from:\n        - source: { serviceAccounts: [sleep, default/sleep], principals: [a] }\n", [
      'authz.yaml:9:38 AuthorizationPolicy shop/p: spec.rules[0].from[0].source.serviceAccounts cannot be combined with principals in the same source; both match the peer identity, so use one or the other',
      'authz.yaml:9:39 AuthorizationPolicy shop/p: spec.rules[0].from[0].source.serviceAccounts[0] must be "<namespace>/<name>", not "sleep"',
    ]],
    ["empty source and operation", "  rules:\n    - from: [{ source: {} }]\n      to: [{ operation: { paths: [] } }]\n", [
      "authz.yaml:8:24 AuthorizationPolicy shop/p: spec.rules[0].from[0].source must set at least one field (Istio rejects an empty source)",
      "authz.yaml:9:25 AuthorizationPolicy shop/p: spec.rules[0].to[0].operation must set at least one field (Istio rejects an empty operation)",
    ]],
    ["from without source", "  rules: [{ from: [{}] }]\n",
      ["authz.yaml:7:20 AuthorizationPolicy shop/p: spec.rules[0].from[0].source is required"]],
    ["unknown field with a hint", "  rules: [{ from: [{ source: { principal: [a] } }] }]\n",
      ['authz.yaml:7:32 AuthorizationPolicy shop/p: spec.rules[0].from[0].source.principal is not a known field (did you mean "principals"?)']],
    ["AUDIT without rules warns and still loads", "  action: AUDIT\n",
      ['authz.yaml:7:11 warning: AuthorizationPolicy shop/p: spec.action is AUDIT with no rules, so no request is audited; add rules (a rule "{}" audits every request)']],
  ];
  for (const [name, spec, want] of cases) {
    it(`rejects: ${name}`, () => {
      const got = problems(policy(spec));
      assert.equal(got.length, want.length, got.join("\n"));
      want.forEach((w, i) => (typeof w === "string" ? assert.equal(got[i], w) : assert.match(got[i]!, w)));
    });
  }

  it("keeps the AUDIT policy despite the warning, and rejects the others", () => {
    assert.equal(load(policy("  action: AUDIT\n")).resources.length, 1);
    assert.equal(load(policy("  action: CUSTOM\n")).resources.length, 0);
  });
});
