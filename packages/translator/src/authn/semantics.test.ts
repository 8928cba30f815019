/**
 * End-to-end semantics of RequestAuthentication + AuthorizationPolicy on a waypoint's HTTP
 * chain, decided by evaluating the GENERATED config: the jwt_authn filter from jwtAuthnFilter and
 * the RBAC filters from rbacHttpFilters, in the waypoint's order (jwt_authn, then RBAC), run by
 * the test evaluator (../authz/testing/evaluate.ts with ./testing/jwt.ts). Tokens are really
 * signed (ES256) and verified against the key set in the config.
 *
 * Istio's contract: an invalid token is rejected (401) by jwt_authn; a missing token passes
 * jwt_authn and AuthorizationPolicy decides (403 when it requires a request principal); a valid
 * token's claims are what requestPrincipals / request.auth.* match.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuthorizationPolicySpec, JwtRule, LoadedResource } from "@waystation/api";
import { HttpFilterSchema, type HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { resource } from "../../../model/src/testing.js";
import { rbacHttpFilters } from "../authz/index.js";
import { evaluateHttpChain, type AuthzRequest, type ChainResult } from "../authz/testing/evaluate.js";
import { validateResource } from "../validate/index.js";
import { jwtAuthnFilter, securityHttpFilters } from "./index.js";
import { testIssuer } from "./testing/jwt.js";

const A = testIssuer("https://a.example.com");
const B = testIssuer("https://b.example.com", "kb");
const R = testIssuer("https://remote.example.com", "kr");
const remoteUri = "https://remote.example.com/jwks";
const now = 1_800_000_000;

const ruleA: JwtRule = { issuer: A.issuer, jwks: A.jwks, audiences: ["shop", "web"] };
const ruleB: JwtRule = { issuer: B.issuer, jwks: B.jwks };

interface Case {
  name: string;
  rules: JwtRule[][];
  policies?: AuthorizationPolicySpec[];
  req?: Partial<AuthzRequest>;
  /** Authorization: Bearer <token> */
  bearer?: string;
  want: 200 | 401 | 403;
  /** Checks on the result (headers the upstream would get, who denied). */
  check?: (r: ChainResult) => void;
  fetchJwks?: (uri: string) => string | undefined;
}

const claims = (extra: Record<string, unknown> = {}) => ({ sub: "alice", aud: "shop", exp: now + 600, ...extra });
const allowPrincipals = (...requestPrincipals: string[]): AuthorizationPolicySpec => ({ rules: [{ from: [{ source: { requestPrincipals } }] }] });
const allowWhen = (key: string, values: string[]): AuthorizationPolicySpec => ({ rules: [{ when: [{ key, values }] }] });

const cases: Case[] = [
  // jwt_authn alone: invalid tokens are rejected, missing ones pass
  { name: "no token, no policy: allowed", rules: [[ruleA]], want: 200 },
  { name: "valid token, no policy: allowed", rules: [[ruleA]], bearer: A.token(claims()), want: 200 },
  { name: "bad signature: 401", rules: [[ruleA]], bearer: A.token(claims(), { tamper: true }), want: 401, check: (r) => assert.equal(r.deniedBy, "envoy.filters.http.jwt_authn[JwtVerificationFail]") },
  { name: "token from an issuer no rule names: 401", rules: [[ruleA]], bearer: B.token(claims()), want: 401, check: (r) => assert.equal(r.deniedBy, "envoy.filters.http.jwt_authn[JwtUnknownIssuer]") },
  { name: "expired token: 401", rules: [[ruleA]], bearer: A.token(claims({ exp: now - 1 })), want: 401 },
  { name: "token not yet valid: 401", rules: [[ruleA]], bearer: A.token(claims({ nbf: now + 60 })), want: 401 },
  { name: "audience not accepted: 401", rules: [[ruleA]], bearer: A.token(claims({ aud: "billing" })), want: 401, check: (r) => assert.match(r.deniedBy!, /JwtAudienceNotAllowed/) },
  { name: "one accepted audience in a list is enough", rules: [[ruleA]], bearer: A.token(claims({ aud: ["billing", "web"] })), want: 200 },
  { name: "a token signed by another key with the right issuer: 401", rules: [[ruleA]], bearer: testIssuer(A.issuer).token(claims()), want: 401 },
  { name: "not a JWT at all: 401", rules: [[ruleA]], bearer: "not-a-token", want: 401 },
  { name: "an invalid token is rejected even where policy would allow anyone", rules: [[ruleA]], policies: [{ rules: [{}] }], bearer: A.token(claims(), { tamper: true }), want: 401 },

  // AuthorizationPolicy decides what a missing or valid token may do
  { name: "no token + ALLOW requestPrincipals [*]: 403", rules: [[ruleA]], policies: [allowPrincipals("*")], want: 403 },
  { name: "valid token + ALLOW requestPrincipals [*]: allowed", rules: [[ruleA]], policies: [allowPrincipals("*")], bearer: A.token(claims()), want: 200 },
  { name: "ALLOW requestPrincipals iss/sub: the right subject", rules: [[ruleA]], policies: [allowPrincipals(`${A.issuer}/alice`)], bearer: A.token(claims()), want: 200 },
  { name: "ALLOW requestPrincipals iss/sub: another subject is 403", rules: [[ruleA]], policies: [allowPrincipals(`${A.issuer}/alice`)], bearer: A.token(claims({ sub: "bob" })), want: 403 },
  { name: "ALLOW requestPrincipals iss/sub: the same subject of another issuer is 403", rules: [[ruleA], [ruleB]], policies: [allowPrincipals(`${A.issuer}/alice`)], bearer: B.token(claims()), want: 403 },
  { name: "DENY notRequestPrincipals [*] (Istio's 'require a token'): no token is 403", rules: [[ruleA]], policies: [{ action: "DENY", rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }] }], want: 403 },
  { name: "DENY notRequestPrincipals [*]: a valid token passes", rules: [[ruleA]], policies: [{ action: "DENY", rules: [{ from: [{ source: { notRequestPrincipals: ["*"] } }] }] }], bearer: A.token(claims()), want: 200 },
  { name: "claims[groups] contains admin: allowed", rules: [[ruleA]], policies: [allowWhen("request.auth.claims[groups]", ["admin"])], bearer: A.token(claims({ groups: ["dev", "admin"] })), want: 200 },
  { name: "claims[groups] without admin: 403", rules: [[ruleA]], policies: [allowWhen("request.auth.claims[groups]", ["admin"])], bearer: A.token(claims({ groups: ["dev"] })), want: 403 },
  { name: "claims[groups] as a plain string", rules: [[ruleA]], policies: [allowWhen("request.auth.claims[groups]", ["admin"])], bearer: A.token(claims({ groups: "admin" })), want: 200 },
  { name: "nested claim claims[org][role]", rules: [[ruleA]], policies: [allowWhen("request.auth.claims[org][role]", ["owner"])], bearer: A.token(claims({ org: { role: "owner" } })), want: 200 },
  { name: "a space-delimited scope claim matches one scope (normalized)", rules: [[ruleA]], policies: [allowWhen("request.auth.claims[scope]", ["write"])], bearer: A.token(claims({ scope: "read write" })), want: 200 },
  { name: "request.auth.audiences", rules: [[ruleA]], policies: [allowWhen("request.auth.audiences", ["web"])], bearer: A.token(claims({ aud: ["shop", "web"] })), want: 200 },
  { name: "request.auth.presenter", rules: [[ruleA]], policies: [allowWhen("request.auth.presenter", ["frontend"])], bearer: A.token(claims({ azp: "frontend" })), want: 200 },
  { name: "claims of a rejected token are never seen by RBAC", rules: [[ruleA]], policies: [allowWhen("request.auth.claims[groups]", ["admin"])], bearer: A.token(claims({ groups: ["admin"] }), { tamper: true }), want: 401 },

  // where the token is read
  { name: "default locations: access_token query parameter", rules: [[ruleA]], policies: [allowPrincipals("*")], req: { path: `/x?access_token=${A.token(claims())}` }, want: 200 },
  { name: "fromHeaders with a prefix", rules: [[{ ...ruleA, fromHeaders: [{ name: "x-jwt", prefix: "Token " }] }]], policies: [allowPrincipals("*")], req: { headers: { "x-jwt": `Token ${A.token(claims())}` } }, want: 200 },
  { name: "fromHeaders replaces the default: a Bearer token is not read (missing -> 403 by policy)", rules: [[{ ...ruleA, fromHeaders: [{ name: "x-jwt" }] }]], policies: [allowPrincipals("*")], bearer: A.token(claims()), want: 403 },
  { name: "fromHeaders replaces the default: an invalid Bearer token is not even looked at", rules: [[{ ...ruleA, fromHeaders: [{ name: "x-jwt" }] }]], bearer: "garbage", want: 200 },
  { name: "fromCookies", rules: [[{ ...ruleA, fromCookies: ["session"] }]], policies: [allowPrincipals("*")], req: { headers: { cookie: `a=1; session=${A.token(claims())}` } }, want: 200 },
  { name: "fromParams", rules: [[{ ...ruleA, fromParams: ["t"] }]], policies: [allowPrincipals("*")], req: { path: `/x?t=${A.token(claims())}` }, want: 200 },

  // several issuers (merged RequestAuthentications)
  { name: "two issuers: a valid token of either passes (B)", rules: [[ruleA], [ruleB]], policies: [allowPrincipals("*")], bearer: B.token(claims()), want: 200 },
  { name: "two issuers: a valid token of either passes (A)", rules: [[ruleA], [ruleB]], policies: [allowPrincipals("*")], bearer: A.token(claims()), want: 200 },
  { name: "two issuers: an invalid token of one is 401", rules: [[ruleA], [ruleB]], bearer: A.token(claims(), { tamper: true }), want: 401 },
  { name: "two issuers: a third issuer is 401", rules: [[ruleA], [ruleB]], bearer: R.token(claims()), want: 401 },
  { name: "two issuers: no token passes jwt_authn", rules: [[ruleA], [ruleB]], want: 200 },
  {
    // Istio's outer OR: with tokens at two providers' own locations, one valid token is enough;
    // the invalid one beside it is not checked further (the same holds in Istio).
    name: "two issuers at separate headers: a valid token at one lets an invalid one at the other through",
    rules: [[{ ...ruleA, fromHeaders: [{ name: "x-a" }] }], [{ ...ruleB, fromHeaders: [{ name: "x-b" }] }]],
    req: { headers: { "x-a": A.token(claims()), "x-b": "garbage" } }, want: 200,
  },
  { name: "two issuers at separate headers: an invalid token alone is 401", rules: [[{ ...ruleA, fromHeaders: [{ name: "x-a" }] }], [{ ...ruleB, fromHeaders: [{ name: "x-b" }] }]], req: { headers: { "x-b": "garbage" } }, want: 401 },

  // key sets
  { name: "remote key set: fetched and verified", rules: [[{ issuer: R.issuer, jwksUri: remoteUri }]], policies: [allowPrincipals(`${R.issuer}/alice`)], bearer: R.token(claims()), want: 200, fetchJwks: (u) => (u === remoteUri ? R.jwks : undefined) },
  { name: "remote key set unreachable: a token is 401, no token passes", rules: [[{ issuer: R.issuer, jwksUri: remoteUri }]], bearer: R.token(claims()), want: 401, fetchJwks: () => undefined, check: (r) => assert.match(r.deniedBy!, /JwksFetchFail/) },
  { name: "no usable key set (missing jwks): tokens are rejected", rules: [[{ issuer: A.issuer }]], bearer: A.token(claims()), want: 401 },
  { name: "no usable key set (missing jwks): no token still passes", rules: [[{ issuer: A.issuer }]], want: 200 },

  // what the upstream receives
  {
    name: "forwardOriginalToken unset: the token is removed before the upstream (and before RBAC, which reads metadata instead)",
    rules: [[ruleA]], policies: [allowPrincipals("*")], bearer: A.token(claims()), want: 200,
    check: (r) => assert.equal(r.headers.authorization, undefined),
  },
  {
    name: "forwardOriginalToken true: the token reaches the upstream",
    rules: [[{ ...ruleA, forwardOriginalToken: true }]], bearer: A.token(claims()), want: 200,
    check: (r) => assert.match(r.headers.authorization!, /^Bearer ey/),
  },
  {
    name: "outputClaimToHeaders and outputPayloadToHeader",
    rules: [[{ ...ruleA, outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }, { header: "x-role", claim: "org.role" }], outputPayloadToHeader: "x-jwt-payload" }]],
    bearer: A.token(claims({ org: { role: "owner" } })), want: 200,
    check: (r) => {
      assert.equal(r.headers["x-sub"], "alice");
      assert.equal(r.headers["x-role"], "owner");
      assert.equal((JSON.parse(Buffer.from(r.headers["x-jwt-payload"]!, "base64url").toString()) as { sub: string }).sub, "alice");
    },
  },
  {
    name: "an invalid token changes no header",
    rules: [[{ ...ruleA, outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }] }]], bearer: A.token(claims(), { tamper: true }), want: 401,
    check: (r) => assert.equal(r.headers["x-sub"], undefined),
  },
  { name: "a CORS preflight is not authenticated (bypass_cors_preflight)", rules: [[ruleA]], req: { method: "OPTIONS", headers: { origin: "https://ui.example.com", "access-control-request-method": "POST" } }, bearer: "garbage", want: 200 },
];

const base: AuthzRequest = { method: "GET", path: "/reviews/1", host: "reviews.shop.svc.cluster.local:9080", sourceIp: "10.244.1.7", peerPrincipal: "spiffe://cluster.local/ns/shop/sa/productpage" };

function chain(c: Case): HttpFilter[] {
  const ras: LoadedResource[] = c.rules.map((rules, i) => resource("RequestAuthentication", "shop", `ra${i}`, { jwtRules: rules }));
  const aps = (c.policies ?? []).map((spec, i) => resource("AuthorizationPolicy", "shop", `ap${i}`, spec));
  const jwt = jwtAuthnFilter(ras);
  const filters = [jwt.filter!, ...rbacHttpFilters(aps).filters];
  for (const f of filters) assert.deepEqual(validateResource(HttpFilterSchema, f).errors, [], f.name);
  return filters;
}

describe("RequestAuthentication + AuthorizationPolicy on a waypoint chain (generated config, evaluated)", () => {
  it("has at least 40 cases", () => assert.ok(cases.length >= 40, String(cases.length)));
  for (const c of cases) {
    it(c.name, () => {
      const headers = { ...c.req?.headers, ...(c.bearer !== undefined ? { authorization: `Bearer ${c.bearer}` } : {}) };
      const req: AuthzRequest = { ...base, ...c.req, headers };
      const r = evaluateHttpChain(chain(c), req, undefined, { now, ...(c.fetchJwks ? { fetchJwks: c.fetchJwks } : {}) });
      assert.equal(r.allowed ? 200 : r.status, c.want, r.deniedBy);
      c.check?.(r);
      // The request the caller passed in is never changed.
      assert.deepEqual(req.headers, headers);
    });
  }
});

describe("CUSTOM ext_authz runs before jwt_authn (Istio's order)", () => {
  const providers = { extensionProviders: [{ name: "ext", envoyExtAuthzGrpc: { service: "ext.auth.svc.cluster.local", port: 9000 } }] };
  const filters = () => {
    const authz = rbacHttpFilters([
      resource("AuthorizationPolicy", "shop", "ext", { action: "CUSTOM", provider: { name: "ext" }, rules: [{ to: [{ operation: { paths: ["/admin*"] } }] }] }),
      resource("AuthorizationPolicy", "shop", "need-jwt", { rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }),
    ], providers);
    const fs = securityHttpFilters({ httpFilters: authz.filters, customHttpFilters: authz.custom }, jwtAuthnFilter([resource("RequestAuthentication", "shop", "ra", { jwtRules: [ruleA] })]));
    for (const f of fs) assert.deepEqual(validateResource(HttpFilterSchema, f).errors, [], f.name);
    return fs;
  };
  const run = (path: string, bearer: string | undefined, ext: boolean) => evaluateHttpChain(filters(),
    { ...base, path, headers: bearer ? { authorization: `Bearer ${bearer}` } : {} }, () => ext, { now });

  it("ext_authz denies first: 403 even with an invalid token", () => {
    const r = run("/admin/x", A.token(claims(), { tamper: true }), false);
    assert.deepEqual([r.status, r.deniedBy, r.extAuthzCalled], [403, "ext_authz", true]);
  });
  it("ext_authz allows, then jwt_authn rejects an invalid token: 401", () => {
    const r = run("/admin/x", A.token(claims(), { tamper: true }), true);
    assert.deepEqual([r.status, r.extAuthzCalled], [401, true]);
  });
  it("ext_authz allows, a valid token, RBAC allows", () => {
    assert.equal(run("/admin/x", A.token(claims()), true).allowed, true);
  });
  it("a path CUSTOM does not select skips ext_authz; no token: RBAC 403", () => {
    const r = run("/public", undefined, true);
    assert.deepEqual([r.status, r.extAuthzCalled], [403, false]);
  });
});
