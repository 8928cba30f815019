/**
 * HTTPRoute filters (header modifiers, mirror, redirect, rewrite, CORS, extensionRef) and the
 * CRD's CEL rules about them: one config field per type, no repeats, redirect and rewrite never
 * together, ReplacePrefixMatch only behind a single PathPrefix match.
 */
import { error, formatPath, type FieldIssue, type FieldPath } from "../../issues.js";
import { bool, list, obj, oneOfStrings, opt, port, str, Type, type Static } from "../../schema.js";
import {
  capped, checkFilterRepeats, checkFilterUnion, checkHeaderFilter, checkMirror, HeaderFilterSchema, gwHeaderName,
  LocalObjectReferenceSchema, preciseHostname, RequestMirrorSchema,
} from "./common.js";

/** HTTP methods as Gateway API spells them. */
export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"] as const;

/** HTTPPathModifier: replace the full path, or the part a PathPrefix match matched. */
export const PathModifierSchema = obj({
  type: oneOfStrings("ReplaceFullPath", "ReplacePrefixMatch"),
  replaceFullPath: opt(str({ maxLength: 1024 })),
  replacePrefixMatch: opt(str({ maxLength: 1024 })),
});
/** The path part of a RequestRedirect or URLRewrite filter. */
export type PathModifier = Static<typeof PathModifierSchema>;

/** HTTPRequestRedirectFilter. statusCode defaults to 302. */
export const RequestRedirectSchema = obj({
  scheme: opt(oneOfStrings("http", "https")),
  hostname: opt(preciseHostname()),
  path: opt(PathModifierSchema),
  port: opt(port()),
  statusCode: opt(Type.Union([301, 302, 303, 307, 308].map((c) => Type.Literal(c)))),
});

/** HTTPURLRewriteFilter: Host header and path rewrite while forwarding. */
export const URLRewriteSchema = obj({ hostname: opt(preciseHostname()), path: opt(PathModifierSchema) });

/** HTTPCORSFilter. */
export const CORSSchema = obj({
  allowOrigins: opt(capped(str({ minLength: 1, maxLength: 253 }), 64, "origins")),
  allowCredentials: opt(bool()),
  allowMethods: opt(list(oneOfStrings(...HTTP_METHODS, "*"), { maxItems: 9 })),
  allowHeaders: opt(capped(gwHeaderName(), 64, "headers")),
  exposeHeaders: opt(capped(gwHeaderName(), 64, "headers")),
  maxAge: opt(Type.Integer({ minimum: 1 })),
});

/** HTTPRouteFilter: `type` says which one of the config fields is filled in. */
export const HTTPRouteFilterSchema = obj({
  type: oneOfStrings("RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect", "URLRewrite", "CORS", "ExtensionRef"),
  requestHeaderModifier: opt(HeaderFilterSchema),
  responseHeaderModifier: opt(HeaderFilterSchema),
  requestMirror: opt(RequestMirrorSchema),
  requestRedirect: opt(RequestRedirectSchema),
  urlRewrite: opt(URLRewriteSchema),
  cors: opt(CORSSchema),
  extensionRef: opt(LocalObjectReferenceSchema),
});
/** One HTTPRoute filter. */
export type HTTPRouteFilter = Static<typeof HTTPRouteFilterSchema>;

const FIELD_OF: Record<HTTPRouteFilter["type"], keyof HTTPRouteFilter> = {
  RequestHeaderModifier: "requestHeaderModifier",
  ResponseHeaderModifier: "responseHeaderModifier",
  RequestMirror: "requestMirror",
  RequestRedirect: "requestRedirect",
  URLRewrite: "urlRewrite",
  CORS: "cors",
  ExtensionRef: "extensionRef",
};
const ONCE = ["RequestHeaderModifier", "ResponseHeaderModifier", "RequestRedirect", "URLRewrite", "CORS"];

/** What a rule's matches look like to the ReplacePrefixMatch rule (after CRD defaulting). */
export interface MatchShape { path?: { type?: string } }

function checkPathModifier(p: PathModifier | undefined, path: FieldPath, matches: readonly MatchShape[] | undefined, issues: FieldIssue[]): void {
  if (!p) return;
  const [want, other] = p.type === "ReplaceFullPath" ? ["replaceFullPath", "replacePrefixMatch"] as const : ["replacePrefixMatch", "replaceFullPath"] as const;
  if (p[want] === undefined) issues.push(error([...path, want], `is required when type is ${p.type}`));
  if (p[other] !== undefined) issues.push(error([...path, other], `must not be set when type is ${p.type}`));
  if (p.type === "ReplacePrefixMatch") {
    // No matches means the default single PathPrefix "/" match; a match without path defaults likewise.
    const ok = matches === undefined || (matches.length === 1 && (matches[0]!.path?.type ?? "PathPrefix") === "PathPrefix");
    if (!ok) issues.push(error([...path, "type"], "ReplacePrefixMatch needs the rule to have exactly one match, with a path of type PathPrefix"));
  }
}

function checkCors(c: Static<typeof CORSSchema>, path: FieldPath, issues: FieldIssue[]): void {
  for (const field of ["allowOrigins", "allowMethods", "allowHeaders"] as const) {
    const v = c[field] as readonly string[] | undefined;
    if (v && v.length > 1 && v.includes("*")) issues.push(error([...path, field], `must not list "*" together with other values`));
  }
}

/**
 * Checks a filter list of a rule (`filters`) or of one backend (`backendRefs[i].filters`).
 * `matches` are the rule's matches, for the ReplacePrefixMatch rule.
 */
export function checkHttpFilters(filters: readonly HTTPRouteFilter[] | undefined, path: FieldPath, matches: readonly MatchShape[] | undefined, issues: FieldIssue[]): void {
  if (!filters) return;
  checkFilterRepeats(filters, path, ONCE, issues);
  const redirect = filters.findIndex((f) => f.type === "RequestRedirect");
  const rewrite = filters.findIndex((f) => f.type === "URLRewrite");
  if (redirect >= 0 && rewrite >= 0) {
    issues.push(error([...path, Math.max(redirect, rewrite), "type"], `cannot be combined with the ${redirect < rewrite ? "RequestRedirect" : "URLRewrite"} filter of ${formatPath([...path, Math.min(redirect, rewrite)])}: a rule either redirects or rewrites`));
  }
  filters.forEach((f, i) => {
    const at = [...path, i];
    checkFilterUnion(f, at, FIELD_OF, issues);
    if (f.type === "RequestHeaderModifier" && f.requestHeaderModifier) checkHeaderFilter(f.requestHeaderModifier, [...at, "requestHeaderModifier"], issues);
    if (f.type === "ResponseHeaderModifier" && f.responseHeaderModifier) checkHeaderFilter(f.responseHeaderModifier, [...at, "responseHeaderModifier"], issues);
    if (f.type === "RequestMirror" && f.requestMirror) checkMirror(f.requestMirror, [...at, "requestMirror"], issues);
    if (f.type === "RequestRedirect") checkPathModifier(f.requestRedirect?.path, [...at, "requestRedirect", "path"], matches, issues);
    if (f.type === "URLRewrite") checkPathModifier(f.urlRewrite?.path, [...at, "urlRewrite", "path"], matches, issues);
    if (f.type === "CORS" && f.cors) checkCors(f.cors, [...at, "cors"], issues);
  });
}
