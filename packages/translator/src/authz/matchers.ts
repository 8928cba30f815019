/**
 * Envoy string, header, CIDR and metadata matchers for AuthorizationPolicy values, with Istio's
 * wildcard rule: `*` alone matches any non-empty value, `*x` is a suffix, `x*` a prefix, anything
 * else is exact (istio pilot/pkg/security/authz/matcher/string.go). Everything here returns
 * protobuf-es init shapes, turned into messages once per RBAC config.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CidrRangeSchema } from "@waystation/proto/envoy/config/core/v3/address_pb.js";
import type { HeaderMatcherSchema } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { MetadataMatcherSchema } from "@waystation/proto/envoy/type/matcher/v3/metadata_pb.js";
import type { StringMatcherSchema } from "@waystation/proto/envoy/type/matcher/v3/string_pb.js";
import type { ValueMatcherSchema } from "@waystation/proto/envoy/type/matcher/v3/value_pb.js";

/** Init shape of envoy.type.matcher.v3.StringMatcher. */
export type StringMatcherInit = MessageInitShape<typeof StringMatcherSchema>;
/** Init shape of envoy.config.route.v3.HeaderMatcher. */
export type HeaderMatcherInit = MessageInitShape<typeof HeaderMatcherSchema>;
/** Init shape of envoy.config.core.v3.CidrRange. */
export type CidrRangeInit = MessageInitShape<typeof CidrRangeSchema>;
/** Init shape of envoy.type.matcher.v3.ValueMatcher. */
export type ValueMatcherInit = MessageInitShape<typeof ValueMatcherSchema>;
/** Init shape of envoy.type.matcher.v3.MetadataMatcher. */
export type MetadataMatcherInit = MessageInitShape<typeof MetadataMatcherSchema>;

/** Escapes RE2 metacharacters so `s` matches itself. */
export function quoteRegex(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/** Plain string matchers; Envoy requires a non-empty prefix or suffix. */
export const exact = (value: string, ignoreCase = false): StringMatcherInit => ({ matchPattern: { case: "exact", value }, ignoreCase });
export const prefix = (value: string, ignoreCase = false): StringMatcherInit => ({ matchPattern: { case: "prefix", value }, ignoreCase });
export const suffix = (value: string, ignoreCase = false): StringMatcherInit => ({ matchPattern: { case: "suffix", value }, ignoreCase });
/** A full-match RE2 regex (Envoy's safe_regex always matches the whole value). */
export const regex = (re: string): StringMatcherInit => ({ matchPattern: { case: "safeRegex", value: { regex: re } } });
/** Any non-empty value. Envoy rejects an empty prefix or suffix, so "*" cannot be one. */
export const nonEmpty = (): StringMatcherInit => regex(".+");

/**
 * Istio's wildcard value as a string matcher. `pre` is prepended to the value, e.g. `spiffe://`
 * for principals; then a leading `*` cannot become a suffix match (the value must still start
 * with `pre`), so it becomes a regex, as Istio's StringMatcherWithPrefix does.
 */
export function wildcard(v: string, pre = ""): StringMatcherInit {
  if (v === "*") return nonEmpty();
  if (v.startsWith("*")) return pre ? regex(`${quoteRegex(pre)}.*${quoteRegex(v.slice(1))}`) : suffix(v.slice(1));
  if (v.endsWith("*")) return prefix(pre + v.slice(0, -1));
  return exact(pre + v);
}

/** A request header (lower-cased: Envoy compares header names case-insensitively) by Istio's wildcard rule; "*" means present. */
export function header(name: string, v: string): HeaderMatcherInit {
  const n = name.toLowerCase();
  if (v === "*") return { name: n, headerMatchSpecifier: { case: "presentMatch", value: true } };
  return { name: n, headerMatchSpecifier: { case: "stringMatch", value: wildcard(v) } };
}

const hasPort = (h: string) => /^(\[[^\]]*\]|[^:[\]]*):\d+$/.test(h);

/**
 * `:authority` against an Istio host (case-insensitive, as Istio's HostMatcher). Deliberate
 * difference from Istio: a host written without a port also matches the authority with any port
 * (`reviews` matches `reviews:9080`). Clients put the port in :authority whenever it is not the
 * scheme's default, which is nearly always the case for mesh services; Istio's exact match there
 * lets a DENY on `hosts: [reviews]` be bypassed with `Host: reviews:9080` (istio/istio#44080).
 * A host written with a port (`reviews:9080`) or ending in `*` needs no help and is matched as is.
 */
export function host(v: string): HeaderMatcherInit {
  const name = ":authority";
  if (v === "*") return { name, headerMatchSpecifier: { case: "presentMatch", value: true } };
  const sm: StringMatcherInit = v.endsWith("*") || hasPort(v) ? wildcard(v) : v.startsWith("*")
    ? regex(`(?i).*${quoteRegex(v.slice(1))}(:[0-9]+)?`)
    : regex(`(?i)${quoteRegex(v)}(:[0-9]+)?`);
  if (sm.matchPattern?.case !== "safeRegex") sm.ignoreCase = true;
  return { name, headerMatchSpecifier: { case: "stringMatch", value: sm } };
}

/**
 * The characters one path segment may hold (RFC 3986 pchar), as Envoy's uri_template matcher
 * (source/extensions/path/uri_template_lib/uri_template_internal.cc) turns `*` and `**` into
 * regexes: `{*}` is one non-empty segment, `{**}` any rest of the path including `/`.
 */
const pchar = "A-Za-z0-9\\-._~%!$&'()+,;:@=";

/**
 * An Istio path (exact, `x*` prefix, `*x` suffix, `*` any) as a url_path matcher (the path
 * without query string). A path template (`/api/{*}/items/{**}`, Istio 1.22+) becomes the
 * same RE2 regex Envoy's uri_template extension compiles it to: Istio emits `uri_template`, but
 * that extension's config type is not among our generated protos (the strict validator would
 * refuse the Any), gRPC's RBAC engine cannot evaluate it, and the regex matches exactly the
 * same paths.
 */
export function path(v: string): StringMatcherInit {
  if (!v.includes("{")) return wildcard(v);
  const re = v.split("/").map((seg) => (seg === "{*}" ? `[${pchar}]+` : seg === "{**}" ? `[${pchar}/]*` : quoteRegex(seg))).join("/");
  return regex(re);
}

/** An IP or CIDR as Envoy's CidrRange (a bare address is a /32 or /128). */
export function cidr(v: string): CidrRangeInit {
  const [address, len] = v.split("/");
  return { addressPrefix: address!, prefixLen: len !== undefined ? Number(len) : address!.includes(":") ? 128 : 32 };
}

/** One value matcher that matches if any of `ms` does. */
export function anyValue(ms: ValueMatcherInit[]): ValueMatcherInit {
  return ms.length === 1 ? ms[0]! : { matchPattern: { case: "orMatch", value: { valueMatchers: ms } } };
}

export const stringValue = (sm: StringMatcherInit): ValueMatcherInit => ({ matchPattern: { case: "stringMatch", value: sm } });

/** A value that is a string matching `m`, or a list with an element matching `m` (JWT `aud`, `groups` ...). */
export function stringOrListValue(m: ValueMatcherInit): ValueMatcherInit {
  return { matchPattern: { case: "orMatch", value: { valueMatchers: [{ matchPattern: { case: "listMatch", value: { matchPattern: { case: "oneOf", value: m } } } }, m] } } };
}

/** Dynamic metadata of `filter` at `keys` matching `value`. */
export function metadata(filter: string, keys: readonly string[], value: ValueMatcherInit): MetadataMatcherInit {
  return { filter, path: keys.map((key) => ({ segment: { case: "key" as const, value: key } })), value };
}
