/**
 * The one definition of the rate limit descriptors Waystation uses, shared by the translator
 * (which makes Envoy build them) and the rate limit service (which counts them). Both sides call
 * {@link compileRules} on the same RateLimitPolicy and so agree on every key and value; nothing
 * else may spell a descriptor key. Pure: no I/O, no clock.
 *
 * A rule's descriptor, as Envoy sends it (global) or matches it (local), is a list of entries:
 *
 *   1. `waystation.io/rule` = `<namespace>/<policy>/<rule>` (`#<index>` for an unnamed rule).
 *      Always first: it names the rule, so two rules never share a counter or collide as
 *      duplicate local descriptors, and the service finds the limit with one map lookup. A rule
 *      with `match` gets this entry only when the request meets the match.
 *   2. global only: `waystation.io/service` = the destination's host name. Global counters are
 *      per rule and service: a policy attached to a waypoint gives every service behind it its
 *      own budget, as the local filter (one per service chain) does. This mirrors Envoy
 *      Gateway's default (`shared: false`).
 *   3. one entry per `descriptor` entry of the rule, in the order written:
 *        header h          `header.<h>`            request header value
 *        path              `path`                  request path (the service drops any `?query`)
 *        sourcePrincipal   `source.principal`      `spiffe://...` of the HBONE peer
 *        remoteAddress     `remote_address`        client IP (Envoy's fixed key)
 *        remoteAddress/CIDR `masked_remote_address` `<network>/<len>` (Envoy's fixed key)
 *        generic           `<key>` or `generic_key` the literal value
 *      An entry with a value only exists when the request carries that value; one without gets a
 *      counter per distinct value (global rules only).
 *
 * The domain is {@link rateLimitDomain} for everything: several policies meet in one Envoy
 * filter, which has one domain; the rule entry keeps them apart.
 */
import { parseCidr, parseDurationMs, type LoadedResource, type RateLimitMatch, type RateLimitPolicySpec } from "@waystation/api";

/** The `domain` of every rate limit request Waystation's waypoints send. */
export const rateLimitDomain = "waystation";

/** Descriptor keys. `remote_address` and `masked_remote_address` are fixed by Envoy 1.31's actions. */
export const descriptorKeys = {
  rule: "waystation.io/rule",
  service: "waystation.io/service",
  path: "path",
  sourcePrincipal: "source.principal",
  remoteAddress: "remote_address",
  maskedRemoteAddress: "masked_remote_address",
  header: (name: string): string => `header.${name.toLowerCase()}`,
  generic: (key?: string): string => key ?? "generic_key",
} as const;

/**
 * The internal request header that carries the caller's SPIFFE identity to the rate limit
 * actions (stock Envoy 1.31 has no action reading filter state; see principal.ts).
 */
export const peerPrincipalHeader = "x-waystation-peer-principal";

export type RateLimitScope = "local" | "global";
export type RateLimitUnit = "second" | "minute" | "hour";

/** Window length of each unit, in milliseconds. */
export const unitMs: Readonly<Record<RateLimitUnit, number>> = { second: 1000, minute: 60_000, hour: 3_600_000 };

/** What one descriptor entry counts by. `rule` and `service` are the entries Waystation adds. */
export type EntryKind = "rule" | "service" | "header" | "path" | "sourcePrincipal" | "remoteAddress" | "generic";

/** One entry of a compiled descriptor. */
export interface CompiledEntry {
  kind: EntryKind;
  /** The descriptor key Envoy sends. */
  key: string;
  /** The exact (canonical) value; undefined means one counter per distinct value. */
  value?: string;
  /** For `header`: the lower-case header name. */
  header?: string;
  /** For `remoteAddress` with a value: the prefix length and address family of the CIDR. */
  cidr?: { length: number; family: 4 | 6 };
}

/** A token bucket in Envoy's terms. */
export interface Bucket { maxTokens: number; tokensPerFill: number; fillIntervalMs: number }

/** One rule of a RateLimitPolicy, with everything both sides need. */
export interface CompiledRule {
  /** `<namespace>/<policy>/<rule>`: the value of the rule entry, and the rule's name in stats. */
  id: string;
  policy: { namespace: string; name: string };
  scope: RateLimitScope;
  /** Position in `spec.<scope>.rules`, for field paths in conditions. */
  index: number;
  match?: RateLimitMatch;
  /** The descriptor, rule entry first (and, for global rules, the service entry second). */
  entries: CompiledEntry[];
  /** `requests` per `unit`; global rules always have it, local rules have it or `bucket`. */
  limit?: { requests: number; unit: RateLimitUnit };
  /** Local rules: the token bucket Envoy enforces (from `tokenBucket`, or from `limit`). */
  bucket?: Bucket;
  /** True when the rule neither matches nor has descriptor entries: it applies to every request. */
  unconditional: boolean;
  shadow: boolean;
  failureMode: "open" | "closed";
  responseHeaders: boolean;
  /** Entries the translator could not use (a local entry without value); reported as conditions. */
  problems: string[];
}

/** A policy as both sides see it: its name and spec. LoadedResource fits. */
export interface PolicyLike { key: { namespace: string; name: string }; object: { spec?: unknown } }

/** `<namespace>/<policy>/<rule>`, or `#<index>` for an unnamed rule (`#` is not in a DNS label, so no clash). */
export function ruleId(namespace: string, policy: string, rule: string | undefined, index: number): string {
  return `${namespace}/${policy}/${rule ?? `#${index}`}`;
}

/** `spiffe://td/ns/x/sa/y` from either form the API accepts. */
export function canonicalPrincipal(v: string): string {
  return v.startsWith("spiffe://") ? v : `spiffe://${v}`;
}

/**
 * A CIDR (or a bare address, as /32 or /128) as Envoy's masked_remote_address action prints it:
 * the network address then `/<len>`, IPv6 in RFC 5952 form (what inet_ntop gives). Undefined if
 * the value does not parse.
 */
export function canonicalCidr(v: string): { value: string; length: number; family: 4 | 6 } | undefined {
  const c = parseCidr(v);
  if (!c) return undefined;
  const bytes = Uint8Array.from(c.address);
  for (let bit = c.length; bit < bytes.length * 8; bit++) bytes[bit >> 3] = bytes[bit >> 3]! & ~(1 << (7 - (bit & 7)));
  if (bytes.length === 4) return { value: `${bytes.join(".")}/${c.length}`, length: c.length, family: 4 };
  return { value: `${formatIpv6(bytes)}/${c.length}`, length: c.length, family: 6 };
}

function formatIpv6(b: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  // The longest run of two or more zero groups (the first if tied) becomes "::".
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((g) => g.toString(16)).join(":");
  return best < 0 ? hex(groups) : `${hex(groups.slice(0, best))}::${hex(groups.slice(best + bestLen))}`;
}

/** The path the service counts: Envoy's `:path` without its query string. */
export function pathOnly(p: string): string {
  const q = p.indexOf("?");
  return q < 0 ? p : p.slice(0, q);
}

type RuleSpec = NonNullable<RateLimitPolicySpec["global"]>["rules"][number] & { tokenBucket?: { maxTokens: number; tokensPerFill?: number; fillInterval: string } };

function compileEntries(rule: RuleSpec, scope: RateLimitScope, problems: string[], at: string): CompiledEntry[] {
  const out: CompiledEntry[] = [];
  (rule.descriptor ?? []).forEach((e, j) => {
    const where = `${at}.descriptor[${j}]`;
    let entry: CompiledEntry | undefined;
    if (e.header) entry = { kind: "header", key: descriptorKeys.header(e.header.name), header: e.header.name.toLowerCase(), ...(e.header.value !== undefined ? { value: e.header.value } : {}) };
    else if (e.path) entry = { kind: "path", key: descriptorKeys.path, ...(e.path.value !== undefined ? { value: pathOnly(e.path.value) } : {}) };
    else if (e.sourcePrincipal) entry = { kind: "sourcePrincipal", key: descriptorKeys.sourcePrincipal, ...(e.sourcePrincipal.value !== undefined ? { value: canonicalPrincipal(e.sourcePrincipal.value) } : {}) };
    else if (e.remoteAddress) {
      if (e.remoteAddress.value === undefined) entry = { kind: "remoteAddress", key: descriptorKeys.remoteAddress };
      else {
        const c = canonicalCidr(e.remoteAddress.value);
        if (!c) { problems.push(`${where}.remoteAddress.value: ${JSON.stringify(e.remoteAddress.value)} is not an IP address or CIDR; the rule is left out`); return; }
        entry = { kind: "remoteAddress", key: descriptorKeys.maskedRemoteAddress, value: c.value, cidr: { length: c.length, family: c.family } };
      }
    } else if (e.generic) entry = { kind: "generic", key: descriptorKeys.generic(e.generic.key), value: e.generic.value };
    if (!entry) { problems.push(`${where}: sets no source (header, path, sourcePrincipal, remoteAddress or generic); the rule is left out`); return; }
    if (scope === "local" && entry.value === undefined) {
      problems.push(`${where}: a local rule needs a value (Envoy's local rate limit counts exact values only); the rule is left out`);
      return;
    }
    out.push(entry);
  });
  return out;
}

function bucketOf(rule: RuleSpec): Bucket | undefined {
  if (rule.tokenBucket) {
    const ms = parseDurationMs(rule.tokenBucket.fillInterval);
    if (ms === undefined) return undefined;
    return { maxTokens: rule.tokenBucket.maxTokens, tokensPerFill: rule.tokenBucket.tokensPerFill ?? 1, fillIntervalMs: Math.round(ms) };
  }
  if (rule.limit) return { maxTokens: rule.limit.requests, tokensPerFill: rule.limit.requests, fillIntervalMs: unitMs[rule.limit.unit] };
  return undefined;
}

/**
 * The rules of one scope of a policy, in the order written. A rule that cannot be used exactly as
 * written keeps its `problems` (the translator reports them and leaves the rule out; the service
 * skips it).
 */
export function compileRules(policy: PolicyLike, scope: RateLimitScope): CompiledRule[] {
  const spec = (policy.object.spec ?? {}) as RateLimitPolicySpec;
  const { namespace, name } = policy.key;
  const rules = (spec[scope]?.rules ?? []) as RuleSpec[];
  const failureMode = spec.global?.failureMode ?? "open";
  return rules.map((rule, index) => {
    const id = ruleId(namespace, name, rule.name, index);
    const problems: string[] = [];
    const at = `spec.${scope}.rules[${index}]`;
    const described = compileEntries(rule, scope, problems, at);
    const head: CompiledEntry[] = [{ kind: "rule", key: descriptorKeys.rule, value: id }];
    if (scope === "global") head.push({ kind: "service", key: descriptorKeys.service });
    const bucket = scope === "local" ? bucketOf(rule) : undefined;
    if (scope === "local" && !bucket) problems.push(`${at}: needs a limit or a valid tokenBucket; the rule is left out`);
    return {
      id, policy: { namespace, name }, scope, index,
      ...(rule.match ? { match: rule.match } : {}),
      entries: [...head, ...described],
      ...(rule.limit ? { limit: { requests: rule.limit.requests, unit: rule.limit.unit } } : {}),
      ...(bucket ? { bucket } : {}),
      unconditional: !rule.match && (rule.descriptor ?? []).length === 0,
      shadow: spec.shadow ?? false,
      failureMode,
      responseHeaders: spec.responseHeaders ?? true,
      problems,
    };
  });
}

/** Whether a loaded resource is a RateLimitPolicy. */
export function isRateLimitPolicy(r: { key: { group: string; kind: string } }): boolean {
  return r.key.group === "waystation.io" && r.key.kind === "RateLimitPolicy";
}

/**
 * Every usable global rule of every RateLimitPolicy among `resources`, sorted by id: what the
 * rate limit service loads.
 */
export function globalRules(resources: readonly LoadedResource[]): CompiledRule[] {
  return resources.filter(isRateLimitPolicy)
    .flatMap((p) => compileRules(p, "global"))
    .filter((r) => r.problems.length === 0)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
