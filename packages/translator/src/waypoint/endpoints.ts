/**
 * Endpoints of a waypoint's inbound-vip clusters (istio-ambient.md §6.6). A mesh workload is
 * reached through connect_originate: an internal address whose endpoint id is podIP:port (so
 * endpoints are not merged) and metadata that tells original_dst the real destination. A workload
 * outside the mesh is a plain socket address.
 */
import { create } from "@bufbuild/protobuf";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import type { LbEndpoint } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { HealthStatus } from "@waystation/proto/envoy/config/core/v3/health_check_pb.js";
import type { MeshService, MeshWorkload, ServicePort } from "@waystation/model";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LbEndpointSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_components_pb.js";
import { waypointNames } from "../names.js";
import { originalDstMetadata } from "./connectOriginate.js";

/** The port a workload serves a service port on: a number, or a named container port. */
export function targetPortOf(port: ServicePort, w: MeshWorkload, svc: MeshService): number | undefined {
  if (svc.kind === "ServiceEntry") {
    // A ServiceEntry's workloads may remap ports by port name (WorkloadEntry ports map).
    return (port.name && w.namedPorts[port.name]) || (typeof port.targetPort === "number" ? port.targetPort : undefined);
  }
  if (typeof port.targetPort === "number") return port.targetPort;
  return w.namedPorts[port.targetPort];
}

export function workloadEndpoint(ip: string, port: number, w: Pick<MeshWorkload, "tunnel" | "healthy">): MessageInitShape<typeof LbEndpointSchema> {
  const hostPort = ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
  const health = w.healthy ? HealthStatus.HEALTHY : HealthStatus.UNHEALTHY;
  if (w.tunnel !== "HBONE") {
    return {
      hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: ip, portSpecifier: { case: "portValue", value: port } } } } } },
      healthStatus: health,
    };
  }
  return {
    hostIdentifier: {
      case: "endpoint",
      value: { address: { address: { case: "envoyInternalAddress", value: { addressNameSpecifier: { case: "serverListenerName", value: waypointNames.connectOriginate }, endpointId: hostPort } } } },
    },
    metadata: { filterMetadata: { [originalDstMetadata]: { local: hostPort } } },
    healthStatus: health,
  };
}

/** The load assignment of one inbound-vip cluster: every workload of the service (matching the subset labels). */
export function loadAssignment(clusterName: string, svc: MeshService, port: ServicePort, workloads: readonly MeshWorkload[], subsetLabels?: Record<string, string>): ClusterLoadAssignment {
  const lbEndpoints: MessageInitShape<typeof LbEndpointSchema>[] = [];
  for (const w of workloadsByService(workloads).get(svc.hostname) ?? []) {
    if (subsetLabels && !Object.entries(subsetLabels).every(([k, v]) => w.labels[k] === v)) continue;
    const p = targetPortOf(port, w, svc);
    if (p === undefined) continue;
    for (const ip of w.ips) lbEndpoints.push(workloadEndpoint(ip, p, w));
  }
  for (const e of svc.inlineEndpoints) {
    if (subsetLabels && !Object.entries(subsetLabels).every(([k, v]) => e.labels?.[k] === v)) continue;
    const p = (port.name && e.ports?.[port.name]) || (typeof port.targetPort === "number" ? port.targetPort : port.port);
    lbEndpoints.push(workloadEndpoint(e.address, p, { tunnel: "NONE", healthy: true }));
  }
  return create(ClusterLoadAssignmentSchema, { clusterName, endpoints: lbEndpoints.length > 0 ? [{ lbEndpoints }] : [] });
}

const byServiceCache = new WeakMap<readonly MeshWorkload[], Map<string, MeshWorkload[]>>();

/** Workloads by the host names of the services that select them, once per workload list. */
function workloadsByService(workloads: readonly MeshWorkload[]): Map<string, MeshWorkload[]> {
  let m = byServiceCache.get(workloads);
  if (!m) {
    m = new Map();
    for (const w of workloads) {
      for (const h of w.services) {
        const list = m.get(h);
        if (list) list.push(w); else m.set(h, [w]);
      }
    }
    byServiceCache.set(workloads, m);
  }
  return m;
}

export type { LbEndpoint };
