import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { RateLimitPolicySpec } from "./rateLimitPolicy.js";

const load = (text: string) => loadManifests([{ path: "rl.yaml", text }], defaultValidator());
const problems = (text: string) => load(text).problems.map(formatProblem);

/** A RateLimitPolicy `shop/rl` targeting Service reviews; the rest of the spec starts on line 9. */
const rl = (rest: string) => `apiVersion: waystation.io/v1alpha1
kind: RateLimitPolicy
metadata:
  name: rl
  namespace: shop
spec:
  targetRefs:
    - { group: "", kind: Service, name: reviews }
${rest}`;

const realistic = `    - { group: gateway.networking.k8s.io, kind: Gateway, name: waypoint }
    - { group: networking.istio.io, kind: ServiceEntry, name: payments-api }
  shadow: false
  responseHeaders: true
  local:
    rules:
      - name: all
        limit: { requests: 1000, unit: second }
      - name: writes
        match:
          path: { type: PathPrefix, value: /reviews }
          method: POST
          headers: [{ name: x-api-version, value: "v[12]", type: RegularExpression }]
        tokenBucket: { maxTokens: 50, tokensPerFill: 10, fillInterval: 1s }
      - name: free-plan
        descriptor: [{ header: { name: x-plan, value: free } }]
        limit: { requests: 10, unit: second }
      - descriptor:
          - remoteAddress: { value: 10.1.0.0/16 }
          - generic: { key: tier, value: internal }
        limit: { requests: 50, unit: second }
  global:
    failureMode: closed
    rules:
      - name: per-user
        descriptor: [{ header: { name: x-user-id } }]
        limit: { requests: 100, unit: minute }
      - name: export-per-caller
        descriptor:
          - sourcePrincipal: {}
          - path: { value: /reviews/export }
        limit: { requests: 5, unit: hour }
      - name: from-productpage
        match: { path: { type: Exact, value: /reviews/0 } }
        descriptor:
          - sourcePrincipal: { value: cluster.local/ns/shop/sa/productpage }
          - remoteAddress: {}
        limit: { requests: 20, unit: second }
      - name: everyone
        limit: { requests: 100000, unit: hour }
`;

describe("RateLimitPolicy", () => {
  it("loads a realistic policy clean, typed", () => {
    const r = load(rl(realistic));
    assert.deepEqual(r.problems.map(formatProblem), []);
    const spec = r.resources[0]!.object.spec as RateLimitPolicySpec;
    assert.equal(spec.targetRefs.length, 3);
    assert.equal(spec.global?.rules[1]?.descriptor?.[1]?.path?.value, "/reviews/export");
  });

  it("accepts a minimal local-only policy", () => {
    assert.deepEqual(problems(rl("  local: { rules: [{ limit: { requests: 1, unit: hour } }] }\n")), []);
  });

  it("rejects a document without spec, and one without targetRefs", () => {
    const head = "apiVersion: waystation.io/v1alpha1\nkind: RateLimitPolicy\nmetadata: { name: rl }\n";
    assert.deepEqual(problems(head), ["rl.yaml:1:1 RateLimitPolicy default/rl: spec is required"]);
    assert.deepEqual(problems(`${head}spec: { global: { rules: [{ limit: { requests: 1, unit: second } }] } }\n`),
      ["rl.yaml:4:7 RateLimitPolicy default/rl: spec.targetRefs is required"]);
  });

  const limit = "        limit: { requests: 1, unit: second }\n";
  const cases: [name: string, rest: string, want: (string | RegExp)[]][] = [
    ["neither local nor global", "  shadow: true\n",
      ["rl.yaml:7:3 RateLimitPolicy shop/rl: spec must set local, global or both: a policy without rules limits nothing"]],
    ["zero requests", "  global:\n    rules: [{ limit: { requests: 0, unit: second } }]\n",
      ["rl.yaml:10:34 RateLimitPolicy shop/rl: spec.global.rules[0].limit.requests must be a whole number of requests from 1 to 4294967295"]],
    ["a unit Envoy Gateway spells differently", "  global:\n    rules: [{ limit: { requests: 5, unit: Minute } }]\n",
      ['rl.yaml:10:43 RateLimitPolicy shop/rl: spec.global.rules[0].limit.unit must be one of "second", "minute", "hour", not "Minute"']],
    ["a global rule without limit", "  global:\n    rules: [{ name: a }]\n",
      ["rl.yaml:10:13 RateLimitPolicy shop/rl: spec.global.rules[0].limit is required"]],
    ["a local rule with both limit and tokenBucket", `  local:\n    rules:\n      - tokenBucket: { maxTokens: 5, fillInterval: 1s }\n${limit}`,
      ["rl.yaml:11:9 RateLimitPolicy shop/rl: spec.local.rules[0] must set exactly one of limit or tokenBucket"]],
    ["a token bucket refilling too often, and tokensPerFill above maxTokens", "  local:\n    rules:\n      - tokenBucket: { maxTokens: 5, tokensPerFill: 10, fillInterval: 10ms }\n", [
      "rl.yaml:11:53 warning: RateLimitPolicy shop/rl: spec.local.rules[0].tokenBucket.tokensPerFill is more than maxTokens (5); the bucket never holds more than maxTokens",
      "rl.yaml:11:71 RateLimitPolicy shop/rl: spec.local.rules[0].tokenBucket.fillInterval must be at least 50ms: Envoy's local rate limit refills no more often",
    ]],
    ["a descriptor entry with two sources", `  global:\n    rules:\n      - descriptor: [{ path: {}, remoteAddress: {} }]\n${limit}`,
      ["rl.yaml:11:22 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[0] must set exactly one of header, path, sourcePrincipal, remoteAddress, generic (has path and remoteAddress)"]],
    ["an empty descriptor entry", `  global:\n    rules:\n      - descriptor: [{}]\n${limit}`,
      ["rl.yaml:11:22 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[0] must set exactly one of header, path, sourcePrincipal, remoteAddress, generic"]],
    ["a per-distinct-value entry in a local rule", `  local:\n    rules:\n      - descriptor: [{ header: { name: x-user } }]\n${limit}`,
      ["rl.yaml:11:32 RateLimitPolicy shop/rl: spec.local.rules[0].descriptor[0].header needs a value in a local rule: Envoy's local rate limit counts exact values only; use a global rule for a counter per distinct value"]],
    ["header names that are not lower-case tokens", `  global:\n    rules:\n      - match: { headers: [{ name: X-Plan, value: a }] }\n        descriptor: [{ header: { name: "x user" } }]\n${limit}`, [
      "rl.yaml:11:36 RateLimitPolicy shop/rl: spec.global.rules[0].match.headers[0].name must be a lower-case HTTP header name (a-z, digits and !#$%&'*+-.^_`|~, optionally after a leading ':')",
      "rl.yaml:12:40 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[0].header.name must be a lower-case HTTP header name (a-z, digits and !#$%&'*+-.^_`|~, optionally after a leading ':')",
    ]],
    ["bad descriptor values", `  global:\n    rules:\n      - descriptor:\n          - path: { value: reviews }\n          - sourcePrincipal: { value: productpage }\n          - remoteAddress: { value: 10.1.2.3/16 }\n${limit}`, [
      'rl.yaml:12:28 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[0].path.value must start with "/", not "reviews"',
      'rl.yaml:13:39 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[1].sourcePrincipal.value must be a workload identity such as "cluster.local/ns/default/sa/sleep" or "spiffe://cluster.local/ns/default/sa/sleep", not "productpage"',
      "rl.yaml:14:37 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[2].remoteAddress.value has address bits set past the /16 prefix; write the network address",
    ]],
    ["a remote address that is not an IP", `  global:\n    rules:\n      - descriptor: [{ remoteAddress: { value: localhost } }]\n${limit}`,
      ['rl.yaml:11:48 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[0].remoteAddress.value must be an IP address or CIDR such as "10.0.0.0/8", not "localhost"']],
    ["two entries counting by the same header", `  global:\n    rules:\n      - descriptor:\n          - header: { name: x-user }\n          - header: { name: x-user, value: bob }\n${limit}`,
      ["rl.yaml:13:13 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[1] counts by the same header x-user as spec.global.rules[0].descriptor[0]; each entry of a descriptor must count by something different"]],
    ["a generic entry without value", `  global:\n    rules:\n      - descriptor: [{ generic: { key: tier } }]\n${limit}`,
      ["rl.yaml:11:33 RateLimitPolicy shop/rl: spec.global.rules[0].descriptor[0].generic.value is required"]],
    ["duplicate rule names", `  global:\n    rules:\n      - name: a\n${limit}      - name: a\n${limit}`,
      ['rl.yaml:13:15 RateLimitPolicy shop/rl: spec.global.rules[1].name duplicates spec.global.rules[0].name "a"']],
    ["a match path without a leading slash, and a bad regex", `  local:\n    rules:\n      - match:\n          path: { value: api }\n          headers: [{ name: x-a, value: "(?=a)", type: RegularExpression }]\n${limit}`, [
      'rl.yaml:12:26 RateLimitPolicy shop/rl: spec.local.rules[0].match.path.value must start with "/", not "api"',
      /^rl\.yaml:13:41 RateLimitPolicy shop\/rl: spec\.local\.rules\[0\]\.match\.headers\[0\]\.value is not a valid RE2 regular expression \(Envoy uses RE2\): /,
    ]],
    ["an unknown method", `  local:\n    rules:\n      - match: { method: FETCH }\n${limit}`,
      ['rl.yaml:11:26 RateLimitPolicy shop/rl: spec.local.rules[0].match.method must be one of "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", not "FETCH"']],
    ["an unknown failure mode", "  global:\n    failureMode: deny\n    rules: [{ limit: { requests: 1, unit: second } }]\n",
      ['rl.yaml:10:18 RateLimitPolicy shop/rl: spec.global.failureMode must be one of "open", "closed", not "deny"']],
    ["an empty rule list", "  local: { rules: [] }\n",
      ["rl.yaml:9:19 RateLimitPolicy shop/rl: spec.local.rules must have at least 1 item(s)"]],
    ["targeting an HTTPRoute, across namespaces", "    - { group: gateway.networking.k8s.io, kind: HTTPRoute, name: r }\n    - { kind: Gateway, name: w, namespace: istio-system }\n  local: { rules: [{ limit: { requests: 1, unit: second } }] }\n", [
      'rl.yaml:9:49 RateLimitPolicy shop/rl: spec.targetRefs[1].kind must be one of Gateway, Service, ServiceEntry, not "HTTPRoute"',
      'rl.yaml:10:44 RateLimitPolicy shop/rl: spec.targetRefs[2].namespace must be the policy\'s own namespace "shop": a policy cannot attach across namespaces',
    ]],
    ["a Service reference with a group", "    - { group: networking.istio.io, kind: Service, name: s }\n  local: { rules: [{ limit: { requests: 1, unit: second } }] }\n",
      ['rl.yaml:9:16 RateLimitPolicy shop/rl: spec.targetRefs[1].group must be "" for kind Service, not "networking.istio.io"']],
  ];
  for (const [name, rest, want] of cases) {
    it(`rejects: ${name}`, () => {
      const got = problems(rl(rest));
      assert.equal(got.length, want.length, got.join("\n"));
      want.forEach((w, i) => (typeof w === "string" ? assert.equal(got[i], w) : assert.match(got[i]!, w)));
    });
  }
});
