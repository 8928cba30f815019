/**
 * Waypoint binding, as istiod resolves it (shared/reference/istio-ambient.md §5.3): the object's
 * own istio.io/use-waypoint (value "none" opts out), else its namespace's; then the waypoint must
 * exist, accept the traffic type (istio.io/waypoint-for) and allow the object's namespace.
 */
import { labels } from "./labels.js";
import { allowsNamespace } from "./waypoints.js";
import type { BindingSource, NamespaceInfo, Waypoint, WaypointBinding } from "./types.js";

export interface BindingTarget {
  /** "Service bookinfo/reviews" */
  describe: string;
  namespace: string;
  labels: Record<string, string>;
  /** Waypoints and their own services and pods never use a waypoint. */
  isWaypoint: boolean;
}

export function resolveBinding(
  target: BindingTarget,
  trafficType: "service" | "workload",
  namespaces: ReadonlyMap<string, NamespaceInfo>,
  waypoints: ReadonlyMap<string, Waypoint>,
): WaypointBinding {
  if (target.isWaypoint) return { state: "none", reason: `${target.describe} is part of a waypoint; waypoints never use a waypoint` };
  const ns = namespaces.get(target.namespace);
  let via: BindingSource | undefined;
  let wpNamespace = target.namespace;
  const own = target.labels[labels.useWaypoint];
  if (own !== undefined) {
    via = { object: target.describe, label: labels.useWaypoint, value: own };
    wpNamespace = target.labels[labels.useWaypointNamespace] ?? target.namespace;
  } else if (ns?.labels[labels.useWaypoint] !== undefined) {
    via = { object: `Namespace ${ns.name}`, label: labels.useWaypoint, value: ns.labels[labels.useWaypoint]! };
    wpNamespace = ns.labels[labels.useWaypointNamespace] ?? target.namespace;
  }
  if (!via) return { state: "none", reason: `neither ${target.describe} nor its namespace has the label ${labels.useWaypoint}` };
  if (via.value === "none") return { state: "opted-out", via };
  const wp = waypoints.get(`${wpNamespace}/${via.value}`);
  if (!wp) return { state: "error", via, reason: `waypoint ${wpNamespace}/${via.value} does not exist (no Gateway of class istio-waypoint with that name)` };
  if (wp.trafficType !== trafficType && wp.trafficType !== "all") {
    // A namespace label binds services and workloads alike; a waypoint for one kind of traffic
    // simply does not take the other. Only an object's own label asking for it is an error.
    if (own === undefined) return { state: "none", reason: `the namespace waypoint ${wpNamespace}/${via.value} takes ${wp.trafficType} traffic only` };
    return { state: "error", via, reason: `waypoint ${wpNamespace}/${via.value} takes ${wp.trafficType} traffic (${labels.waypointFor}: ${wp.trafficType}), not ${trafficType} traffic` };
  }
  if (!allowsNamespace(wp, target.namespace, ns?.labels ?? {})) {
    return { state: "error", via, reason: `waypoint ${wpNamespace}/${via.value} does not allow binding from namespace ${target.namespace} (allowedRoutes.namespaces.from: ${wp.allowed.from})` };
  }
  return { state: "bound", waypoint: wp, via };
}

/** One line saying why, for `waystation explain`. */
export function describeBinding(b: WaypointBinding): string {
  switch (b.state) {
    case "bound": return `uses waypoint ${b.waypoint.namespace}/${b.waypoint.name} (${b.via.label}=${b.via.value} on ${b.via.object})`;
    case "opted-out": return `uses no waypoint: opted out with ${b.via.label}=none on ${b.via.object}`;
    case "none": return `uses no waypoint: ${b.reason}`;
    case "error": return `uses no waypoint: ${b.via.label}=${b.via.value} on ${b.via.object}, but ${b.reason}`;
  }
}
