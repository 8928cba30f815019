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

/** Services bound to this waypoint that it builds clusters for (a service without a VIP gets none). */
export function servedServices(model: MeshModel, w: Waypoint): MeshService[] {
  return model.services.filter((s) => s.waypoint.state === "bound" && s.waypoint.waypoint.key.namespace === w.namespace
    && s.waypoint.waypoint.name === w.name && s.vips.length > 0);
}

/**
 * Resolves backends for the chain of `svc`:`port`. A backend without a port takes the chain's
 * port when it names the chain's own service, else the service's only port. A subset must be
 * declared by the DestinationRule the waypoint applies to that service.
 */
export function waypointResolver(model: MeshModel, w: Waypoint, svc: MeshService, port: ServicePort): ClusterResolver {
  const served = servedServices(model, w);
  const wp = `waypoint ${w.namespace}/${w.name}`;
  return (b) => {
    const target = served.find((s) => s.hostname === b.host);
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
