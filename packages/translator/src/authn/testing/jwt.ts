/**
 * Test-only: Envoy's jwt_authn filter evaluated in TypeScript, for checking the GENERATED config's
 * behaviour, plus helpers that mint real signed tokens.
 *
 * Follows envoy source/extensions/filters/http/jwt_authn: the requirement of the first matching
 * rule (matcher.cc), token extraction per provider (extractor.cc: from_headers with value_prefix,
 * from_params, from_cookies; `Authorization: Bearer` and `access_token` when none is set), the
 * authenticator's checks in its order (authenticator.cc: format, issuer -> JwtUnknownIssuer,
 * nbf / exp, audiences, signature against the provider's key set) and the verifier tree
 * (verifier.cc: requires_any is OK if a child is; otherwise its status is the first error other
 * than "missing"/"unknown issuer", and allow_missing turns a plain "missing" into OK;
 * requires_all stops at the first failure). On success: the payload goes to dynamic metadata
 * under `payload_in_metadata` (space-delimited claims split into lists), forward_payload_header
 * and claim_to_headers are added, and a header token is removed unless `forward`.
 *
 * Signatures are real: tokens are signed with node:crypto and verified against the JWKS in the
 * config (inline) or served by the test's `fetchJwks` for remote key sets (ES256 and RS256).
 */
import { createPublicKey, generateKeyPairSync, sign, verify, type JsonWebKey, type KeyObject } from "node:crypto";
import type { JwtAuthentication, JwtProvider, JwtRequirement } from "@waystation/proto/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import type { RouteMatch } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { RE2JS } from "re2js";

/** Envoy's jwt_verify statuses that matter here. */
export type JwtStatus = "Ok" | "JwtMissed" | "JwtUnknownIssuer" | "JwtBadFormat" | "JwtExpired" | "JwtNotYetValid"
  | "JwtAudienceNotAllowed" | "JwtVerificationFail" | "JwksFetchFail";

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** An issuer with an ES256 key pair, its JWKS (JSON text) and a token minter. */
export interface TestIssuer {
  issuer: string;
  jwks: string;
  /** A token for `claims` (iss defaults to the issuer); `tamper` flips the signature. */
  token(claims: Record<string, unknown>, opts?: { tamper?: boolean; kid?: string }): string;
}

export function testIssuer(issuer: string, kid = "k1"): TestIssuer {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  return {
    issuer,
    jwks: JSON.stringify({ keys: [{ ...jwk, kid, alg: "ES256", use: "sig" }] }),
    token(claims, opts = {}) {
      const header = b64url(JSON.stringify({ alg: "ES256", typ: "JWT", kid: opts.kid ?? kid }));
      const payload = b64url(JSON.stringify({ iss: issuer, ...claims }));
      const sig = sign("sha256", Buffer.from(`${header}.${payload}`), { key: privateKey, dsaEncoding: "ieee-p1363" });
      if (opts.tamper) sig[0] = sig[0]! ^ 0xff;
      return `${header}.${payload}.${b64url(sig)}`;
    },
  };
}

/** What the jwt_authn filter needs from a request, and what it changes. */
export interface JwtRequestView {
  method?: string;
  path?: string;
  headers: Record<string, string>;
}

export interface JwtEvalOptions {
  /** Serves remote key sets: uri -> JWKS JSON, or undefined for a failed fetch. */
  fetchJwks?: (uri: string) => string | undefined;
  /** Unix seconds, for exp and nbf (required when a token carries either: the evaluator reads no clock). */
  now?: number;
}

export interface JwtResult {
  status: JwtStatus;
  /** Dynamic metadata the filter set: payload_in_metadata key -> payload. */
  metadata: Record<string, unknown>;
}

const getHeader = (h: Record<string, string>, name: string) => {
  const k = Object.keys(h).find((x) => x.toLowerCase() === name.toLowerCase());
  return k === undefined ? undefined : { key: k, value: h[k]! };
};

interface Located { token: string; header?: string }

/** Tokens at a provider's locations (extractor.cc), last location last. */
function extract(p: JwtProvider, req: JwtRequestView): Located[] {
  const none = p.fromHeaders.length === 0 && p.fromParams.length === 0 && p.fromCookies.length === 0;
  const headers = none ? [{ name: "Authorization", valuePrefix: "Bearer " }] : p.fromHeaders;
  const params = none ? ["access_token"] : p.fromParams;
  const out: Located[] = [];
  for (const h of headers) {
    const v = getHeader(req.headers, h.name);
    if (!v) continue;
    if (h.valuePrefix) {
      const i = v.value.indexOf(h.valuePrefix);
      if (i < 0) continue;
      const m = /^[A-Za-z0-9._~+/=-]+/.exec(v.value.slice(i + h.valuePrefix.length));
      if (m) out.push({ token: m[0], header: v.key });
    } else out.push({ token: v.value, header: v.key });
  }
  const query = new URLSearchParams((req.path ?? "/").split("?")[1] ?? "");
  for (const name of params) { const v = query.get(name); if (v) out.push({ token: v }); }
  const cookies = Object.fromEntries((getHeader(req.headers, "cookie")?.value ?? "").split(";").map((c) => c.trim().split("=") as [string, string]));
  for (const name of p.fromCookies) if (cookies[name]) out.push({ token: cookies[name]! });
  return out;
}

function parse(token: string) {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, "base64url").toString()) as { alg?: string; kid?: string };
    const payload = JSON.parse(Buffer.from(parts[1]!, "base64url").toString()) as Record<string, unknown>;
    return { header, payload, input: `${parts[0]}.${parts[1]}`, sig: Buffer.from(parts[2]!, "base64url"), payloadB64: parts[1]! };
  } catch {
    return undefined;
  }
}

function keysOf(p: JwtProvider, opts: JwtEvalOptions): { keys: (JsonWebKey & { kid?: string })[] } | undefined {
  const src = p.jwksSourceSpecifier;
  let text: string | undefined;
  if (src.case === "localJwks") text = src.value.specifier.case === "inlineString" ? src.value.specifier.value : undefined;
  else if (src.case === "remoteJwks") text = opts.fetchJwks?.(src.value.httpUri?.uri ?? "");
  return text === undefined ? undefined : JSON.parse(text) as { keys: (JsonWebKey & { kid?: string })[] };
}

function signatureOk(t: NonNullable<ReturnType<typeof parse>>, keys: (JsonWebKey & { kid?: string })[]): boolean {
  const candidates = keys.filter((k) => t.header.kid === undefined || k.kid === undefined || k.kid === t.header.kid);
  return candidates.some((jwk) => {
    let key: KeyObject;
    try { key = createPublicKey({ key: jwk, format: "jwk" }); } catch { return false; }
    if (t.header.alg === "ES256" && jwk.kty === "EC") return verify("sha256", Buffer.from(t.input), { key, dsaEncoding: "ieee-p1363" }, t.sig);
    if (t.header.alg === "RS256" && jwk.kty === "RSA") return verify("sha256", Buffer.from(t.input), key, t.sig);
    return false;
  });
}

const audiencesOf = (aud: unknown) => (Array.isArray(aud) ? aud.map(String) : typeof aud === "string" ? [aud] : []);

/** Splits the configured space-delimited claims into lists, as normalize_payload_in_metadata does. */
function normalize(p: JwtProvider, payload: Record<string, unknown>): Record<string, unknown> {
  const out = { ...payload };
  for (const c of p.normalizePayloadInMetadata?.spaceDelimitedClaims ?? []) {
    if (typeof out[c] === "string") out[c] = (out[c] as string).split(" ").filter(Boolean);
  }
  return out;
}

interface Ctx { config: JwtAuthentication; req: JwtRequestView; opts: JwtEvalOptions; metadata: Record<string, unknown> }

/** One provider's verdict on the request (authenticator.cc), applying its side effects on success. */
function verifyProvider(name: string, ctx: Ctx): JwtStatus {
  const p = ctx.config.providers[name];
  if (!p) throw new Error(`requirement names provider ${name}, which is not configured`);
  const tokens = extract(p, ctx.req);
  if (tokens.length === 0) return "JwtMissed";
  let status: JwtStatus = "JwtMissed";
  for (const loc of [...tokens].reverse()) {
    status = check(p, loc, ctx);
    if (status === "Ok") return status;
  }
  return status;
}

function check(p: JwtProvider, loc: Located, ctx: Ctx): JwtStatus {
  const t = parse(loc.token);
  if (!t) return "JwtBadFormat";
  if (t.payload.iss !== p.issuer) return "JwtUnknownIssuer";
  const timed = typeof t.payload.nbf === "number" || typeof t.payload.exp === "number";
  if (timed && ctx.opts.now === undefined) throw new Error("the token has exp or nbf: pass `now` to the evaluator");
  const now = ctx.opts.now ?? 0;
  if (typeof t.payload.nbf === "number" && t.payload.nbf > now) return "JwtNotYetValid";
  if (typeof t.payload.exp === "number" && t.payload.exp > 0 && t.payload.exp < now) return "JwtExpired";
  if (p.audiences.length > 0 && !audiencesOf(t.payload.aud).some((a) => p.audiences.includes(a))) return "JwtAudienceNotAllowed";
  const jwks = keysOf(p, ctx.opts);
  if (!jwks) return "JwksFetchFail";
  if (!signatureOk(t, jwks.keys)) return "JwtVerificationFail";
  if (p.forwardPayloadHeader) addHeader(ctx.req.headers, p.forwardPayloadHeader, t.payloadB64);
  for (const c of p.claimToHeaders) {
    const v = c.claimName.split(".").reduce<unknown>((o, k) => (o !== null && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), t.payload);
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") addHeader(ctx.req.headers, c.headerName, String(v));
  }
  if (!p.forward && loc.header !== undefined) delete ctx.req.headers[loc.header];
  if (p.payloadInMetadata) ctx.metadata[p.payloadInMetadata] = normalize(p, t.payload);
  return "Ok";
}

function addHeader(h: Record<string, string>, name: string, value: string) {
  const cur = getHeader(h, name);
  if (cur) h[cur.key] = `${cur.value},${value}`;
  else h[name] = value;
}

/** verifier.cc: the status of a requirement. */
function evaluateRequirement(r: JwtRequirement, ctx: Ctx): JwtStatus {
  const t = r.requiresType;
  switch (t.case) {
    case "providerName": return verifyProvider(t.value, ctx);
    case "requiresAll": {
      for (const c of t.value.requirements) {
        const s = evaluateRequirement(c, ctx);
        if (s !== "Ok") return s;
      }
      return "Ok";
    }
    case "requiresAny": {
      const flags = t.value.requirements.map((c) => c.requiresType.case);
      const children = t.value.requirements.filter((c) => c.requiresType.case !== "allowMissing" && c.requiresType.case !== "allowMissingOrFailed");
      if (children.length === 0) throw new Error("requires_any with only allow_missing(_or_failed) is not supported by the test evaluator");
      let final: JwtStatus = "JwtMissed";
      for (const c of children) {
        const s = evaluateRequirement(c, ctx);
        if (s === "Ok") return "Ok";
        if ((s !== "JwtMissed" && s !== "JwtUnknownIssuer") || final === "JwtMissed") final = s;
      }
      if (flags.includes("allowMissingOrFailed")) return "Ok";
      if (flags.includes("allowMissing") && final === "JwtMissed") return "Ok";
      return final;
    }
    case undefined: return "Ok";
    default: throw new Error(`jwt requirement ${String(t.case)} is not supported by the test evaluator`);
  }
}

function routeMatches(m: RouteMatch | undefined, path: string): boolean {
  const p = path.split("?")[0]!;
  const s = m?.pathSpecifier;
  switch (s?.case) {
    case "prefix": return p.startsWith(s.value);
    case "path": return p === s.value;
    case "safeRegex": return RE2JS.compile(s.value.regex).matches(p);
    default: throw new Error(`rule match ${String(s?.case)} is not supported by the test evaluator`);
  }
}

/**
 * Runs one jwt_authn config on a request. Mutates `req.headers` as Envoy would (token removal,
 * payload and claim headers). "Ok" means the filter lets the request continue.
 */
export function evaluateJwtAuthn(config: JwtAuthentication, req: JwtRequestView, opts: JwtEvalOptions = {}): JwtResult {
  const metadata: Record<string, unknown> = {};
  const isPreflight = req.method === "OPTIONS" && getHeader(req.headers, "origin") && getHeader(req.headers, "access-control-request-method");
  if (config.bypassCorsPreflight && isPreflight) return { status: "Ok", metadata };
  const rule = config.rules.find((r) => routeMatches(r.match, req.path ?? "/"));
  if (!rule || rule.requirementType.case !== "requires") return { status: "Ok", metadata };
  const status = evaluateRequirement(rule.requirementType.value, { config, req, opts, metadata });
  return { status, metadata: status === "Ok" ? metadata : {} };
}
