/**
 * HTTPRoute (gateway.networking.k8s.io/v1). On a waypoint it attaches GAMMA-style, with a
 * parentRef of kind Service or ServiceEntry (reference §5.5). The checks are the upstream CRD's
 * CEL rules; the caps (16 rules, 64 matches per rule, 128 in all) are those of Gateway API v1.2+.
 */
import { parseDurationMs, re2Error } from "../../checks.js";
import { error, type FieldIssue, type FieldPath } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { obj, oneOfStrings, opt, str, Type, type Static } from "../../schema.js";
import {
  backendRefProps, capped, checkBackendPort, checkHostnames, checkNameValueMatches, checkParentRefs,
  checkRuleNamesAndMatchTotal, checkSessionPersistence, GATEWAY_GROUP, gwDuration, gwHostname, gwHeaderName,
  HeaderMatchSchema, ParentReferenceSchema, sectionName, SessionPersistenceSchema,
} from "./common.js";
import { checkHttpFilters, HTTP_METHODS, HTTPRouteFilterSchema } from "./httpFilters.js";

/** HTTPPathMatch; both fields default (PathPrefix, "/"). */
export const HTTPPathMatchSchema = obj({
  type: opt(oneOfStrings("Exact", "PathPrefix", "RegularExpression")),
  value: opt(str({ maxLength: 1024 })),
});

/** HTTPRouteMatch: path, headers, query parameters and method, ANDed. */
export const HTTPRouteMatchSchema = obj({
  path: opt(HTTPPathMatchSchema),
  headers: opt(capped(HeaderMatchSchema, 16, "header matches")),
  queryParams: opt(capped(obj({
    type: opt(oneOfStrings("Exact", "RegularExpression")), name: gwHeaderName(), value: str({ minLength: 1, maxLength: 1024 }),
  }), 16, "query parameter matches")),
  method: opt(oneOfStrings(...HTTP_METHODS)),
});
/** One HTTPRoute match; an absent path means PathPrefix "/". */
export type HTTPRouteMatch = Static<typeof HTTPRouteMatchSchema>;

/** HTTPBackendRef: a weighted backend with its own filters. */
export const HTTPBackendRefSchema = obj({ ...backendRefProps, filters: opt(capped(HTTPRouteFilterSchema, 16, "filters")) });

/** HTTPRouteRule. */
export const HTTPRouteRuleSchema = obj({
  name: opt(sectionName()),
  matches: opt(capped(HTTPRouteMatchSchema, 64, "matches per rule")),
  filters: opt(capped(HTTPRouteFilterSchema, 16, "filters")),
  backendRefs: opt(capped(HTTPBackendRefSchema, 16, "backendRefs")),
  timeouts: opt(obj({ request: opt(gwDuration()), backendRequest: opt(gwDuration()) })),
  retry: opt(obj({
    codes: opt(Type.Array(Type.Integer({ minimum: 400, maximum: 599, "x-msg": "must be an HTTP status code from 400 to 599" }))),
    attempts: opt(Type.Integer({ minimum: 0 })),
    backoff: opt(gwDuration()),
  })),
  sessionPersistence: opt(SessionPersistenceSchema),
});
/** One HTTPRoute rule; absent matches mean one PathPrefix "/" match. */
export type HTTPRouteRule = Static<typeof HTTPRouteRuleSchema>;

/** HTTPRoute.spec. */
export const HTTPRouteSpecSchema = obj({
  parentRefs: opt(capped(ParentReferenceSchema, 32, "parentRefs")),
  hostnames: opt(capped(gwHostname(), 16, "hostnames")),
  rules: opt(capped(HTTPRouteRuleSchema, 16, "rules", 1)),
});
/** Typed HTTPRoute spec for translators. */
export type HTTPRouteSpec = Static<typeof HTTPRouteSpecSchema>;

/** Why an Exact/PathPrefix path value is not a clean absolute path (the HTTPPathMatch CEL rules), or undefined. */
export function pathValueIssue(v: string): string | undefined {
  if (!v.startsWith("/")) return "must be an absolute path starting with \"/\"";
  for (const bad of ["//", "/./", "/../", "%2f", "%2F", "#"]) if (v.includes(bad)) return `must not contain ${JSON.stringify(bad)}`;
  for (const bad of ["/..", "/."]) if (v.endsWith(bad)) return `must not end with ${JSON.stringify(bad)}`;
  if (!/^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$/.test(v)) return "must contain only URL path characters (letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes)";
  return undefined;
}

function checkMatch(m: HTTPRouteMatch, at: FieldPath, issues: FieldIssue[]): void {
  const type = m.path?.type ?? "PathPrefix";
  const value = m.path?.value ?? "/";
  if (type === "RegularExpression") {
    const bad = re2Error(value);
    if (bad) issues.push(error([...at, "path", "value"], bad));
  } else {
    const bad = pathValueIssue(value);
    if (bad) issues.push(error([...at, "path", "value"], `${bad} for type ${type}, not ${JSON.stringify(value)}`));
  }
  checkNameValueMatches(m.headers, [...at, "headers"], issues);
  checkNameValueMatches(m.queryParams, [...at, "queryParams"], issues, false);
}

function checkTimeouts(t: HTTPRouteRule["timeouts"], at: FieldPath, issues: FieldIssue[]): void {
  if (t?.request === undefined || t.backendRequest === undefined) return;
  const request = parseDurationMs(t.request);
  const backend = parseDurationMs(t.backendRequest);
  // "0s" disables the request timeout, so any backendRequest fits inside it.
  if (request !== undefined && backend !== undefined && request !== 0 && backend > request) {
    issues.push(error([...at, "backendRequest"], `(${t.backendRequest}) must not be longer than request (${t.request}): the request timeout covers every backend attempt`));
  }
}

function checkRule(r: HTTPRouteRule, i: number, issues: FieldIssue[]): void {
  const at = ["spec", "rules", i];
  r.matches?.forEach((m, j) => checkMatch(m, [...at, "matches", j], issues));
  checkHttpFilters(r.filters, [...at, "filters"], r.matches, issues);
  const redirect = r.filters?.findIndex((f) => f.type === "RequestRedirect") ?? -1;
  if (redirect >= 0 && (r.backendRefs?.length ?? 0) > 0) {
    issues.push(error([...at, "backendRefs"], `must be empty when the rule redirects (spec.rules[${i}].filters[${redirect}]): a redirect answers the request itself`));
  }
  r.backendRefs?.forEach((b, j) => {
    checkBackendPort(b, [...at, "backendRefs", j], issues);
    checkHttpFilters(b.filters, [...at, "backendRefs", j, "filters"], r.matches, issues);
  });
  checkTimeouts(r.timeouts, [...at, "timeouts"], issues);
  checkSessionPersistence(r.sessionPersistence, [...at, "sessionPersistence"], issues);
}

/** HTTPRoute: paths, regexes, filter unions and combinations, backend ports, timeouts, caps. */
export const HTTPRouteKind = defineKind<HTTPRouteSpec>({
  group: GATEWAY_GROUP, kind: "HTTPRoute", versions: ["v1", "v1beta1"], namespaced: true,
  spec: HTTPRouteSpecSchema, specRequired: true,
  check(route) {
    const issues: FieldIssue[] = [];
    checkParentRefs(route.spec.parentRefs, ["spec", "parentRefs"], issues);
    checkHostnames(route.spec.hostnames, ["spec", "hostnames"], issues);
    checkRuleNamesAndMatchTotal(route.spec.rules, ["spec", "rules"], issues);
    route.spec.rules?.forEach((r, i) => checkRule(r, i, issues));
    return issues;
  },
});
