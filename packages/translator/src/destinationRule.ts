/**
 * Which DestinationRule applies to a service as seen from a proxy, the way Istio looks it up: a
 * rule in the proxy's namespace, else in the service's namespace, else in the root namespace; the
 * most specific host wins (exact before wildcard), then the oldest (here: by namespace/name).
 */
import type { LoadedResource } from "@waystation/api";
import { hostMatches, resolveShortHost, type MeshModel, type MeshService } from "@waystation/model";

/** The fields of a DestinationRule spec that translators read. */
export interface DestinationRuleSpec {
  host: string;
  trafficPolicy?: Record<string, unknown>;
  subsets?: { name: string; labels?: Record<string, string>; trafficPolicy?: Record<string, unknown> }[];
  exportTo?: string[];
}

export function findDestinationRule(model: MeshModel, svc: MeshService, proxyNamespace: string): LoadedResource<DestinationRuleSpec> | undefined {
  const byNamespace = rulesByNamespace(model);
  for (const ns of [proxyNamespace, svc.namespace, model.options.rootNamespace]) {
    const candidates = (byNamespace.get(ns) ?? [])
      .filter((x) => visibleTo(x.r, proxyNamespace) && hostMatches(x.host, svc.hostname))
      .sort((a, b) => specificity(b.host) - specificity(a.host));
    if (candidates.length > 0) return candidates[0]!.r;
  }
  return undefined;
}

type IndexedRule = { r: LoadedResource<DestinationRuleSpec>; host: string };
const index = new WeakMap<MeshModel, Map<string, IndexedRule[]>>();

/**
 * DestinationRules by namespace, with hosts resolved, computed once per model: lookups run for
 * every cluster and route, so scanning all resources each time made translation superlinear.
 */
function rulesByNamespace(model: MeshModel): Map<string, IndexedRule[]> {
  let m = index.get(model);
  if (!m) {
    m = new Map();
    for (const r of model.resources) {
      if (r.key.group !== "networking.istio.io" || r.key.kind !== "DestinationRule") continue;
      const dr = r as LoadedResource<DestinationRuleSpec>;
      const list = m.get(r.key.namespace) ?? [];
      list.push({ r: dr, host: resolveShortHost(dr.object.spec.host, r.key.namespace, model.options) });
      m.set(r.key.namespace, list);
    }
    index.set(model, m);
  }
  return m;
}

function visibleTo(r: LoadedResource<DestinationRuleSpec>, ns: string): boolean {
  const exportTo = r.object.spec.exportTo;
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.includes("*") || exportTo.includes(ns) || (exportTo.includes(".") && r.key.namespace === ns);
}

function specificity(host: string): number {
  return host.startsWith("*") ? host.length : 10_000 + host.length;
}
