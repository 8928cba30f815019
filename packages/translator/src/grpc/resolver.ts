/**
 * The ClusterResolver of proxyless gRPC clients: a backend is a Kubernetes Service port that
 * translateGrpc builds clusters for (HTTP-like or unknown protocol), named
 * outbound|<port>|<subset>|<host>. A subset must be declared by the DestinationRule that
 * translateGrpc reads for that service, so every name this returns exists in the snapshot.
 */
import { isHttp, type MeshModel, type MeshService, type ServicePort } from "@waystation/model";
import { findDestinationRule } from "../destinationRule.js";
import { outboundName } from "../names.js";
import type { ClusterResolver } from "../routing/ir.js";

/** Service ports a proxyless client can dial: gRPC is HTTP/2, so TCP-only ports are left out. */
export function grpcPorts(svc: MeshService): ServicePort[] {
  return svc.kind === "Service" ? svc.ports.filter((p) => isHttp(p.protocol) || p.protocol === "UNKNOWN") : [];
}

/**
 * Resolves backends of the routes of `svc`:`port`. A backend without a port takes this port when
 * it names the same service, else the target's only port (as for waypoints).
 */
export function grpcResolver(model: MeshModel, svc: MeshService, port: ServicePort): ClusterResolver {
  return (b) => {
    const target = model.services.find((s) => s.hostname === b.host);
    if (!target) return { error: `${b.host} is not a service in the mesh` };
    if (target.kind !== "Service") {
      return { error: `${b.host} is a ServiceEntry host; proxyless gRPC clients are given clusters for Kubernetes Services only` };
    }
    const ports = grpcPorts(target);
    const number = b.port ?? (target.hostname === svc.hostname ? port.port : ports.length === 1 ? ports[0]!.port : undefined);
    if (number === undefined) return { error: `${b.host} has ${ports.length} gRPC-capable ports; the destination must name one` };
    if (!ports.some((p) => p.port === number)) {
      return { error: `${b.host} has no HTTP, gRPC or unknown-protocol port ${number} (such ports: ${ports.map((p) => p.port).join(", ") || "none"})` };
    }
    if (b.subset !== undefined) {
      const dr = findDestinationRule(model, target, target.namespace);
      if (!dr) return { error: `subset ${JSON.stringify(b.subset)} of ${b.host}: no DestinationRule for ${b.host} is visible in namespace ${target.namespace}` };
      if (!(dr.object.spec.subsets ?? []).some((s) => s.name === b.subset)) {
        return { error: `subset ${JSON.stringify(b.subset)} of ${b.host} is not declared by DestinationRule ${dr.key.namespace}/${dr.key.name}` };
      }
    }
    return { cluster: outboundName(target.hostname, number, b.subset) };
  };
}
