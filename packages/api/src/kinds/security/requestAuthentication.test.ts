import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { RequestAuthenticationSpec } from "./requestAuthentication.js";

const load = (text: string) => loadManifests([{ path: "jwt.yaml", text }], defaultValidator());
const problems = (text: string) => load(text).problems.map(formatProblem);

/** A RequestAuthentication `shop/jwt` whose spec body starts on line 7. */
const ra = (spec: string, apiVersion = "security.istio.io/v1") => `apiVersion: ${apiVersion}
kind: RequestAuthentication
metadata:
  name: jwt
  namespace: shop
spec:
${spec}`;

const realistic = `  targetRefs:
    - kind: Gateway
      group: gateway.networking.k8s.io
      name: waypoint
  jwtRules:
    - issuer: https://accounts.example.com
      audiences: [shop, shop-admin]
      jwksUri: https://accounts.example.com/.well-known/jwks.json
      fromHeaders:
        - name: Authorization
          prefix: "Bearer "
        - name: x-jwt-assertion
      fromParams: [access_token]
      fromCookies: [session]
      outputPayloadToHeader: x-jwt-payload
      outputClaimToHeaders:
        - { header: x-user-id, claim: sub }
        - { header: x-tenant, claim: org.tenant }
      forwardOriginalToken: true
      timeout: 5s
    - issuer: testing@secure.istio.io
      jwks: '{"keys":[{"kty":"RSA","e":"AQAB","kid":"k1","n":"xAE7eB6qugXyCAG3yhh7pkDkT65pHymX"}]}'
`;

describe("RequestAuthentication", () => {
  it("loads a realistic policy clean, typed", () => {
    const r = load(ra(realistic));
    assert.deepEqual(r.problems.map(formatProblem), []);
    const spec = r.resources[0]!.object.spec as RequestAuthenticationSpec;
    assert.equal(spec.jwtRules?.[0]?.outputClaimToHeaders?.[1]?.claim, "org.tenant");
  });

  it("loads v1beta1 unchanged and normalises it to v1", () => {
    const r = load(ra(realistic, "security.istio.io/v1beta1"));
    assert.deepEqual(r.problems, []);
    assert.equal(r.resources[0]!.object.apiVersion, "security.istio.io/v1");
  });

  it("accepts a selector-based policy with only an issuer", () => {
    assert.deepEqual(problems(ra("  selector: { matchLabels: { app: a } }\n  jwtRules: [{ issuer: a }]\n")), []);
  });

  const cases: [name: string, spec: string, want: (string | RegExp)[]][] = [
    ["missing issuer", "  jwtRules:\n    - audiences: [a]\n",
      ["jwt.yaml:8:7 RequestAuthentication shop/jwt: spec.jwtRules[0].issuer is required"]],
    ["empty issuer", "  jwtRules:\n    - issuer: \"\"\n",
      ["jwt.yaml:8:15 RequestAuthentication shop/jwt: spec.jwtRules[0].issuer must not be empty"]],
    ["jwks and jwksUri together", "  jwtRules:\n    - issuer: a\n      jwksUri: https://a/jwks\n      jwks: '{\"keys\":[{}]}'\n",
      ["jwt.yaml:10:13 RequestAuthentication shop/jwt: spec.jwtRules[0].jwks cannot be combined with jwksUri: give the key set inline or say where to fetch it, not both"]],
    ["jwksUri not a URL", "  jwtRules:\n    - issuer: a\n      jwksUri: accounts.example.com/jwks\n",
      ['jwt.yaml:9:16 RequestAuthentication shop/jwt: spec.jwtRules[0].jwksUri must be an http:// or https:// URL, not "accounts.example.com/jwks"']],
    ["jwksUri with another scheme", "  jwtRules:\n    - issuer: a\n      jwksUri: file:///etc/jwks.json\n",
      ['jwt.yaml:9:16 RequestAuthentication shop/jwt: spec.jwtRules[0].jwksUri must be an http:// or https:// URL, not "file:///etc/jwks.json"']],
    ["jwks not JSON", "  jwtRules:\n    - issuer: a\n      jwks: \"{keys: []}\"\n",
      [/^jwt\.yaml:9:13 RequestAuthentication shop\/jwt: spec\.jwtRules\[0\]\.jwks must be a JSON Web Key Set in JSON: /]],
    ["jwks without a keys array", "  jwtRules:\n    - issuer: a\n      jwks: '{\"kty\":\"RSA\"}'\n",
      ['jwt.yaml:9:13 RequestAuthentication shop/jwt: spec.jwtRules[0].jwks must be a JSON Web Key Set: a JSON object with a "keys" array']],
    ["jwks with no keys", "  jwtRules:\n    - issuer: a\n      jwks: '{\"keys\":[]}'\n",
      ['jwt.yaml:9:13 RequestAuthentication shop/jwt: spec.jwtRules[0].jwks must be a JSON Web Key Set with at least one key in "keys"']],
    ["bad header names", "  jwtRules:\n    - issuer: a\n      fromHeaders: [{ name: \"x jwt\" }]\n      outputClaimToHeaders: [{ header: \"x-user:id\", claim: sub }]\n", [
      "jwt.yaml:9:29 RequestAuthentication shop/jwt: spec.jwtRules[0].fromHeaders[0].name must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~, optionally after a leading ':')",
      "jwt.yaml:10:40 RequestAuthentication shop/jwt: spec.jwtRules[0].outputClaimToHeaders[0].header must be an HTTP header name (letters, digits and !#$%&'*+-.^_`|~, optionally after a leading ':')",
    ]],
    ["claim header without a claim", "  jwtRules:\n    - issuer: a\n      outputClaimToHeaders: [{ header: x-a }]\n",
      ["jwt.yaml:9:30 RequestAuthentication shop/jwt: spec.jwtRules[0].outputClaimToHeaders[0].claim is required"]],
    ["timeout not a duration", "  jwtRules:\n    - issuer: a\n      timeout: 5sec\n",
      ['jwt.yaml:9:16 RequestAuthentication shop/jwt: spec.jwtRules[0].timeout must be a duration such as "10s", "1m30s" or "250ms", not "5sec"']],
    ["zero timeout", "  jwtRules:\n    - issuer: a\n      timeout: 0s\n",
      ["jwt.yaml:9:16 RequestAuthentication shop/jwt: spec.jwtRules[0].timeout must be greater than 0"]],
    ["duplicate issuers warn", "  jwtRules:\n    - issuer: a\n    - issuer: b\n    - issuer: a\n",
      ["jwt.yaml:10:15 warning: RequestAuthentication shop/jwt: spec.jwtRules[2].issuer repeats the issuer of spec.jwtRules[0]; merge the two rules into one (audiences and token locations are lists)"]],
    ["selector with targetRef", "  selector: { matchLabels: { app: a } }\n  targetRef: { kind: Service, name: a }\n",
      ["jwt.yaml:8:14 RequestAuthentication shop/jwt: spec.targetRef cannot be combined with selector: a policy attaches either to workloads (selector) or to Gateways and Services (targetRefs)"]],
    ["targetRefs to a Pod", "  targetRefs: [{ kind: Pod, name: a }]\n",
      ['jwt.yaml:7:24 RequestAuthentication shop/jwt: spec.targetRefs[0].kind must be one of Gateway, GatewayClass, Service, ServiceEntry, not "Pod"']],
    ["unknown field", "  jwtRules: [{ issuer: a, jwks_uri: \"https://a\" }]\n",
      ['jwt.yaml:7:27 RequestAuthentication shop/jwt: spec.jwtRules[0].jwks_uri is not a known field (did you mean "jwksUri"?)']],
  ];
  for (const [name, spec, want] of cases) {
    it(`rejects: ${name}`, () => {
      const got = problems(ra(spec));
      assert.equal(got.length, want.length, got.join("\n"));
      want.forEach((w, i) => (typeof w === "string" ? assert.equal(got[i], w) : assert.match(got[i]!, w)));
    });
  }

  it("keeps the policy with a duplicate-issuer warning", () => {
    assert.equal(load(ra("  jwtRules: [{ issuer: a }, { issuer: a }]\n")).resources.length, 1);
  });
});
