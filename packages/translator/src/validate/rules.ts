/**
 * PGV `(validate.rules)` options, compiled once per field into small check closures.
 *
 * `getOption` decodes the option from the descriptor; doing that (and building regexes, sets)
 * on every snapshot would dominate validation time, so the compiled form is cached per
 * DescField in a WeakMap. The rule messages are proto2: a rule is in force only if its field is
 * set (`gte: 0` is a rule, an absent `gte` is not), hence `isFieldSet` rather than truthiness.
 *
 * Semantics follow PGV's documentation: numeric `lt`/`lte` with `gt`/`gte` form a range, inside it
 * when the upper bound is above the lower, outside it otherwise; `ignore_empty` skips a rule set
 * for the zero value; `in`/`not_in` are exact matches.
 */
import { getOption, hasOption, isFieldSet, type DescEnum, type DescField, type DescMessage, type Message } from "@bufbuild/protobuf";
import type { Any, Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { FieldRulesSchema, KnownRegex, rules as rulesExt, type FieldRules, type StringRules, type BytesRules } from "@waystation/proto/validate/validate_pb.js";
import {
  compileRe2, isAddress, isEmail, isHeaderName, isHeaderValue, isHostname, isIP, isIPv4, isIPv6, isUri, isUriRef, isUuid,
} from "./formats.js";
import { durationNanos, formatDuration, formatTimestamp, timestampNanos } from "./wellKnown.js";

/** Evaluation context for the few rules that need one. */
export interface RuleContext {
  /** Current time in ns since the epoch, for timestamp lt_now / gt_now / within; skipped if absent. */
  readonly nowNanos?: bigint;
}

/** One rule: its PGV name and a test returning a violation message, or undefined. */
export interface Check {
  readonly rule: string;
  readonly test: (value: unknown, ctx: RuleContext) => string | undefined;
}

/** Rules on a single value (a scalar, an enum number, a wrapper's value, an Any, a Duration ...). */
export interface ValuePlan {
  readonly ignoreEmpty: boolean;
  readonly checks: readonly Check[];
}

/** A field's compiled rules. */
export interface CompiledRules {
  /** message.required, or `required` of the any / duration / timestamp rules. */
  readonly required: boolean;
  /** message.skip: do not validate inside the message. */
  readonly skip: boolean;
  readonly value?: ValuePlan;
  readonly list?: {
    readonly ignoreEmpty: boolean; readonly min?: bigint; readonly max?: bigint; readonly unique: boolean;
    readonly items?: CompiledRules;
  };
  readonly map?: {
    readonly ignoreEmpty: boolean; readonly min?: bigint; readonly max?: bigint;
    readonly keys?: CompiledRules; readonly values?: CompiledRules;
  };
}

const cache = new WeakMap<DescField, CompiledRules | null>();

/** The compiled rules of a field, or undefined if it has none. Cached. */
export function fieldRules(field: DescField): CompiledRules | undefined {
  let c = cache.get(field);
  if (c === undefined) {
    c = hasOption(field, rulesExt) ? compile(getOption(field, rulesExt), field.enum) : null;
    cache.set(field, c);
  }
  return c ?? undefined;
}

type RulesMessage = Message & Record<string, unknown>;

/** Reads a proto2 rule field: its value if set, else undefined. */
function ruleGetter(msg: RulesMessage, desc: DescMessage): (name: string) => unknown {
  return (name) => {
    const f = desc.field[name];
    return f && isFieldSet(msg as never, f) ? msg[name] : undefined;
  };
}

function compile(fr: FieldRules, enumDesc: DescEnum | undefined): CompiledRules {
  const c = compileUnprefixed(fr, enumDesc);
  const kind = fr.type.case;
  if (!c.value || kind === undefined) return c;
  return { ...c, value: { ignoreEmpty: c.value.ignoreEmpty, checks: c.value.checks.map((ch) => ({ rule: `${kind}.${ch.rule}`, test: ch.test })) } };
}

function compileUnprefixed(fr: FieldRules, enumDesc: DescEnum | undefined): CompiledRules {
  const required = fr.message?.required === true
    || ((fr.type.case === "any" || fr.type.case === "duration" || fr.type.case === "timestamp") && fr.type.value.required);
  const out: { -readonly [K in keyof CompiledRules]: CompiledRules[K] } = { required, skip: fr.message?.skip === true };
  const { case: kind, value } = fr.type;
  if (kind === undefined || value === undefined) return out;
  const desc = FieldRulesSchema.field[kind]?.message;
  if (!desc) return out;
  const get = ruleGetter(value as unknown as RulesMessage, desc);
  const ignoreEmpty = get("ignoreEmpty") === true;
  switch (kind) {
    case "repeated":
      out.list = {
        ignoreEmpty, unique: get("unique") === true,
        min: get("minItems") as bigint | undefined, max: get("maxItems") as bigint | undefined,
        items: fr.type.case === "repeated" && fr.type.value.items ? compile(fr.type.value.items, enumDesc) : undefined,
      };
      return out;
    case "map":
      out.map = {
        ignoreEmpty, min: get("minPairs") as bigint | undefined, max: get("maxPairs") as bigint | undefined,
        keys: fr.type.case === "map" && fr.type.value.keys ? compile(fr.type.value.keys, undefined) : undefined,
        values: fr.type.case === "map" && fr.type.value.values ? compile(fr.type.value.values, enumDesc) : undefined,
      };
      return out;
    case "string":
      out.value = { ignoreEmpty, checks: stringChecks(value as StringRules, get) };
      return out;
    case "bytes":
      out.value = { ignoreEmpty, checks: bytesChecks(value as BytesRules, get) };
      return out;
    case "bool":
      out.value = { ignoreEmpty: false, checks: constCheck(get("const"), (v) => v, String) };
      return out;
    case "enum":
      out.value = { ignoreEmpty: false, checks: enumChecks(get, enumDesc) };
      return out;
    case "any":
      out.value = { ignoreEmpty: false, checks: membership(get, (v) => (v as Any).typeUrl, (s) => String(s), "type URL") };
      return out;
    case "duration":
      out.value = { ignoreEmpty: false, checks: orderedChecks(get, (v) => durationNanos(v as Duration), (d) => durationNanos(d as Duration), formatDuration) };
      return out;
    case "timestamp":
      out.value = { ignoreEmpty: false, checks: timestampChecks(get) };
      return out;
    default: {
      // float, double, (s|u)int(32|64), (s)fixed(32|64)
      const wide = kind.endsWith("64");
      const norm = wide ? (v: unknown) => BigInt(v as bigint) : (v: unknown) => Number(v);
      out.value = { ignoreEmpty, checks: orderedChecks(get, norm, norm, String) };
      return out;
    }
  }
}

type Getter = (name: string) => unknown;

/** const / lt / lte / gt / gte / in / not_in over an ordered type (numbers, bigints, nanoseconds). */
function orderedChecks<T extends number | bigint>(
  get: Getter, value: (v: unknown) => T, bound: (r: unknown) => T, show: (t: T) => string,
): Check[] {
  const checks: Check[] = [];
  const b = (name: string): T | undefined => { const r = get(name); return r === undefined ? undefined : bound(r); };
  const [c, lt, lte, gt, gte] = [b("const"), b("lt"), b("lte"), b("gt"), b("gte")];
  if (c !== undefined) checks.push({ rule: "const", test: (v) => (value(v) == c ? undefined : `value must equal ${show(c)} (got ${show(value(v))})`) });
  const upper = lt ?? lte;
  const lower = gt ?? gte;
  const above = (x: T): boolean => (gt !== undefined ? x > gt : gte !== undefined ? x >= gte : true);
  const below = (x: T): boolean => (lt !== undefined ? x < lt : lte !== undefined ? x <= lte : true);
  if (upper !== undefined && lower !== undefined) {
    const lo = `${gt !== undefined ? "(" : "["}${show(lower)}`;
    const hi = `${show(upper)}${lt !== undefined ? ")" : "]"}`;
    if (upper > lower) {
      checks.push({ rule: "range", test: (v) => { const x = value(v); return above(x) && below(x) ? undefined : `value must be inside range ${lo}, ${hi} (got ${show(x)})`; } });
    } else {
      const olo = `${lt !== undefined ? "[" : "("}${show(upper)}`;
      const ohi = `${show(lower)}${gt !== undefined ? "]" : ")"}`;
      checks.push({ rule: "range", test: (v) => { const x = value(v); return above(x) || below(x) ? undefined : `value must be outside range ${olo}, ${ohi} (got ${show(x)})`; } });
    }
  } else if (upper !== undefined) {
    const words = lt !== undefined ? "less than" : "less than or equal to";
    checks.push({ rule: lt !== undefined ? "lt" : "lte", test: (v) => { const x = value(v); return below(x) ? undefined : `value must be ${words} ${show(upper)} (got ${show(x)})`; } });
  } else if (lower !== undefined) {
    const words = gt !== undefined ? "greater than" : "greater than or equal to";
    checks.push({ rule: gt !== undefined ? "gt" : "gte", test: (v) => { const x = value(v); return above(x) ? undefined : `value must be ${words} ${show(lower)} (got ${show(x)})`; } });
  }
  checks.push(...membership(get, (v) => show(value(v)), (r) => show(bound(r))));
  return checks;
}

/** in / not_in, compared through a string key. */
function membership(get: Getter, key: (v: unknown) => string, show: (r: unknown) => string, what = "value"): Check[] {
  const checks: Check[] = [];
  const list = (name: string): string[] => ((get(name) as unknown[] | undefined) ?? []).map(show);
  const inList = list("in");
  const notIn = list("notIn");
  if (inList.length > 0) {
    const set = new Set(inList);
    checks.push({ rule: "in", test: (v) => (set.has(key(v)) ? undefined : `${what} must be one of [${inList.join(", ")}] (got ${key(v)})`) });
  }
  if (notIn.length > 0) {
    const set = new Set(notIn);
    checks.push({ rule: "not_in", test: (v) => (set.has(key(v)) ? `${what} must not be one of [${notIn.join(", ")}]` : undefined) });
  }
  return checks;
}

function constCheck<T>(c: unknown, norm: (v: unknown) => T, show: (t: T) => string): Check[] {
  if (c === undefined) return [];
  return [{ rule: "const", test: (v) => (norm(v) === c ? undefined : `value must equal ${show(c as T)}`) }];
}

function enumChecks(get: Getter, desc: DescEnum | undefined): Check[] {
  const name = (n: unknown): string => desc?.value[n as number]?.name ?? String(n);
  const checks: Check[] = [];
  const c = get("const");
  if (c !== undefined) checks.push({ rule: "const", test: (v) => (v === c ? undefined : `value must equal ${name(c)}`) });
  if (get("definedOnly") === true && desc) {
    const names = desc.values.map((v) => v.name).join(", ");
    checks.push({ rule: "defined_only", test: (v) => (desc.value[v as number] ? undefined : `value ${String(v)} is not a defined value of ${desc.typeName} (${names})`) });
  }
  checks.push(...membership(get, (v) => name(v), name));
  return checks;
}

function stringChecks(r: StringRules, get: Getter): Check[] {
  const checks: Check[] = [];
  const chars = (s: string): number => { let n = 0; for (const _ of s) n++; return n; };
  const utf8 = (s: string): number => Buffer.byteLength(s, "utf8");
  const add = (rule: string, test: (s: string) => string | undefined): void => { checks.push({ rule, test: (v) => test(v as string) }); };
  const n = (name: string): bigint | undefined => get(name) as bigint | undefined;
  const [c, len, minLen, maxLen, lenBytes, minBytes, maxBytes] = [get("const"), n("len"), n("minLen"), n("maxLen"), n("lenBytes"), n("minBytes"), n("maxBytes")];
  if (c !== undefined) add("const", (s) => (s === c ? undefined : `value must equal ${JSON.stringify(c)}`));
  if (len !== undefined) add("len", (s) => (BigInt(chars(s)) === len ? undefined : `value length must be ${len} characters`));
  if (minLen !== undefined) add("min_len", (s) => (BigInt(chars(s)) >= minLen ? undefined : `value length must be at least ${minLen} characters`));
  if (maxLen !== undefined) add("max_len", (s) => (BigInt(chars(s)) <= maxLen ? undefined : `value length must be at most ${maxLen} characters`));
  if (lenBytes !== undefined) add("len_bytes", (s) => (BigInt(utf8(s)) === lenBytes ? undefined : `value length must be ${lenBytes} bytes`));
  if (minBytes !== undefined) add("min_bytes", (s) => (BigInt(utf8(s)) >= minBytes ? undefined : `value length must be at least ${minBytes} bytes`));
  if (maxBytes !== undefined) add("max_bytes", (s) => (BigInt(utf8(s)) <= maxBytes ? undefined : `value length must be at most ${maxBytes} bytes`));
  const pattern = get("pattern") as string | undefined;
  if (pattern !== undefined) {
    const re = compileRe2(pattern);
    add("pattern", (s) => (re === undefined ? `the rule's pattern ${JSON.stringify(pattern)} does not compile` : re.test(s) ? undefined : `value does not match regex pattern ${JSON.stringify(pattern)}`));
  }
  const affix = (name: string, rule: string, ok: (s: string, a: string) => boolean, words: string): void => {
    const a = get(name) as string | undefined;
    if (a !== undefined) add(rule, (s) => (ok(s, a) ? undefined : `value ${words} ${JSON.stringify(a)}`));
  };
  affix("prefix", "prefix", (s, a) => s.startsWith(a), "does not have prefix");
  affix("suffix", "suffix", (s, a) => s.endsWith(a), "does not have suffix");
  affix("contains", "contains", (s, a) => s.includes(a), "does not contain substring");
  affix("notContains", "not_contains", (s, a) => !s.includes(a), "contains substring");
  checks.push(...membership(get, (v) => JSON.stringify(v), (x) => JSON.stringify(x)));
  const wk = r.wellKnown;
  const format = (rule: string, ok: (s: string) => boolean, what: string): void => add(rule, (s) => (ok(s) ? undefined : `value must be ${what}`));
  switch (wk.case) {
    case "email": if (wk.value) format("email", isEmail, "a valid email address"); break;
    case "hostname": if (wk.value) format("hostname", isHostname, "a valid hostname"); break;
    case "ip": if (wk.value) format("ip", isIP, "a valid IP address"); break;
    case "ipv4": if (wk.value) format("ipv4", isIPv4, "a valid IPv4 address"); break;
    case "ipv6": if (wk.value) format("ipv6", isIPv6, "a valid IPv6 address"); break;
    case "uri": if (wk.value) format("uri", isUri, "an absolute URI"); break;
    case "uriRef": if (wk.value) format("uri_ref", isUriRef, "a valid URI reference"); break;
    case "address": if (wk.value) format("address", isAddress, "a valid hostname or IP address"); break;
    case "uuid": if (wk.value) format("uuid", isUuid, "a valid UUID"); break;
    case "wellKnownRegex": {
      const strict = r.strict; // proto2 default: true
      if (wk.value === KnownRegex.HTTP_HEADER_NAME) format("well_known_regex", (s) => isHeaderName(s, strict), strict ? "a valid HTTP header name" : "free of NUL, CR and LF characters");
      if (wk.value === KnownRegex.HTTP_HEADER_VALUE) format("well_known_regex", (s) => isHeaderValue(s, strict), strict ? "a valid HTTP header value" : "free of NUL, CR and LF characters");
      break;
    }
  }
  return checks;
}

function bytesChecks(r: BytesRules, get: Getter): Check[] {
  const checks: Check[] = [];
  const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
  const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  const add = (rule: string, test: (b: Uint8Array) => string | undefined): void => { checks.push({ rule, test: (v) => test(v as Uint8Array) }); };
  const c = get("const") as Uint8Array | undefined;
  if (c !== undefined) add("const", (b) => (same(b, c) ? undefined : `value must equal bytes ${hex(c)}`));
  const n = (name: string): bigint | undefined => get(name) as bigint | undefined;
  const [len, minLen, maxLen] = [n("len"), n("minLen"), n("maxLen")];
  if (len !== undefined) add("len", (b) => (BigInt(b.length) === len ? undefined : `value length must be ${len} bytes`));
  if (minLen !== undefined) add("min_len", (b) => (BigInt(b.length) >= minLen ? undefined : `value length must be at least ${minLen} bytes`));
  if (maxLen !== undefined) add("max_len", (b) => (BigInt(b.length) <= maxLen ? undefined : `value length must be at most ${maxLen} bytes`));
  const pattern = get("pattern") as string | undefined;
  if (pattern !== undefined) {
    const re = compileRe2(pattern);
    add("pattern", (b) => (re?.test(Buffer.from(b).toString("utf8")) ? undefined : `value does not match regex pattern ${JSON.stringify(pattern)}`));
  }
  const prefix = get("prefix") as Uint8Array | undefined;
  if (prefix !== undefined) add("prefix", (b) => (same(b.subarray(0, prefix.length), prefix) ? undefined : `value does not have prefix ${hex(prefix)}`));
  const suffix = get("suffix") as Uint8Array | undefined;
  if (suffix !== undefined) add("suffix", (b) => (b.length >= suffix.length && same(b.subarray(b.length - suffix.length), suffix) ? undefined : `value does not have suffix ${hex(suffix)}`));
  const contains = get("contains") as Uint8Array | undefined;
  if (contains !== undefined) add("contains", (b) => (indexOfBytes(b, contains) ? undefined : `value does not contain ${hex(contains)}`));
  checks.push(...membership(get, (v) => hex(v as Uint8Array), (x) => hex(x as Uint8Array)));
  const wk = r.wellKnown;
  if (wk.case === "ip" && wk.value) add("ip", (b) => (b.length === 4 || b.length === 16 ? undefined : "value must be a valid IP address (4 or 16 bytes)"));
  if (wk.case === "ipv4" && wk.value) add("ipv4", (b) => (b.length === 4 ? undefined : "value must be a valid IPv4 address (4 bytes)"));
  if (wk.case === "ipv6" && wk.value) add("ipv6", (b) => (b.length === 16 ? undefined : "value must be a valid IPv6 address (16 bytes)"));
  return checks;
}

function indexOfBytes(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function timestampChecks(get: Getter): Check[] {
  const ts = (v: unknown): bigint => timestampNanos(v as Timestamp);
  const checks = orderedChecks(get, ts, ts, formatTimestamp);
  const within = get("within") as Duration | undefined;
  if (get("ltNow") === true) checks.push({ rule: "lt_now", test: (v, ctx) => (ctx.nowNanos === undefined || ts(v) < ctx.nowNanos ? undefined : "value must be in the past") });
  if (get("gtNow") === true) checks.push({ rule: "gt_now", test: (v, ctx) => (ctx.nowNanos === undefined || ts(v) > ctx.nowNanos ? undefined : "value must be in the future") });
  if (within !== undefined) {
    const w = durationNanos(within);
    checks.push({ rule: "within", test: (v, ctx) => { if (ctx.nowNanos === undefined) return undefined; const d = ts(v) - ctx.nowNanos; return (d < 0n ? -d : d) <= w ? undefined : `value must be within ${formatDuration(w)} of now`; } });
  }
  return checks;
}
