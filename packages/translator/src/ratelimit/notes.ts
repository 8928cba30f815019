/**
 * Conditions on RateLimitPolicies: anything the translator could not apply exactly as written.
 * Same condition type as authorization (`WaypointAccepted`), one per distinct message. Only notes
 * that depend on the service name it; the others read the same for every service, so a policy
 * attached to a waypoint reports them once.
 */
import type { LoadedResource } from "@waystation/api";
import type { Condition } from "@waystation/model";
import { Report } from "../authz/options.js";
import type { CompiledRule } from "./descriptors.js";

/** Collects conditions for the policies behind compiled rules. */
export class Notes {
  private readonly report = new Report();
  private readonly byName = new Map<string, LoadedResource>();

  constructor(policies: readonly LoadedResource[], readonly where: string) {
    for (const p of policies) this.byName.set(`${p.key.namespace}/${p.key.name}`, p);
  }

  /** A note on the policy of `rule` (or on `policy`); with `here`, `where` (the service) ends the message. */
  add(rule: CompiledRule | LoadedResource, status: "True" | "False", reason: string, message: string, here = false): void {
    const policy = "policy" in rule ? this.byName.get(`${rule.policy.namespace}/${rule.policy.name}`) : rule;
    if (policy) this.report.add(policy, status, reason, here ? `${message} (at ${this.where})` : message);
  }

  conditions(): Condition[] {
    return this.report.conditions();
  }
}

/**
 * Whether a filter shared by `rules` sends X-RateLimit headers: only if every non-shadow policy
 * among them wants them (responseHeaders defaults to true). A policy that turned them off wins,
 * and the others are told.
 */
export function headersWanted(rules: readonly CompiledRule[], notes: Notes, scope: "local" | "global"): boolean {
  const enforced = rules.filter((r) => !r.shadow);
  if (enforced.length === 0) return false;
  const off = [...new Set(enforced.filter((r) => !r.responseHeaders).map((r) => `${r.policy.namespace}/${r.policy.name}`))];
  if (off.length === 0) return true;
  for (const r of enforced.filter((x) => x.responseHeaders)) {
    notes.add(r, "True", "HeadersOff", `spec.responseHeaders: the ${scope} x-ratelimit headers are not sent, because ${off.join(", ")} (limiting the same service) sets responseHeaders: false`, true);
  }
  return false;
}
