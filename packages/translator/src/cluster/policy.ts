/**
 * Which parts of a DestinationRule's traffic policy apply to one cluster (service port, optional
 * subset), with Istio's merge rules (`util.GetPortLevelTrafficPolicy`, `MergeSubsetTrafficPolicy`):
 *
 * 1. A `portLevelSettings` entry for the port replaces loadBalancer, connectionPool,
 *    outlierDetection and tls as a whole: nothing is inherited from the level above, omitted
 *    fields fall back to defaults (istio/api TrafficPolicy.portLevelSettings). As in Istio, the
 *    port-level result carries none of the top level's proxyProtocol/tunnel/retryBudget.
 * 2. A subset's policy (after its own port-level step) overrides the top-level result field by
 *    field; when the subset has a port-level entry, all four fields come from the subset.
 */
import { parseDurationMs, type DestinationRuleSpec, type TrafficPolicy } from "@waystation/api";

/** The fields of a traffic policy that shape one cluster, after merging. */
export type EffectivePolicy = Pick<TrafficPolicy, "loadBalancer" | "connectionPool" | "outlierDetection" | "tls" | "proxyProtocol" | "tunnel" | "retryBudget">;

const perPort = ["loadBalancer", "connectionPool", "outlierDetection", "tls"] as const;
const whole = ["proxyProtocol", "tunnel", "retryBudget"] as const;

function atPort(tp: TrafficPolicy | undefined, port: number): { policy?: EffectivePolicy; portLevel: boolean } {
  if (!tp) return { portLevel: false };
  const pl = tp.portLevelSettings?.find((p) => p.port.number === port);
  if (!pl) {
    const policy: EffectivePolicy = {};
    for (const k of [...perPort, ...whole]) if (tp[k] !== undefined) Object.assign(policy, { [k]: tp[k] });
    return { policy, portLevel: false };
  }
  const policy: EffectivePolicy = {};
  for (const k of perPort) if (pl[k] !== undefined) Object.assign(policy, { [k]: pl[k] });
  return { policy, portLevel: true };
}

/** The policy of the cluster for `port` (and `subset`), or undefined when the rule sets none. */
export function effectivePolicy(spec: DestinationRuleSpec | undefined, port: number, subset?: string): EffectivePolicy | undefined {
  const top = atPort(spec?.trafficPolicy, port).policy;
  if (subset === undefined) return top;
  const sub = atPort(spec?.subsets?.find((s) => s.name === subset)?.trafficPolicy, port);
  if (!sub.policy) return top;
  if (!top) return sub.policy;
  const merged: EffectivePolicy = { ...top };
  for (const k of perPort) {
    if (sub.policy[k] !== undefined || sub.portLevel) {
      if (sub.policy[k] === undefined) delete merged[k];
      else Object.assign(merged, { [k]: sub.policy[k] });
    }
  }
  for (const k of whole) if (sub.policy[k] !== undefined) Object.assign(merged, { [k]: sub.policy[k] });
  return merged;
}

/** A Go-style duration string ("10s", "1m30s", "250ms") as milliseconds; 0 for a malformed one (the API rejects those). */
export function durationMs(v: string): number {
  return parseDurationMs(v) ?? 0;
}
