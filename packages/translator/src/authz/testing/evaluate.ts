/**
 * Test-only: a small evaluator of Envoy's RBAC (envoy.config.rbac.v3) and of a waypoint chain's
 * authorization filters (RBAC, shadow RBAC, ext_authz, and jwt_authn through
 * ../../authn/testing/jwt.ts), for checking the generated config's behaviour rather than its
 * shape. It models the waypoint's inner chain: no TLS (so `authenticated` never matches), the
 * peer identity in filter state, the client address restored by original_dst, the validated JWT
 * in jwt_authn's dynamic metadata (set by a jwt_authn filter in the chain, or given directly as
 * `jwt` for RBAC-only checks). Filters run on a copy of the request whose headers they may
 * change (jwt_authn removes a forwarded token, adds payload and claim headers).
 */
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Message } from "@bufbuild/protobuf";
import type { Filter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import type { Permission, Policy, Principal, RBAC } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import { RBAC_Action } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import type { RBAC as HttpRbac } from "@waystation/proto/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import type { ExtAuthz as HttpExtAuthz } from "@waystation/proto/envoy/extensions/filters/http/ext_authz/v3/ext_authz_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { JwtAuthentication } from "@waystation/proto/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import { evaluateJwtAuthn, type JwtEvalOptions } from "../../authn/testing/jwt.js";
import { filterState } from "../../waypoint/connectTerminate.js";
import { registry } from "../../validate/registry.js";
import { jwtPayloadMetadata } from "../principals.js";
import { inCidr, matchHeader, matchMetadata, matchString } from "./match.js";

/** A request (or, for TCP chains, a connection) as a waypoint's inner chain sees it. */
export interface AuthzRequest {
  method?: string;
  /** With query string, as in :path. */
  path?: string;
  /** :authority */
  host?: string;
  headers?: Record<string, string>;
  /** The real client, restored by original_dst (direct_remote_ip, source_ip). */
  sourceIp: string;
  /** The client as forwarding headers tell (remote_ip); defaults to sourceIp. */
  remoteIp?: string;
  destinationIp?: string;
  destinationPort?: number;
  /** The HBONE peer's URI SAN (filter state io.istio.peer_principal), e.g. spiffe://cluster.local/ns/a/sa/b. */
  peerPrincipal?: string;
  /** The payload of a JWT that jwt_authn validated (a shortcut for RBAC-only chains; with a jwt_authn filter, send the token in a header instead). */
  jwt?: { iss?: string; sub?: string; aud?: string | string[]; azp?: string; claims?: Record<string, unknown> };
  /** SNI of a TLS connection (requested_server_name). */
  sni?: string;
  /** Dynamic metadata set by other filters: namespace -> JSON. */
  metadata?: Record<string, Record<string, unknown>>;
}

/** The evaluation state of one request: its dynamic metadata grows as filters run. */
interface State { req: AuthzRequest; metadata: Record<string, Record<string, unknown>> }

function headerOf(req: AuthzRequest, name: string): string | undefined {
  if (name === ":method") return req.method;
  if (name === ":path") return req.path;
  if (name === ":authority") return req.host;
  const hs = req.headers ?? {};
  const key = Object.keys(hs).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : hs[key];
}

const urlPath = (req: AuthzRequest) => (req.path ?? "/").split(/[?#]/)[0]!;

export function matchPermission(p: Permission, s: State): boolean {
  const r = p.rule;
  switch (r.case) {
    case "any": return r.value;
    case "andRules": return r.value.rules.every((x) => matchPermission(x, s));
    case "orRules": return r.value.rules.some((x) => matchPermission(x, s));
    case "notRule": return !matchPermission(r.value, s);
    case "header": return matchHeader(r.value, (n) => headerOf(s.req, n));
    case "urlPath": return r.value.rule.case === "path" && matchString(r.value.rule.value, urlPath(s.req));
    case "destinationIp": return inCidr(r.value, s.req.destinationIp);
    case "destinationPort": return s.req.destinationPort === r.value;
    case "destinationPortRange": return s.req.destinationPort !== undefined && s.req.destinationPort >= r.value.start && s.req.destinationPort < r.value.end;
    case "metadata": return matchMetadata(r.value, s.metadata);
    case "requestedServerName": return matchString(r.value, s.req.sni ?? "");
    default: throw new Error(`permission ${String(r.case)} is not supported by the test evaluator`);
  }
}

export function matchPrincipal(p: Principal, s: State): boolean {
  const r = p.identifier;
  switch (r.case) {
    case "any": return r.value;
    case "andIds": return r.value.ids.every((x) => matchPrincipal(x, s));
    case "orIds": return r.value.ids.some((x) => matchPrincipal(x, s));
    case "notId": return !matchPrincipal(r.value, s);
    // The inner chain runs over an internal connection without TLS.
    case "authenticated": return false;
    case "sourceIp":
    case "directRemoteIp": return inCidr(r.value, s.req.sourceIp);
    case "remoteIp": return inCidr(r.value, s.req.remoteIp ?? s.req.sourceIp);
    case "header": return matchHeader(r.value, (n) => headerOf(s.req, n));
    case "urlPath": return r.value.rule.case === "path" && matchString(r.value.rule.value, urlPath(s.req));
    case "metadata": return matchMetadata(r.value, s.metadata);
    case "filterState": {
      const value = r.value.key === filterState.peerPrincipal ? s.req.peerPrincipal : undefined;
      return value !== undefined && r.value.matcher.case === "stringMatch" && matchString(r.value.matcher.value, value);
    }
    default: throw new Error(`principal ${String(r.case)} is not supported by the test evaluator`);
  }
}

const matchPolicy = (p: Policy, s: State) => p.permissions.some((x) => matchPermission(x, s)) && p.principals.some((x) => matchPrincipal(x, s));

/** Envoy's RBAC engine: the first matching policy in name order, and the verdict for the action. */
export function evaluateRbac(rbac: RBAC, s: State): { allowed: boolean; policy?: string } {
  const name = Object.keys(rbac.policies).sort().find((k) => matchPolicy(rbac.policies[k]!, s));
  const allowed = rbac.action === RBAC_Action.ALLOW ? name !== undefined : rbac.action === RBAC_Action.DENY ? name === undefined : true;
  return name === undefined ? { allowed } : { allowed, policy: name };
}

/** The verdict of one RBAC config for a request (for cross-checks against other engines). */
export function rbacAllows(rbac: RBAC, req: AuthzRequest): boolean {
  return evaluateRbac(rbac, { req, metadata: initialMetadata(req) }).allowed;
}

function initialMetadata(req: AuthzRequest): State["metadata"] {
  const metadata: State["metadata"] = structuredClone(req.metadata ?? {});
  if (req.jwt) {
    const { claims = {}, ...std } = req.jwt;
    metadata[jwtPayloadMetadata.filter] = { [jwtPayloadMetadata.key]: { ...claims, ...std } };
  }
  return metadata;
}

/** What a chain's authorization filters decided. */
export interface ChainResult {
  allowed: boolean;
  /** The local reply when denied: 401 from jwt_authn (invalid token), 403 from RBAC or ext_authz. */
  status?: 401 | 403;
  /** The request headers after the filters ran (what the upstream would receive when allowed). */
  headers: Record<string, string>;
  /** "<filter name>[<policy>]" of the filter that denied. */
  deniedBy?: string;
  /** Whether ext_authz was consulted. */
  extAuthzCalled: boolean;
  /** The access-log hint an AUDIT (LOG) RBAC set, if any ran. */
  logged?: boolean;
  metadata: Record<string, Record<string, unknown>>;
}

/** Runs one RBAC filter config (HTTP and network share the fields that matter here). */
function runRbac(cfg: Pick<HttpRbac, "rules" | "shadowRules" | "shadowRulesStatPrefix">, namespace: string, s: State, out: ChainResult): boolean {
  if (cfg.shadowRules) {
    const r = evaluateRbac(cfg.shadowRules, s);
    const md = (s.metadata[namespace] ??= {});
    if (r.policy !== undefined) md[`${cfg.shadowRulesStatPrefix}shadow_effective_policy_id`] = r.policy;
    md[`${cfg.shadowRulesStatPrefix}shadow_engine_result`] = r.allowed ? "allowed" : "denied";
  }
  if (!cfg.rules) return true;
  const r = evaluateRbac(cfg.rules, s);
  if (cfg.rules.action === RBAC_Action.LOG) {
    out.logged = r.policy !== undefined;
    (s.metadata["envoy.common"] ??= {}).access_log_hint = out.logged;
  }
  if (!r.allowed) out.deniedBy = `${namespace}[${r.policy ?? "none"}]`;
  return r.allowed;
}

function run(filters: { name: string; config: Message }[], original: AuthzRequest, extAuthz: ((req: AuthzRequest) => boolean) | undefined, jwt: JwtEvalOptions): ChainResult {
  const req: AuthzRequest = { ...original, headers: { ...original.headers } };
  const metadata = initialMetadata(req);
  const s: State = { req, metadata };
  const out: ChainResult = { allowed: true, extAuthzCalled: false, metadata, headers: req.headers! };
  for (const { config } of filters) {
    const type = config.$typeName;
    if (type === "envoy.extensions.filters.http.rbac.v3.RBAC" || type === "envoy.extensions.filters.network.rbac.v3.RBAC") {
      const ns = type.includes(".http.") ? "envoy.filters.http.rbac" : "envoy.filters.network.rbac";
      if (!runRbac(config as HttpRbac, ns, s, out)) return { ...out, allowed: false, status: 403 };
    } else if (type === "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz" || type === "envoy.extensions.filters.network.ext_authz.v3.ExtAuthz") {
      const gate = (config as HttpExtAuthz).filterEnabledMetadata;
      if (gate && !matchMetadata(gate, metadata)) continue;
      if (!extAuthz) throw new Error("the chain calls ext_authz: pass an extAuthz decision");
      out.extAuthzCalled = true;
      if (!extAuthz(req)) return { ...out, allowed: false, status: 403, deniedBy: "ext_authz" };
    } else if (type === "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication") {
      const r = evaluateJwtAuthn(config as JwtAuthentication, { method: req.method, path: req.path, headers: req.headers! }, jwt);
      if (r.status !== "Ok") return { ...out, allowed: false, status: 401, deniedBy: `${jwtPayloadMetadata.filter}[${r.status}]` };
      if (Object.keys(r.metadata).length > 0) metadata[jwtPayloadMetadata.filter] = { ...metadata[jwtPayloadMetadata.filter], ...r.metadata };
    } else {
      throw new Error(`filter ${type} is not supported by the test evaluator`);
    }
  }
  return out;
}

function unpack(name: string, typed: { case: string | undefined; value?: unknown }) {
  if (typed.case !== "typedConfig") throw new Error(`filter ${name} has no typed_config`);
  const config = anyUnpack(typed.value as Parameters<typeof anyUnpack>[0], registry);
  if (!config) throw new Error(`filter ${name}: type not in the registry`);
  return { name, config };
}

/**
 * Evaluates an HTTP chain's authentication and authorization filters in order, as Envoy's filter
 * chain would. `jwt` serves remote key sets and fixes the clock for jwt_authn.
 */
export function evaluateHttpChain(filters: readonly HttpFilter[], req: AuthzRequest, extAuthz?: (req: AuthzRequest) => boolean, jwt: JwtEvalOptions = {}): ChainResult {
  return run(filters.map((f) => unpack(f.name, f.configType)), req, extAuthz, jwt);
}

/** Evaluates a TCP chain's authorization (network) filters for one connection. */
export function evaluateNetworkChain(filters: readonly Filter[], req: AuthzRequest, extAuthz?: (req: AuthzRequest) => boolean): ChainResult {
  return run(filters.map((f) => unpack(f.name, f.configType)), req, extAuthz, {});
}
