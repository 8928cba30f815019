/**
 * The limits the service enforces, compiled from RateLimitPolicies by the descriptor module the
 * translator also uses (@waystation/translator/ratelimit/descriptors), and the matching of one
 * request descriptor against them. Pure.
 *
 * A descriptor matches a rule when its first entry is the rule's (`waystation.io/rule` = id) and
 * every following entry has the rule's key, in order, and the rule's value where the rule has
 * one. The counter is then per (rule, value of every entry): the service entry and each
 * value-less entry give one counter per distinct value.
 */
import type { LoadedResource } from "@waystation/api";
import { canonicalCidr, descriptorKeys, globalRules, pathOnly, unitMs, type CompiledEntry, type CompiledRule } from "@waystation/translator/ratelimit/descriptors";

/** One entry as Envoy sends it. */
export interface Entry { key: string; value: string }

/** A rule ready for matching. */
export interface Limit {
  rule: CompiledRule;
  requests: number;
  windowMs: number;
}

/** A descriptor that matched a limit: which one, and its counter key (without domain and window). */
export interface Matched {
  limit: Limit;
  counter: string;
}

/** The value the service counts for an entry, as Envoy sent it. */
function canonical(e: CompiledEntry, value: string): string | undefined {
  if (e.kind === "path") return pathOnly(value);
  if (e.kind === "remoteAddress" && e.cidr) return canonicalCidr(value)?.value;
  return value;
}

/** The compiled global rules, by id. */
export class LimitTable {
  private readonly byId = new Map<string, Limit>();

  constructor(rules: readonly CompiledRule[]) {
    for (const rule of rules) {
      if (!rule.limit) continue;
      this.byId.set(rule.id, { rule, requests: rule.limit.requests, windowMs: unitMs[rule.limit.unit] });
    }
  }

  /** The limits of every RateLimitPolicy among `resources` (other kinds are ignored). */
  static fromResources(resources: readonly LoadedResource[]): LimitTable {
    return new LimitTable(globalRules(resources));
  }

  get size(): number {
    return this.byId.size;
  }

  /** Every limit, sorted by rule id. */
  limits(): Limit[] {
    return [...this.byId.values()];
  }

  /** The limit a descriptor falls under, or undefined (no limit: the descriptor is allowed). */
  match(entries: readonly Entry[]): Matched | undefined {
    const head = entries[0];
    if (!head || head.key !== descriptorKeys.rule) return undefined;
    const limit = this.byId.get(head.value);
    if (!limit) return undefined;
    const want = limit.rule.entries;
    if (entries.length !== want.length) return undefined;
    const parts = [encodeURIComponent(head.value)];
    for (let i = 1; i < want.length; i++) {
      const w = want[i]!, got = entries[i]!;
      if (got.key !== w.key) return undefined;
      const v = canonical(w, got.value);
      if (v === undefined || v === "" || (w.value !== undefined && v !== w.value)) return undefined;
      parts.push(encodeURIComponent(v));
    }
    return { limit, counter: parts.join("/") };
  }
}
