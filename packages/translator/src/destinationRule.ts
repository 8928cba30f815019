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
  const rules = model.resources.filter((r) => r.key.group === "networking.istio.io" && r.key.kind === "DestinationRule") as LoadedResource<DestinationRuleSpec>[];
  for (const ns of [proxyNamespace, svc.namespace, model.options.rootNamespace]) {
    const candidates = rules
      .filter((r) => r.key.namespace === ns && visibleTo(r, proxyNamespace))
      .map((r) => ({ r, host: resolveShortHost(r.object.spec.host, r.key.namespace, model.options) }))
      .filter((x) => hostMatches(x.host, svc.hostname))
      .sort((a, b) => specificity(b.host) - specificity(a.host));
    if (candidates.length > 0) return candidates[0]!.r;
  }
  return undefined;
}

function visibleTo(r: LoadedResource<DestinationRuleSpec>, ns: string): boolean {
  const exportTo = r.object.spec.exportTo;
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.includes("*") || exportTo.includes(ns) || (exportTo.includes(".") && r.key.namespace === ns);
}

function specificity(host: string): number {
  return host.startsWith("*") ? host.length : 10_000 + host.length;
}
