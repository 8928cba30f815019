/**
 * Istio RequestAuthentication (security.istio.io/v1, v1beta1): which JWTs a workload or service
 * accepts. A request with an invalid token is rejected; a request without one is let through (an
 * AuthorizationPolicy on `requestPrincipals` is what makes a token mandatory). The waypoint
 * translator turns each rule into an Envoy jwt_authn provider.
 */
import { parseDurationMs } from "../../checks.js";
import { error, warning, type FieldIssue, type FieldPath } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { bool, duration, list, nonEmpty, obj, opt, str, strings, type Static } from "../../schema.js";
import { attachmentFields, checkAttachment, headerName } from "./common.js";

/** Where to look for a token in a header, e.g. `{ name: Authorization, prefix: "Bearer " }`. */
export const JwtHeaderSchema = obj({ name: headerName(), prefix: opt(str()) });

/** Copies a claim of a verified token into a request header. */
export const ClaimToHeaderSchema = obj({ header: headerName(), claim: nonEmpty() });

/** One accepted issuer and how to verify and find its tokens. */
export const JwtRuleSchema = obj({
  issuer: nonEmpty(),
  audiences: opt(strings()),
  jwksUri: opt(str()),
  /** An inline JSON Web Key Set (JSON text). Exclusive with jwksUri. */
  jwks: opt(str()),
  fromHeaders: opt(list(JwtHeaderSchema)),
  fromParams: opt(list(nonEmpty())),
  fromCookies: opt(list(nonEmpty())),
  outputPayloadToHeader: opt(headerName()),
  outputClaimToHeaders: opt(list(ClaimToHeaderSchema)),
  forwardOriginalToken: opt(bool()),
  /** How long to wait for the JWKS fetch. */
  timeout: opt(duration()),
});
/** {@link JwtRuleSchema} as a type. */
export type JwtRule = Static<typeof JwtRuleSchema>;

/** Spec of RequestAuthentication. */
export const RequestAuthenticationSpecSchema = obj({
  ...attachmentFields(),
  jwtRules: opt(list(JwtRuleSchema)),
});
/** {@link RequestAuthenticationSpecSchema} as a type. */
export type RequestAuthenticationSpec = Static<typeof RequestAuthenticationSpecSchema>;

/** The RequestAuthentication kind. */
export const RequestAuthenticationKind = defineKind<RequestAuthenticationSpec>({
  group: "security.istio.io", kind: "RequestAuthentication", versions: ["v1", "v1beta1"], namespaced: true,
  spec: RequestAuthenticationSpecSchema,
  check(ra) {
    const spec = ra.spec;
    const issues = checkAttachment(spec, ra.metadata.namespace ?? "default", ["Gateway", "GatewayClass", "Service", "ServiceEntry"]);
    const issuers = new Map<string, number>();
    (spec.jwtRules ?? []).forEach((rule, i) => {
      const at: FieldPath = ["spec", "jwtRules", i];
      issues.push(...checkJwtRule(rule, at));
      const prev = issuers.get(rule.issuer);
      if (prev !== undefined) {
        issues.push(warning([...at, "issuer"], `repeats the issuer of spec.jwtRules[${prev}]; merge the two rules into one (audiences and token locations are lists)`));
      } else issuers.set(rule.issuer, i);
    });
    return issues;
  },
});

function checkJwtRule(rule: JwtRule, at: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (rule.jwks !== undefined && rule.jwksUri !== undefined) {
    issues.push(error([...at, "jwks"], "cannot be combined with jwksUri: give the key set inline or say where to fetch it, not both"));
  }
  if (rule.jwksUri !== undefined) {
    const bad = jwksUriError(rule.jwksUri);
    if (bad) issues.push(error([...at, "jwksUri"], bad));
  }
  if (rule.jwks !== undefined) {
    const bad = jwksError(rule.jwks);
    if (bad) issues.push(error([...at, "jwks"], bad));
  }
  if (rule.timeout !== undefined && parseDurationMs(rule.timeout) === 0) {
    issues.push(error([...at, "timeout"], "must be greater than 0"));
  }
  return issues;
}

function jwksUriError(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return `must be an http:// or https:// URL, not ${JSON.stringify(uri)}`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return `must be an http:// or https:// URL, not ${JSON.stringify(uri)}`;
  if (url.hostname === "") return `must name a host, not ${JSON.stringify(uri)}`;
  return undefined;
}

function jwksError(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return `must be a JSON Web Key Set in JSON: ${(e as Error).message}`;
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (value === null || typeof value !== "object" || !Array.isArray(keys)) return 'must be a JSON Web Key Set: a JSON object with a "keys" array';
  if (keys.length === 0) return 'must be a JSON Web Key Set with at least one key in "keys"';
  return undefined;
}
