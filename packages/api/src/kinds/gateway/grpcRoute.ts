/**
 * GRPCRoute (gateway.networking.k8s.io/v1): routes gRPC calls by service, method and headers.
 * Exact service and method names are written without slashes ("pkg.Service", "Method"): the
 * route turns them into the ":path" "/pkg.Service/Method" itself.
 */
import { re2Error } from "../../checks.js";
import { error, type FieldIssue, type FieldPath } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { obj, oneOfStrings, opt, str, type Static } from "../../schema.js";
import {
  backendRefProps, capped, checkBackendPort, checkFilterRepeats, checkFilterUnion, checkHeaderFilter, checkHostnames,
  checkMirror, checkNameValueMatches, checkParentRefs, checkRuleNamesAndMatchTotal, checkSessionPersistence,
  GATEWAY_GROUP, gwHostname, HeaderFilterSchema, HeaderMatchSchema, LocalObjectReferenceSchema, ParentReferenceSchema,
  RequestMirrorSchema, sectionName, SessionPersistenceSchema,
} from "./common.js";

/** GRPCMethodMatch: Exact (default) or RegularExpression on service and/or method. */
export const GRPCMethodMatchSchema = obj({
  type: opt(oneOfStrings("Exact", "RegularExpression")),
  service: opt(str({ maxLength: 1024 })),
  method: opt(str({ maxLength: 1024 })),
});
/** A gRPC method match; type defaults to Exact. */
export type GRPCMethodMatch = Static<typeof GRPCMethodMatchSchema>;

/** GRPCRouteFilter: the HTTPRoute filters that make sense for gRPC. */
export const GRPCRouteFilterSchema = obj({
  type: oneOfStrings("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef"),
  requestHeaderModifier: opt(HeaderFilterSchema),
  responseHeaderModifier: opt(HeaderFilterSchema),
  requestMirror: opt(RequestMirrorSchema),
  extensionRef: opt(LocalObjectReferenceSchema),
});
/** One GRPCRoute filter. */
export type GRPCRouteFilter = Static<typeof GRPCRouteFilterSchema>;

/** GRPCRouteRule. Gateway API caps matches at 8 per rule here (HTTPRoute allows 64). */
export const GRPCRouteRuleSchema = obj({
  name: opt(sectionName()),
  matches: opt(capped(obj({ method: opt(GRPCMethodMatchSchema), headers: opt(capped(HeaderMatchSchema, 16, "header matches")) }), 8, "matches per rule")),
  filters: opt(capped(GRPCRouteFilterSchema, 16, "filters")),
  backendRefs: opt(capped(obj({ ...backendRefProps, filters: opt(capped(GRPCRouteFilterSchema, 16, "filters")) }), 16, "backendRefs")),
  sessionPersistence: opt(SessionPersistenceSchema),
});
/** One GRPCRoute rule; absent matches match every call. */
export type GRPCRouteRule = Static<typeof GRPCRouteRuleSchema>;

/** GRPCRoute.spec. */
export const GRPCRouteSpecSchema = obj({
  parentRefs: opt(capped(ParentReferenceSchema, 32, "parentRefs")),
  hostnames: opt(capped(gwHostname(), 16, "hostnames")),
  rules: opt(capped(GRPCRouteRuleSchema, 16, "rules")),
});
/** Typed GRPCRoute spec for translators. */
export type GRPCRouteSpec = Static<typeof GRPCRouteSpecSchema>;

const FIELD_OF: Record<GRPCRouteFilter["type"], keyof GRPCRouteFilter> = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestMirror: "requestMirror",
  ExtensionRef: "extensionRef",
};

const exactService = /^\.?[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*$/;
const exactMethod = /^[A-Za-z_][A-Za-z_0-9]*$/;

function checkMethodMatch(m: GRPCMethodMatch, at: FieldPath, issues: FieldIssue[]): void {
  const type = m.type ?? "Exact";
  if (!m.service && !m.method) {
    issues.push(error(at, "needs service, method or both (an empty method match would match every call; omit it instead)"));
    return;
  }
  for (const [field, re, example] of [["service", exactService, "helloworld.Greeter"], ["method", exactMethod, "SayHello"]] as const) {
    const v = m[field];
    if (v === undefined) continue;
    if (type === "RegularExpression") {
      const bad = re2Error(v);
      if (bad) issues.push(error([...at, field], bad));
    } else if (v.includes("/")) {
      issues.push(error([...at, field], `must not contain "/" for type Exact: write the ${field} alone, e.g. ${JSON.stringify(example)}, not ${JSON.stringify(v)}`));
    } else if (!re.test(v)) {
      issues.push(error([...at, field], `must be a protobuf ${field} name such as ${JSON.stringify(example)} for type Exact, not ${JSON.stringify(v)}`));
    }
  }
}

function checkGrpcFilters(filters: readonly GRPCRouteFilter[] | undefined, at: FieldPath, issues: FieldIssue[]): void {
  checkFilterRepeats(filters, at, ["RequestHeaderModifier", "ResponseHeaderModifier"], issues);
  filters?.forEach((f, i) => {
    checkFilterUnion(f, [...at, i], FIELD_OF, issues);
    if (f.type === "RequestHeaderModifier" && f.requestHeaderModifier) checkHeaderFilter(f.requestHeaderModifier, [...at, i, "requestHeaderModifier"], issues);
    if (f.type === "ResponseHeaderModifier" && f.responseHeaderModifier) checkHeaderFilter(f.responseHeaderModifier, [...at, i, "responseHeaderModifier"], issues);
    if (f.type === "RequestMirror" && f.requestMirror) checkMirror(f.requestMirror, [...at, i, "requestMirror"], issues);
  });
}

/** GRPCRoute: method matches, header matches, filter unions, backend ports, caps. */
export const GRPCRouteKind = defineKind<GRPCRouteSpec>({
  group: GATEWAY_GROUP, kind: "GRPCRoute", versions: ["v1", "v1alpha2"], namespaced: true,
  spec: GRPCRouteSpecSchema, specRequired: true,
  check(route) {
    const issues: FieldIssue[] = [];
    checkParentRefs(route.spec.parentRefs, ["spec", "parentRefs"], issues);
    checkHostnames(route.spec.hostnames, ["spec", "hostnames"], issues);
    checkRuleNamesAndMatchTotal(route.spec.rules, ["spec", "rules"], issues);
    route.spec.rules?.forEach((r, i) => {
      const at = ["spec", "rules", i];
      r.matches?.forEach((m, j) => {
        if (m.method) checkMethodMatch(m.method, [...at, "matches", j, "method"], issues);
        checkNameValueMatches(m.headers, [...at, "matches", j, "headers"], issues);
      });
      checkGrpcFilters(r.filters, [...at, "filters"], issues);
      r.backendRefs?.forEach((b, j) => {
        checkBackendPort(b, [...at, "backendRefs", j], issues);
        checkGrpcFilters(b.filters, [...at, "backendRefs", j, "filters"], issues);
      });
      checkSessionPersistence(r.sessionPersistence, [...at, "sessionPersistence"], issues);
    });
    return issues;
  },
});
