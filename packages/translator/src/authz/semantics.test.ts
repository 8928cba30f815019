/**
 * Semantic table: (AuthorizationPolicies, request) -> allow/deny, decided by evaluating the
 * GENERATED Envoy config, not by re-implementing Istio's rules. Each case:
 *  1. builds the filters with rbacHttpFilters / rbacNetworkFilters and validates every filter
 *     with the strict Envoy validator;
 *  2. runs them through our evaluator of Envoy's RBAC/ext_authz filter chain (testing/evaluate.ts);
 *  3. where the config only uses matchers gRPC's RBAC engine (@grpc/grpc-js-xds) implements,
 *     cross-checks every enforcing RBAC filter, and the chain's verdict, against that engine.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { after, describe, it } from "node:test";
import { toJson, type JsonValue, type Message } from "@bufbuild/protobuf";
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import type { AuthorizationPolicySpec, AuthzRule, LoadedResource } from "@waystation/api";
import { FilterSchema } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { RBACSchema, RBAC_Action, type RBAC } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import { HttpFilterSchema } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { resource } from "../../../model/src/testing.js";
import { validateResource } from "../validate/index.js";
import { registry } from "../validate/registry.js";
import { rbacHttpFilters, rbacNetworkFilters, type AuthzOptions } from "./index.js";
import { evaluateHttpChain, evaluateNetworkChain, rbacAllows, type AuthzRequest } from "./testing/evaluate.js";

// ---- gRPC's RBAC engine as an oracle (shared/reference/toolchain.md §4) ----
const require = createRequire(import.meta.url);
const xdsDir = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
require("@grpc/grpc-js-xds"); // loads google/protobuf descriptors protobufjs needs
interface ProtoType { fromObject(o: unknown): unknown; toObject(m: unknown, o: unknown): unknown }
const { loadProtosWithOptionsSync } = require(require.resolve("@grpc/proto-loader/build/src/util", { paths: [xdsDir] })) as
  { loadProtosWithOptionsSync(files: string[], o: unknown): { lookupType(n: string): ProtoType } };
const { parseConfig } = require(`${xdsDir}/build/src/rbac`) as { parseConfig(c: unknown): { apply(info: unknown): boolean } };
const OracleRBAC = loadProtosWithOptionsSync(["envoy/config/rbac/v3/rbac.proto"], {
  keepCase: true, includeDirs: ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => `${xdsDir}/deps/${d}/`),
}).lookupType("envoy.config.rbac.v3.RBAC");

const unsupportedByOracle = new Set(["filter_state", "metadata", "requested_server_name", "authenticated", "uri_template", "matcher", "destination_port_range"]);
function oracleCanRun(json: JsonValue, req: AuthzRequest): boolean {
  if (Array.isArray(json)) return json.every((x) => oracleCanRun(x, req));
  if (json === null || typeof json !== "object") return true;
  return Object.entries(json).every(([k, v]) => !unsupportedByOracle.has(k)
    // gRPC reads remote_ip as the peer address: only comparable when both are the same.
    && !(k === "remote_ip" && req.remoteIp !== undefined && req.remoteIp !== req.sourceIp)
    && oracleCanRun(v, req));
}
/** protobufjs wants wrapper messages as objects: CidrRange.prefix_len {value}. */
function wrapPrefixLen(json: JsonValue): JsonValue {
  if (Array.isArray(json)) return json.map(wrapPrefixLen);
  if (json === null || typeof json !== "object") return json;
  return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, k === "prefix_len" ? { value: v } : wrapPrefixLen(v)]));
}
function oracleAllows(rbac: RBAC, req: AuthzRequest): boolean {
  const json = wrapPrefixLen(toJson(RBACSchema, rbac, { useProtoFieldName: true }));
  const group = parseConfig(OracleRBAC.toObject(OracleRBAC.fromObject(json), { longs: String, enums: String, defaults: true, oneofs: true }));
  const headers: Record<string, string | undefined> = { ":method": req.method, ":path": req.path, ":authority": req.host };
  for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
  return group.apply({
    headers: { get: (k: string) => (headers[k] === undefined ? [] : [headers[k]]) },
    urlPath: (req.path ?? "/").split("?")[0], destinationIp: req.destinationIp, destinationPort: req.destinationPort,
    sourceIp: req.sourceIp, tls: false, peerCertificate: null,
  });
}

// ---- the table ----
type Pol = AuthorizationPolicySpec & { name?: string; ns?: string; dryRun?: boolean };
interface Case {
  name: string;
  policies: Pol[];
  req?: Partial<AuthzRequest>;
  want: "allow" | "deny";
  chain?: "http" | "tcp";
  /** The ext_authz server's answer; it must be consulted exactly when this is set, unless extAuthzCalled says otherwise. */
  extAuthz?: "allow" | "deny";
  extAuthzCalled?: boolean;
  options?: AuthzOptions;
  logged?: boolean;
  conditions?: RegExp[];
}

const allow = (...rules: AuthzRule[]): Pol => ({ action: "ALLOW", rules });
const deny = (...rules: AuthzRule[]): Pol => ({ action: "DENY", rules });
const custom = (provider: string, ...rules: AuthzRule[]): Pol => ({ action: "CUSTOM", provider: { name: provider }, rules });
const src = (source: NonNullable<AuthzRule["from"]>[number]["source"]): AuthzRule => ({ from: [{ source }] });
const op = (operation: NonNullable<AuthzRule["to"]>[number]["operation"]): AuthzRule => ({ to: [{ operation }] });
const when = (key: string, values?: string[], notValues?: string[]): AuthzRule =>
  ({ when: [{ key, ...(values ? { values } : {}), ...(notValues ? { notValues } : {}) }] });

const base: AuthzRequest = {
  method: "GET", path: "/", host: "reviews.shop.svc.cluster.local:9080",
  sourceIp: "10.244.1.7", destinationIp: "10.96.0.12", destinationPort: 9080,
  peerPrincipal: "spiffe://cluster.local/ns/shop/sa/productpage",
};
const tcp: Partial<AuthzRequest> = { method: undefined, path: undefined, host: undefined, destinationPort: 5432 };
const jwt = {
  iss: "https://issuer.example.com", sub: "alice", aud: ["api", "web"], azp: "frontend",
  claims: { groups: ["admins", "dev"], org: { role: "owner" }, tier: "gold" },
};
const gha = { iss: "https://token.actions.githubusercontent.com", sub: "repo:octo/app:ref:refs/heads/main" };
const providers: AuthzOptions = {
  extensionProviders: [
    { name: "ext-grpc", envoyExtAuthzGrpc: { service: "auth/ext.auth.svc.cluster.local", port: 9000 } },
    { name: "ext-http", envoyExtAuthzHttp: { service: "ext-http.auth.svc.cluster.local", port: 8000, includeRequestHeadersInCheck: ["x-user"] } },
  ],
};

const cases: Case[] = [
  // evaluation order and policy/rule structure
  { name: "no policy allows", policies: [], want: "allow" },
  { name: "ALLOW without rules denies everything", policies: [{ action: "ALLOW" }], want: "deny" },
  { name: "ALLOW with rules: [] denies everything", policies: [allow()], want: "deny" },
  { name: "ALLOW with rules: [{}] allows everything", policies: [allow({})], want: "allow" },
  { name: "DENY with rules: [{}] denies everything", policies: [deny({})], want: "deny" },
  { name: "DENY without rules denies nothing", policies: [{ action: "DENY" }], want: "allow" },
  { name: "a matching DENY wins over a matching ALLOW", policies: [allow({}), deny(op({ methods: ["GET"] }))], want: "deny" },
  { name: "a non-matching DENY and no ALLOW allow", policies: [deny(op({ methods: ["POST"] }))], want: "allow" },
  { name: "ALLOW policies: one matching is enough", policies: [allow(op({ methods: ["POST"] })), { ...allow(op({ methods: ["GET"] })), name: "q" }], want: "allow" },
  { name: "ALLOW policies: none matching denies", policies: [allow(op({ methods: ["POST"] })), { ...allow(op({ paths: ["/x"] })), name: "q" }], want: "deny" },
  { name: "rules are OR-ed", policies: [allow(op({ methods: ["POST"] }), op({ paths: ["/"] }))], want: "allow" },
  { name: "from and to are AND-ed (to fails)", policies: [allow({ ...src({ namespaces: ["shop"] }), ...op({ methods: ["POST"] }) })], want: "deny" },
  { name: "from and to are AND-ed (both match)", policies: [allow({ ...src({ namespaces: ["shop"] }), ...op({ methods: ["GET"] }) })], want: "allow" },
  { name: "from entries are OR-ed", policies: [allow({ from: [{ source: { namespaces: ["other"] } }, { source: { ipBlocks: ["10.244.0.0/16"] } }] })], want: "allow" },
  { name: "to entries are OR-ed", policies: [allow({ to: [{ operation: { methods: ["POST"] } }, { operation: { paths: ["/"] } }] })], want: "allow" },
  { name: "when is AND-ed with from and to", policies: [allow({ ...src({ namespaces: ["shop"] }), ...when("request.headers[x-a]", ["1"]) })], want: "deny" },
  { name: "conditions in one when list are AND-ed", policies: [allow({ when: [{ key: "source.ip", values: ["10.244.1.7"] }, { key: "destination.port", values: ["80"] }] })], want: "deny" },
  { name: "fields in one source are AND-ed", policies: [allow(src({ namespaces: ["shop"], ipBlocks: ["192.168.0.0/16"] }))], want: "deny" },
  { name: "values are OR-ed", policies: [allow(op({ methods: ["POST", "GET"] }))], want: "allow" },
  { name: "notValues: none may match", policies: [allow(op({ notPaths: ["/a", "/"] }))], want: "deny" },
  { name: "notValues: allowed when none matches", policies: [allow(op({ notPaths: ["/a", "/b"] }))], want: "allow" },
  { name: "values and notValues together (allowed)", policies: [allow(op({ paths: ["/api/*"], notPaths: ["/api/admin"] }))], req: { path: "/api/list" }, want: "allow" },
  { name: "values and notValues together (excluded)", policies: [allow(op({ paths: ["/api/*"], notPaths: ["/api/admin"] }))], req: { path: "/api/admin" }, want: "deny" },
  { name: "AUDIT never denies, and logs a match", policies: [{ action: "AUDIT", rules: [{}] }], want: "allow", logged: true },
  { name: "AUDIT does not count as ALLOW", policies: [{ action: "AUDIT", rules: [{}] }, allow(op({ methods: ["POST"] }))], want: "deny", logged: true },
  { name: "dry-run DENY is not enforced", policies: [{ ...deny({}), dryRun: true }], want: "allow" },
  { name: "dry-run ALLOW is not enforced", policies: [{ ...allow(op({ methods: ["POST"] })), dryRun: true }], want: "allow" },
  { name: "dry-run beside an enforced DENY", policies: [{ ...deny({}), dryRun: true }, { ...deny(op({ methods: ["GET"] })), name: "q" }], want: "deny" },

  // CUSTOM
  { name: "CUSTOM: a selected request goes to ext_authz, which denies", policies: [custom("ext-grpc", op({ paths: ["/admin*"] }))], req: { path: "/admin/x" }, extAuthz: "deny", want: "deny" },
  { name: "CUSTOM: a selected request goes to ext_authz, which allows", policies: [custom("ext-http", op({ paths: ["/admin*"] }))], req: { path: "/admin/x" }, extAuthz: "allow", want: "allow" },
  { name: "CUSTOM: other requests skip ext_authz", policies: [custom("ext-grpc", op({ paths: ["/admin*"] }))], req: { path: "/public" }, extAuthz: "deny", extAuthzCalled: false, want: "allow" },
  { name: "CUSTOM then DENY: ext_authz allows, DENY still denies", policies: [custom("ext-grpc", {}), deny(op({ methods: ["GET"] }))], extAuthz: "allow", want: "deny" },
  { name: "CUSTOM before ALLOW: ext_authz denies what ALLOW would allow", policies: [custom("ext-grpc", {}), allow({})], extAuthz: "deny", want: "deny" },
  { name: "CUSTOM with an unknown provider denies what it selects", policies: [custom("nope", op({ paths: ["/admin*"] }))], req: { path: "/admin" }, want: "deny",
    conditions: [/UnknownProvider: spec\.provider\.name: extension provider "nope" is not defined in the mesh config \(defined: ext-grpc, ext-http\); requests this policy selects are denied/] },
  { name: "CUSTOM with an unknown provider leaves the rest alone", policies: [custom("nope", op({ paths: ["/admin*"] }))], req: { path: "/public" }, want: "allow", conditions: [/UnknownProvider/] },
  { name: "CUSTOM policies naming two providers fail closed", policies: [custom("ext-grpc", {}), { ...custom("ext-http", op({ paths: ["/x"] })), name: "q" }], want: "deny", conditions: [/MultipleProviders/, /MultipleProviders/] },

  // from.source
  { name: "principals: exact", policies: [allow(src({ principals: ["cluster.local/ns/shop/sa/productpage"] }))], want: "allow" },
  { name: "principals: exact, other identity", policies: [allow(src({ principals: ["cluster.local/ns/shop/sa/ratings"] }))], want: "deny" },
  { name: "principals: written with spiffe://", policies: [allow(src({ principals: ["spiffe://cluster.local/ns/shop/sa/productpage"] }))], want: "allow" },
  { name: "principals: prefix", policies: [allow(src({ principals: ["cluster.local/ns/shop/*"] }))], want: "allow" },
  { name: "principals: suffix", policies: [allow(src({ principals: ["*/sa/productpage"] }))], want: "allow" },
  { name: "principals: * needs an identity", policies: [allow(src({ principals: ["*"] }))], req: { peerPrincipal: undefined }, want: "deny" },
  { name: "notPrincipals", policies: [deny(src({ notPrincipals: ["cluster.local/ns/shop/sa/productpage"] }))], req: { peerPrincipal: "spiffe://cluster.local/ns/shop/sa/evil" }, want: "deny" },
  { name: "principals: cluster.local means the mesh trust domain too", policies: [allow(src({ principals: ["cluster.local/ns/shop/sa/productpage"] }))],
    req: { peerPrincipal: "spiffe://example.org/ns/shop/sa/productpage" }, options: { trustDomain: "example.org" }, want: "allow" },
  { name: "namespaces", policies: [allow(src({ namespaces: ["shop"] }))], want: "allow" },
  { name: "namespaces: other namespace", policies: [allow(src({ namespaces: ["shopping"] }))], want: "deny" },
  { name: "namespaces: prefix wildcard", policies: [allow(src({ namespaces: ["sh*"] }))], want: "allow" },
  { name: "notNamespaces in DENY", policies: [deny(src({ notNamespaces: ["shop", "ops"] }))], req: { peerPrincipal: "spiffe://cluster.local/ns/dev/sa/x" }, want: "deny" },
  { name: "serviceAccounts", policies: [allow(src({ serviceAccounts: ["shop/productpage"] }))], want: "allow" },
  { name: "serviceAccounts: a longer name is another account", policies: [allow(src({ serviceAccounts: ["shop/product"] }))], want: "deny" },
  { name: "notServiceAccounts", policies: [allow(src({ notServiceAccounts: ["shop/productpage"] }))], want: "deny" },
  { name: "ipBlocks", policies: [allow(src({ ipBlocks: ["10.244.0.0/16"] }))], want: "allow" },
  { name: "ipBlocks: a single address", policies: [allow(src({ ipBlocks: ["10.244.1.8"] }))], want: "deny" },
  { name: "ipBlocks: IPv6", policies: [allow(src({ ipBlocks: ["fd00:10:244::/48"] }))], req: { sourceIp: "fd00:10:244::7" }, want: "allow" },
  { name: "notIpBlocks", policies: [deny(src({ notIpBlocks: ["10.0.0.0/8"] }))], req: { sourceIp: "192.168.1.1" }, want: "deny" },
  { name: "remoteIpBlocks use the forwarded client", policies: [allow(src({ remoteIpBlocks: ["203.0.113.0/24"] }))], req: { remoteIp: "203.0.113.9" }, want: "allow" },
  { name: "remoteIpBlocks ignore the peer address", policies: [allow(src({ remoteIpBlocks: ["10.244.0.0/16"] }))], req: { remoteIp: "203.0.113.9" }, want: "deny" },
  { name: "notRemoteIpBlocks", policies: [deny(src({ notRemoteIpBlocks: ["203.0.113.0/24"] }))], req: { remoteIp: "198.51.100.1" }, want: "deny" },
  { name: "requestPrincipals: iss/sub", policies: [allow(src({ requestPrincipals: ["https://issuer.example.com/alice"] }))], req: { jwt }, want: "allow" },
  { name: "requestPrincipals: no token", policies: [allow(src({ requestPrincipals: ["https://issuer.example.com/alice"] }))], want: "deny" },
  { name: "requestPrincipals: a subject containing /", policies: [allow(src({ requestPrincipals: ["https://token.actions.githubusercontent.com/repo:octo/app:ref:refs/heads/main"] }))], req: { jwt: gha }, want: "allow" },
  { name: "requestPrincipals: issuer prefix", policies: [allow(src({ requestPrincipals: ["https://issuer.example.com/*"] }))], req: { jwt }, want: "allow" },
  { name: "requestPrincipals: prefix into the subject", policies: [allow(src({ requestPrincipals: ["https://issuer.example.com/al*"] }))], req: { jwt: { ...jwt, sub: "bob" } }, want: "deny" },
  { name: "requestPrincipals: suffix", policies: [allow(src({ requestPrincipals: ["*/alice"] }))], req: { jwt: { ...jwt, iss: "https://other.example.com" } }, want: "allow" },
  { name: "requestPrincipals: * with a token", policies: [allow(src({ requestPrincipals: ["*"] }))], req: { jwt }, want: "allow" },
  { name: "notRequestPrincipals: * denies requests without a token", policies: [deny(src({ notRequestPrincipals: ["*"] }))], want: "deny" },
  { name: "notRequestPrincipals: * lets a token through", policies: [deny(src({ notRequestPrincipals: ["*"] }))], req: { jwt }, want: "allow" },

  // to.operation
  { name: "hosts: a host without port matches :authority with a port", policies: [allow(op({ hosts: ["reviews.shop.svc.cluster.local"] }))], want: "allow" },
  { name: "hosts: case-insensitive", policies: [allow(op({ hosts: ["Reviews.Shop.svc.cluster.local"] }))], want: "allow" },
  { name: "hosts: suffix wildcard", policies: [allow(op({ hosts: ["*.shop.svc.cluster.local"] }))], want: "allow" },
  { name: "hosts: prefix wildcard", policies: [allow(op({ hosts: ["reviews.*"] }))], want: "allow" },
  { name: "hosts: explicit port must match", policies: [allow(op({ hosts: ["reviews.shop.svc.cluster.local:8080"] }))], want: "deny" },
  { name: "hosts: another host with the same prefix", policies: [allow(op({ hosts: ["reviews"] }))], req: { host: "reviews-v2:9080" }, want: "deny" },
  { name: "notHosts in DENY", policies: [deny(op({ notHosts: ["ratings.shop.svc.cluster.local"] }))], want: "deny" },
  { name: "ports", policies: [allow(op({ ports: ["9080"] }))], want: "allow" },
  { name: "ports: other port", policies: [allow(op({ ports: ["8080"] }))], want: "deny" },
  { name: "notPorts", policies: [allow(op({ notPorts: ["9080"] }))], want: "deny" },
  { name: "methods", policies: [allow(op({ methods: ["GET", "HEAD"] }))], req: { method: "POST" }, want: "deny" },
  { name: "notMethods", policies: [allow(op({ notMethods: ["DELETE"] }))], want: "allow" },
  { name: "paths: exact, query string ignored", policies: [allow(op({ paths: ["/reviews"] }))], req: { path: "/reviews?id=1" }, want: "allow" },
  { name: "paths: prefix", policies: [allow(op({ paths: ["/api/*"] }))], req: { path: "/api/v1" }, want: "allow" },
  { name: "paths: suffix", policies: [allow(op({ paths: ["*.css"] }))], req: { path: "/static/site.css" }, want: "allow" },
  { name: "paths: *", policies: [allow(op({ paths: ["*"] }))], req: { path: "/anything" }, want: "allow" },
  { name: "paths: {*} is one segment", policies: [allow(op({ paths: ["/api/{*}/items"] }))], req: { path: "/api/v1/items" }, want: "allow" },
  { name: "paths: {*} is not two segments", policies: [allow(op({ paths: ["/api/{*}/items"] }))], req: { path: "/api/v1/v2/items" }, want: "deny" },
  { name: "paths: {**} is any rest", policies: [allow(op({ paths: ["/static/{**}"] }))], req: { path: "/static/css/a.css" }, want: "allow" },
  { name: "paths: notPaths template in DENY", policies: [deny(op({ notPaths: ["/public/{**}"] }))], req: { path: "/private/x" }, want: "deny" },

  // when
  { name: "when request.headers", policies: [allow(when("request.headers[X-Tenant]", ["acme", "glob*"]))], req: { headers: { "x-tenant": "globex" } }, want: "allow" },
  { name: "when request.headers: absent header", policies: [allow(when("request.headers[x-tenant]", ["*"]))], want: "deny" },
  { name: "when request.headers notValues", policies: [deny(when("request.headers[x-debug]", undefined, ["off"]))], req: { headers: { "x-debug": "on" } }, want: "deny" },
  { name: "when source.ip", policies: [allow(when("source.ip", ["10.244.1.0/24"]))], want: "allow" },
  { name: "when remote.ip", policies: [allow(when("remote.ip", ["203.0.113.9"]))], req: { remoteIp: "203.0.113.9" }, want: "allow" },
  { name: "when source.namespace", policies: [allow(when("source.namespace", ["ops"]))], want: "deny" },
  { name: "when source.principal", policies: [allow(when("source.principal", ["cluster.local/ns/shop/sa/productpage"]))], want: "allow" },
  { name: "when source.serviceAccount", policies: [allow(when("source.serviceAccount", ["shop/productpage"]))], want: "allow" },
  { name: "when request.auth.principal", policies: [allow(when("request.auth.principal", ["https://issuer.example.com/alice"]))], req: { jwt }, want: "allow" },
  { name: "when request.auth.audiences: aud is a list", policies: [allow(when("request.auth.audiences", ["web"]))], req: { jwt }, want: "allow" },
  { name: "when request.auth.audiences: aud is a string", policies: [allow(when("request.auth.audiences", ["web"]))], req: { jwt: { ...jwt, aud: "web" } }, want: "allow" },
  { name: "when request.auth.audiences: no such audience", policies: [allow(when("request.auth.audiences", ["admin"]))], req: { jwt }, want: "deny" },
  { name: "when request.auth.presenter", policies: [allow(when("request.auth.presenter", ["front*"]))], req: { jwt }, want: "allow" },
  { name: "when request.auth.claims: list claim", policies: [allow(when("request.auth.claims[groups]", ["admins"]))], req: { jwt }, want: "allow" },
  { name: "when request.auth.claims: nested claim", policies: [allow(when("request.auth.claims[org][role]", ["owner"]))], req: { jwt }, want: "allow" },
  { name: "when request.auth.claims: notValues", policies: [allow(when("request.auth.claims[tier]", undefined, ["gold"]))], req: { jwt }, want: "deny" },
  { name: "when request.auth.claims: no token", policies: [deny(when("request.auth.claims[groups]", ["banned"]))], want: "allow" },
  { name: "when destination.ip", policies: [allow(when("destination.ip", ["10.96.0.0/16"]))], want: "allow" },
  { name: "when destination.port", policies: [deny(when("destination.port", ["9080"]))], want: "deny" },
  { name: "when experimental.envoy.filters: list value", policies: [deny(when("experimental.envoy.filters.network.mysql_proxy[db.table]", ["[update]"]))],
    chain: "tcp", req: { ...tcp, metadata: { "envoy.filters.network.mysql_proxy": { "db.table": ["select", "update"] } } }, want: "deny" },
  { name: "when connection.sni", policies: [allow(when("connection.sni", ["*.example.com"]))], chain: "tcp", req: { ...tcp, sni: "api.example.com" }, want: "allow" },
  { name: "when connection.sni: no TLS", policies: [allow(when("connection.sni", ["*.example.com"]))], chain: "tcp", req: tcp, want: "deny" },

  // TCP chains
  { name: "TCP: L4 ALLOW", policies: [allow({ ...src({ namespaces: ["shop"] }), ...op({ ports: ["5432"] }) })], chain: "tcp", req: tcp, want: "allow" },
  { name: "TCP: an ALLOW rule with HTTP fields is dropped", policies: [allow({ ...src({ namespaces: ["shop"] }), ...op({ methods: ["GET"] }) })], chain: "tcp", req: tcp, want: "deny",
    conditions: [/UnsupportedValue: spec\.rules\[0\] tests attributes only HTTP has \(to\[0\]\.operation\.methods\), which a TCP chain cannot evaluate; this ALLOW rule is left out there/] },
  { name: "TCP: other ALLOW rules still apply", policies: [allow(op({ paths: ["/x"] }), src({ namespaces: ["shop"] }))], chain: "tcp", req: tcp, want: "allow",
    conditions: [/spec\.rules\[0\] tests attributes only HTTP has \(to\[0\]\.operation\.paths\)/] },
  { name: "TCP: a DENY rule's HTTP fields are ignored", policies: [deny({ ...src({ namespaces: ["shop"] }), ...op({ paths: ["/admin"] }) })], chain: "tcp", req: tcp, want: "deny",
    conditions: [/spec\.rules\[0\] tests attributes only HTTP has \(to\[0\]\.operation\.paths\), which a TCP chain cannot evaluate; they are ignored there, so this DENY rule matches more than written/] },
  { name: "TCP: a DENY rule's L4 fields still apply", policies: [deny({ ...src({ namespaces: ["ops"] }), ...when("request.headers[x]", ["y"]) })], chain: "tcp", req: tcp, want: "allow",
    conditions: [/\(when\[0\] request\.headers\[x\]\).*they are ignored there/] },
  { name: "TCP: CUSTOM with a gRPC provider checks the connection", policies: [custom("ext-grpc", src({ namespaces: ["shop"] }))], chain: "tcp", req: tcp, extAuthz: "deny", want: "deny" },
  { name: "TCP: CUSTOM with an HTTP provider is not enforced", policies: [custom("ext-http", {})], chain: "tcp", req: tcp, want: "allow",
    conditions: [/"ext-http" is an HTTP ext_authz service, which cannot check a TCP chain; the policy is not enforced there/] },
];

describe("AuthorizationPolicy semantics, evaluated on the generated Envoy config", () => {
  let oracleFilters = 0;
  let oracleChains = 0;
  after(() => {
    process.stdout.write(`# gRPC RBAC oracle: ${oracleFilters} filters, ${oracleChains} whole chains\n`);
    // The oracle must really have run on a good share of the table.
    assert.ok(oracleChains >= 40, `gRPC's RBAC engine checked only ${oracleChains} chains`);
    assert.ok(oracleFilters >= 45, `gRPC's RBAC engine checked only ${oracleFilters} filters`);
  });

  it("has at least 60 cases", () => assert.ok(cases.length >= 60, String(cases.length)));

  for (const c of cases) {
    it(c.name, () => {
      const policies: LoadedResource[] = c.policies.map(({ name, ns, dryRun, ...spec }, i) =>
        resource("AuthorizationPolicy", ns ?? "shop", name ?? `p${i}`, spec, dryRun ? { annotations: { "istio.io/dry-run": "true" } } : {}));
      const options = { ...providers, ...c.options };
      const req: AuthzRequest = { ...base, ...c.req };
      const built = c.chain === "tcp" ? rbacNetworkFilters(policies, options) : rbacHttpFilters(policies, options);
      for (const f of built.filters) {
        const errors = c.chain === "tcp" ? validateResource(FilterSchema, f).errors : validateResource(HttpFilterSchema, f).errors;
        assert.deepEqual(errors, [], f.name);
      }
      const decide = c.extAuthz && (() => c.extAuthz === "allow");
      const r = c.chain === "tcp"
        ? evaluateNetworkChain(rbacNetworkFilters(policies, options).filters, req, decide)
        : evaluateHttpChain(rbacHttpFilters(policies, options).filters, req, decide);
      assert.equal(r.allowed ? "allow" : "deny", c.want, r.deniedBy);
      assert.equal(r.extAuthzCalled, c.extAuthzCalled ?? c.extAuthz !== undefined, "ext_authz consulted");
      if (c.logged !== undefined) assert.equal(r.logged, c.logged);
      const conditions = built.conditions.map((x) => `${x.reason}: ${x.message}`);
      assert.equal(conditions.length, c.conditions?.length ?? 0, conditions.join("\n"));
      c.conditions?.forEach((re, i) => assert.match(conditions[i]!, re));

      // Cross-check with gRPC's RBAC engine wherever it supports every matcher used.
      const configs = built.filters.map((f) => anyUnpack(f.configType.value as Any, registry) as Message & { rules?: RBAC; shadowRules?: RBAC });
      let chainComparable = true;
      let chainAllows = true;
      for (const cfg of configs) {
        const rules = cfg.rules;
        const runnable = rules !== undefined && rules.action !== RBAC_Action.LOG && oracleCanRun(toJson(RBACSchema, rules, { useProtoFieldName: true }), req);
        if (runnable) {
          const o = oracleAllows(rules, req);
          assert.equal(rbacAllows(rules, req), o, `our evaluator and gRPC's disagree on ${toJson(RBACSchema, rules)}`);
          oracleFilters++;
          chainAllows &&= o;
        }
        if (!runnable || cfg.shadowRules) chainComparable = false;
      }
      if (chainComparable) {
        assert.equal(chainAllows ? "allow" : "deny", c.want, "gRPC's RBAC engine");
        oracleChains++;
      }
    });
  }
});
