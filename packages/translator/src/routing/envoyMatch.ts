/**
 * IR matches -> Envoy RouteMatch: path (exact, prefix, Gateway API segment prefix, RE2 regex),
 * case-insensitivity, header matchers and query parameter matchers.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RouteMatchSchema, HeaderMatcherSchema, QueryParameterMatcherSchema } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { StringMatcherSchema } from "@waystation/proto/envoy/type/matcher/v3/string_pb.js";
import type { HeaderMatchIR, MatchIR, QueryMatchIR, StringMatchIR } from "./ir.js";

type RouteMatchInit = MessageInitShape<typeof RouteMatchSchema>;
type StringMatcherInit = MessageInitShape<typeof StringMatcherSchema>;

/**
 * Envoy StringMatcher. Regexes are RE2 (safe_regex without an engine: the google_re2 engine field
 * is deprecated in the protos of Envoy 1.31 and RE2 is the default).
 */
export function stringMatcher(m: StringMatchIR): StringMatcherInit {
  if ("regex" in m) return { matchPattern: { case: "safeRegex", value: { regex: m.regex } } };
  const ignoreCase = m.ignoreCase ? { ignoreCase: true } : {};
  if ("exact" in m) return { matchPattern: { case: "exact", value: m.exact }, ...ignoreCase };
  if ("prefix" in m) {
    // Envoy requires a non-empty prefix; an empty one matches every value.
    return m.prefix === "" ? { matchPattern: { case: "safeRegex", value: { regex: ".*" } } } : { matchPattern: { case: "prefix", value: m.prefix }, ...ignoreCase };
  }
  return m.suffix === "" ? { matchPattern: { case: "safeRegex", value: { regex: ".*" } } } : { matchPattern: { case: "suffix", value: m.suffix }, ...ignoreCase };
}

export function headerMatcher(h: HeaderMatchIR): MessageInitShape<typeof HeaderMatcherSchema> {
  return {
    name: h.name,
    headerMatchSpecifier: h.value === undefined ? { case: "presentMatch", value: true } : { case: "stringMatch", value: stringMatcher(h.value) },
    ...(h.invert ? { invertMatch: true } : {}),
  };
}

export function queryMatcher(q: QueryMatchIR): MessageInitShape<typeof QueryParameterMatcherSchema> {
  return {
    name: q.name,
    queryParameterMatchSpecifier: q.value === undefined ? { case: "presentMatch", value: true } : { case: "stringMatch", value: stringMatcher(q.value) },
  };
}

/** A match with no conditions at all: every request. */
export const matchAll: MatchIR = { headers: [], queryParams: [] };

/** The Envoy form of one IR match. */
export function routeMatch(m: MatchIR): RouteMatchInit {
  const p = m.path;
  let pathSpecifier: RouteMatchInit["pathSpecifier"];
  if (!p) pathSpecifier = { case: "prefix", value: "/" };
  else if (p.kind === "exact") pathSpecifier = { case: "path", value: p.value };
  else if (p.kind === "prefix") pathSpecifier = { case: "prefix", value: p.value === "" ? "/" : p.value };
  else if (p.kind === "regex") pathSpecifier = { case: "safeRegex", value: { regex: p.value } };
  else {
    // Gateway API PathPrefix matches whole segments: "/foo" and "/foo/" match /foo and /foo/bar,
    // not /foobar. Envoy's path_separated_prefix does exactly that but must not end in "/".
    const v = segmentValue(p.value);
    pathSpecifier = v === "" ? { case: "prefix", value: "/" } : { case: "pathSeparatedPrefix", value: v };
  }
  const ignoreCase = p !== undefined && p.kind !== "regex" && p.ignoreCase === true;
  return {
    pathSpecifier,
    ...(ignoreCase ? { caseSensitive: false } : {}),
    headers: m.headers.map(headerMatcher),
    queryParameters: m.queryParams.map(queryMatcher),
  };
}

/** A segment prefix without its trailing slashes ("/" becomes ""). */
export function segmentValue(v: string): string {
  return v.replace(/\/+$/, "");
}

/** Whether a match takes every request (Istio's IsCatchAllRoute). */
export function isCatchAll(m: MatchIR): boolean {
  if (m.headers.length > 0 || m.queryParams.length > 0) return false;
  const p = m.path;
  if (!p) return true;
  if (p.kind === "prefix") return p.value === "/" || p.value === "";
  if (p.kind === "segmentPrefix") return segmentValue(p.value) === "";
  if (p.kind === "regex") return p.value === ".*" || p.value === "/.*";
  return false;
}
