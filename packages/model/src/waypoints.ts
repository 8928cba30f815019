/** Waypoints from Gateways of class istio-waypoint (shared/reference/istio-ambient.md §5.1). */
import type { LoadedResource } from "@waystation/api";
import { hbonePort, labels, waypointClass } from "./labels.js";
import { serviceHostname, spiffeId } from "./names.js";
import type { MeshOptions } from "./options.js";
import type { Condition, Waypoint } from "./types.js";

interface GatewaySpec {
  gatewayClassName?: string;
  listeners?: { name?: string; port?: number; protocol?: string; allowedRoutes?: { namespaces?: { from?: string; selector?: { matchLabels?: Record<string, string> } } } }[];
  addresses?: { type?: string; value?: string }[];
}

export function isWaypointGateway(r: LoadedResource): boolean {
  return r.key.kind === "Gateway" && r.key.group === "gateway.networking.k8s.io"
    && (r.object.spec as GatewaySpec).gatewayClassName === waypointClass;
}

export function buildWaypoints(resources: readonly LoadedResource[], opts: MeshOptions, conditions: Condition[]): Waypoint[] {
  const out: Waypoint[] = [];
  for (const r of resources) {
    if (!isWaypointGateway(r)) continue;
    const spec = r.object.spec as GatewaySpec;
    const forLabel = r.object.metadata.labels?.[labels.waypointFor] ?? "service";
    const trafficType = (["service", "workload", "all", "none"] as const).find((t) => t === forLabel) ?? "service";
    const mesh = (spec.listeners ?? []).find((l) => l.port === hbonePort && l.protocol === "HBONE");
    const ns = mesh?.allowedRoutes?.namespaces;
    const from = ns?.from === "All" || ns?.from === "Selector" ? ns.from : "Same";
    const status = r.object.status as { addresses?: { value?: string }[] } | undefined;
    const addresses = [...(status?.addresses ?? []), ...(spec.addresses ?? [])].map((a) => a.value).filter((v): v is string => !!v);
    out.push({
      key: r.key,
      namespace: r.key.namespace,
      name: r.key.name,
      trafficType,
      allowed: from === "Selector" ? { from, matchLabels: ns?.selector?.matchLabels ?? {} } : { from },
      hostname: serviceHostname(r.key.name, r.key.namespace, opts),
      serviceAccount: r.key.name,
      identity: spiffeId(r.key.namespace, r.key.name, opts),
      addresses: [...new Set(addresses)].sort(),
      object: r.object,
    });
    conditions.push({ resource: r.key, type: "Accepted", status: "True", reason: "Accepted", message: `waypoint for ${trafficType} traffic` });
  }
  return out;
}

/** Whether a waypoint lets objects in `namespace` (with these namespace labels) bind to it. */
export function allowsNamespace(w: Waypoint, namespace: string, nsLabels: Record<string, string>): boolean {
  switch (w.allowed.from) {
    case "All": return true;
    case "Same": return namespace === w.namespace;
    case "Selector": return Object.entries(w.allowed.matchLabels ?? {}).every(([k, v]) => nsLabels[k] === v);
  }
}
