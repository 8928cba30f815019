/**
 * The waypoint's ClusterResolver: a backend this waypoint serves goes to its inbound-vip cluster
 * (inbound-vip|<port>|<http|tcp>[/<subset>]|<host>, the clusters translateWaypoint builds); any
 * other host is an error for now. (Istio would add an outbound|... cluster for a VirtualService
 * destination the waypoint does not own; Waystation does not build those yet.)
 */
import type { MeshModel, MeshService, ServicePort, Waypoint } from "@waystation/model";
import { findDestinationRule } from "../destinationRule.js";
import { inboundVipName } from "../names.js";
import type { ClusterResolver } from "./ir.js";

const servedCache = new WeakMap<MeshModel, Map<string, { list: MeshService[]; byHost: Map<string, MeshService> }>>();

function served(model: MeshModel, w: Waypoint): { list: MeshService[]; byHost: Map<string, MeshService> } {
  const perModel = servedCache.get(model) ?? new Map<string, { list: MeshService[]; byHost: Map<string, MeshService> }>();
  servedCache.set(model, perModel);
  const key = `${w.namespace}/${w.name}`;
  let hit = perModel.get(key);
  if (!hit) {
    const list = model.services.filter((s) => s.waypoint.state === "bound" && s.waypoint.waypoint.key.namespace === w.namespace
      && s.waypoint.waypoint.name === w.name && s.vips.length > 0);
    const byHost = new Map<string, MeshService>();
    for (const s of list) if (!byHost.has(s.hostname)) byHost.set(s.hostname, s);
    hit = { list, byHost };
    perModel.set(key, hit);
  }
  return hit;
}

/**
 * Services bound to this waypoint that it builds clusters for (a service without a VIP gets none).
 * Computed once per model and waypoint: every route's backends are resolved against it.
 */
export function servedServices(model: MeshModel, w: Waypoint): MeshService[] {
  return served(model, w).list;
}

/**
 * Resolves backends for the chain of `svc`:`port`. A backend without a port takes the chain's
 * port when it names the chain's own service, else the service's only port. A subset must be
 * declared by the DestinationRule the waypoint applies to that service.
 */
export function waypointResolver(model: MeshModel, w: Waypoint, svc: MeshService, port: ServicePort): ClusterResolver {
  const byHost = served(model, w).byHost;
  const wp = `waypoint ${w.namespace}/${w.name}`;
  return (b) => {
    const target = byHost.get(b.host);
    if (!target) return { error: `${b.host} is not served by ${wp} (the waypoint routes only to services bound to it)` };
    const ports = target.ports.filter((p) => p.protocol !== "UDP");
    const number = b.port ?? (target.hostname === svc.hostname ? port.port : ports.length === 1 ? ports[0]!.port : undefined);
    if (number === undefined) return { error: `${b.host} has ${ports.length} ports; the destination must name one` };
    const tp = ports.find((p) => p.port === number);
    if (!tp) return { error: `${b.host} has no port ${number} (ports: ${ports.map((p) => p.port).join(", ") || "none"})` };
    if (b.subset !== undefined) {
      const dr = findDestinationRule(model, target, w.namespace);
      if (!dr) return { error: `subset ${JSON.stringify(b.subset)} of ${b.host}: no DestinationRule for ${b.host} is visible to ${wp}` };
      if (!(dr.object.spec.subsets ?? []).some((s) => s.name === b.subset)) {
        return { error: `subset ${JSON.stringify(b.subset)} of ${b.host} is not declared by DestinationRule ${dr.key.namespace}/${dr.key.name}` };
      }
    }
    return { cluster: inboundVipName(target, tp, b.subset) };
  };
}
