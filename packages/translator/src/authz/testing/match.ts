/**
 * Test-only: Envoy's matchers (string, header, value, metadata, CIDR) evaluated in TypeScript,
 * following envoy/source/common/common/matchers.cc and http/header_utility.cc. Regexes run on
 * re2js, the same RE2 syntax Envoy's safe_regex uses, always as a full match.
 */
import type { CidrRange } from "@waystation/proto/envoy/config/core/v3/address_pb.js";
import type { HeaderMatcher } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { MetadataMatcher } from "@waystation/proto/envoy/type/matcher/v3/metadata_pb.js";
import type { StringMatcher } from "@waystation/proto/envoy/type/matcher/v3/string_pb.js";
import type { ValueMatcher } from "@waystation/proto/envoy/type/matcher/v3/value_pb.js";
import { RE2JS } from "re2js";

const compiled = new Map<string, RE2JS>();
function fullMatch(re: string, v: string): boolean {
  let r = compiled.get(re);
  if (!r) compiled.set(re, (r = RE2JS.compile(re)));
  return r.matches(v);
}

/** envoy.type.matcher.v3.StringMatcher against a value. */
export function matchString(m: StringMatcher, v: string): boolean {
  const ci = m.ignoreCase;
  const [a, norm] = [ci ? v.toLowerCase() : v, (s: string) => (ci ? s.toLowerCase() : s)];
  switch (m.matchPattern.case) {
    case "exact": return a === norm(m.matchPattern.value);
    case "prefix": return a.startsWith(norm(m.matchPattern.value));
    case "suffix": return a.endsWith(norm(m.matchPattern.value));
    case "contains": return a.includes(norm(m.matchPattern.value));
    case "safeRegex": return fullMatch(m.matchPattern.value.regex, v);
    default: throw new Error(`string matcher ${String(m.matchPattern.case)} is not supported by the test evaluator`);
  }
}

/** A request header matcher; `get` returns the header's value, several values joined by ",", or undefined. */
export function matchHeader(m: HeaderMatcher, get: (name: string) => string | undefined): boolean {
  const raw = get(m.name.toLowerCase());
  const value = raw ?? (m.treatMissingHeaderAsEmpty ? "" : undefined);
  let ok: boolean;
  const s = m.headerMatchSpecifier;
  if (s.case === "presentMatch") ok = (value !== undefined) === s.value;
  else if (value === undefined) ok = false;
  else if (s.case === "stringMatch") ok = matchString(s.value, value);
  else if (s.case === "exactMatch") ok = value === s.value;
  else if (s.case === "prefixMatch") ok = value.startsWith(s.value);
  else if (s.case === "suffixMatch") ok = value.endsWith(s.value);
  else if (s.case === "containsMatch") ok = value.includes(s.value);
  else if (s.case === "safeRegexMatch") ok = fullMatch(s.value.regex, value);
  else throw new Error(`header matcher ${String(s.case)} is not supported by the test evaluator`);
  return m.invertMatch ? !ok : ok;
}

/** envoy.type.matcher.v3.ValueMatcher against a JSON value (undefined: the path does not exist). */
export function matchValue(m: ValueMatcher, v: unknown): boolean {
  const p = m.matchPattern;
  switch (p.case) {
    case "nullMatch": return v === null;
    case "stringMatch": return typeof v === "string" && matchString(p.value, v);
    case "boolMatch": return v === p.value;
    case "doubleMatch": {
      if (typeof v !== "number") return false;
      const d = p.value.matchPattern;
      if (d.case === "exact") return v === d.value;
      if (d.case === "range") return v >= d.value.start && v < d.value.end;
      return false;
    }
    // A present_match refers to a primitive value; lists and structs never match it.
    case "presentMatch": return (v !== undefined && v !== null && typeof v !== "object") === p.value;
    case "listMatch": return Array.isArray(v) && p.value.matchPattern.case === "oneOf" && v.some((e) => matchValue(p.value.matchPattern.value!, e));
    case "orMatch": return p.value.valueMatchers.some((x) => matchValue(x, v));
    default: throw new Error(`value matcher ${String(p.case)} is not supported by the test evaluator`);
  }
}

/** envoy.type.matcher.v3.MetadataMatcher against dynamic metadata (filter namespace -> JSON). */
export function matchMetadata(m: MetadataMatcher, metadata: Readonly<Record<string, unknown>>): boolean {
  let v: unknown = metadata[m.filter];
  for (const seg of m.path) {
    v = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[seg.segment.value ?? ""] : undefined;
  }
  const ok = m.value ? matchValue(m.value, v) : false;
  return m.invert ? !ok : ok;
}

function ipBits(ip: string): { v6: boolean; n: bigint } | undefined {
  if (ip.includes(":")) {
    const [head = "", tail = ""] = ip.split("::");
    const hs = head ? head.split(":") : [];
    const ts = ip.includes("::") ? (tail ? tail.split(":") : []) : [];
    const groups = ip.includes("::") ? [...hs, ...Array(8 - hs.length - ts.length).fill("0"), ...ts] : hs;
    if (groups.length !== 8) return undefined;
    return { v6: true, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((x) => !(x >= 0 && x <= 255))) return undefined;
  return { v6: false, n: parts.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n) };
}

/** Whether `ip` lies in the CIDR range (different families never match). */
export function inCidr(r: CidrRange, ip: string | undefined): boolean {
  const [a, b] = [ipBits(r.addressPrefix), ip === undefined ? undefined : ipBits(ip)];
  if (!a || !b || a.v6 !== b.v6) return false;
  const width = a.v6 ? 128n : 32n;
  const len = BigInt(r.prefixLen ?? Number(width));
  const shift = width - len;
  return (a.n >> shift) === (b.n >> shift);
}
