/**
 * Pods, WorkloadEntries and ServiceEntry endpoints -> istio.workload.Workload, as istiod's
 * ambient index fills them (istio-ambient.md §3.4, §3.6, §5.3; istio pilot/.../ambient/workloads.go).
 *
 * A ServiceEntry's inline endpoints, and the implicit endpoint of a DNS ServiceEntry without
 * endpoints (one per host, addressed by host name), become workloads of their own with uid
 * `<cluster>/networking.istio.io/ServiceEntry/<ns>/<name>/<address>`.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LoadedResource, PodSpec, ServiceEntrySpec, WorkloadEntrySpec } from "@waystation/api";
import { annotations, labels, spiffeId, type MeshModel, type MeshService, type MeshWorkload } from "@waystation/model";
import {
  NetworkMode, TunnelProtocol, WorkloadStatus, WorkloadType, type PortListSchema, type WorkloadSchema,
} from "@waystation/proto/istio/workload/workload_pb.js";
import { boundWaypoint, canonicalService, ipBytes, podWorkloadName, trustDomainField } from "./common.js";
import { serviceResourceName } from "./services.js";

type WorkloadInit = MessageInitShape<typeof WorkloadSchema>;
type PortListInit = MessageInitShape<typeof PortListSchema>;

/** A workload to publish, with what the model does not keep about it. */
export interface WorkloadSource {
  /** As the model holds it (for ServiceEntry endpoints, built here in the same shape). */
  workload: MeshWorkload;
  origin: "Pod" | "WorkloadEntry" | "ServiceEntry";
  /** The Pod, WorkloadEntry or ServiceEntry manifest. */
  resource: LoadedResource | undefined;
  network: string;
  workloadName: string;
  /** "region/zone/subzone" from a WorkloadEntry or endpoint. */
  locality?: string;
  /** The services it backs. */
  services: MeshService[];
}

/** Every workload ztunnel should know: model workloads, then ServiceEntry endpoints. */
export function workloadSources(model: MeshModel, byKey: (kind: string, ns: string, name: string) => LoadedResource | undefined): WorkloadSource[] {
  const out: WorkloadSource[] = [];
  const byNamespace = new Map<string, MeshService[]>();
  for (const s of model.services) {
    const list = byNamespace.get(s.namespace);
    if (list) list.push(s);
    else byNamespace.set(s.namespace, [s]);
  }
  const servicesOf = (w: MeshWorkload) => (byNamespace.get(w.namespace) ?? []).filter((s) => w.services.includes(s.hostname));
  for (const w of model.workloads) {
    const resource = byKey(w.kind, w.namespace, w.name);
    const nsNetwork = model.namespaces.get(w.namespace)?.labels[labels.network];
    if (w.kind === "Pod") {
      out.push({
        workload: w, origin: "Pod", resource, workloadName: resource ? podWorkloadName(resource) : w.name,
        network: w.labels[labels.network] ?? nsNetwork ?? model.options.network, services: servicesOf(w),
      });
    } else {
      const spec = (resource?.object.spec ?? {}) as WorkloadEntrySpec;
      out.push({
        workload: w, origin: "WorkloadEntry", resource, workloadName: w.name,
        network: spec.network ?? w.labels[labels.network] ?? nsNetwork ?? model.options.network,
        ...(spec.locality ? { locality: spec.locality } : {}), services: servicesOf(w),
      });
    }
  }
  for (const r of model.resources) {
    if (r.key.group === "networking.istio.io" && r.key.kind === "ServiceEntry") out.push(...serviceEntryEndpoints(model, r));
  }
  return out;
}

function serviceEntryEndpoints(model: MeshModel, se: LoadedResource): WorkloadSource[] {
  const spec = se.object.spec as ServiceEntrySpec;
  const hosts = model.services.filter((s) => s.kind === "ServiceEntry" && s.namespace === se.key.namespace && s.name === se.key.name);
  const resolution = spec.resolution ?? "NONE";
  let endpoints = (spec.endpoints ?? []).map((e) => ({ ...e, hosts }));
  // A DNS ServiceEntry needs no endpoints: each host resolves itself (istiod's implicit endpoints).
  // Each implicit endpoint backs only its own host; a connection to one host never goes to another.
  if (endpoints.length === 0 && !spec.workloadSelector && (resolution === "DNS" || resolution === "DNS_ROUND_ROBIN")) {
    endpoints = hosts.filter((h) => !h.hostname.startsWith("*")).map((h) => ({ address: h.hostname, hosts: [h] }));
  }
  const ns = se.key.namespace;
  const seen = new Set<string>();
  const out: WorkloadSource[] = [];
  for (const ep of endpoints) {
    const address = ep.address ?? "";
    if (address === "" || address.startsWith("unix://") || seen.has(address)) continue; // a unix socket is not reachable over the network
    seen.add(address);
    const ip = ipBytes(address) !== undefined;
    const epLabels = ep.labels ?? {};
    const sa = ep.serviceAccount ?? "default";
    const native = epLabels[labels.tunnel] === "http";
    const workload: MeshWorkload = {
      key: se.key, kind: "WorkloadEntry", uid: `${model.options.clusterId}/networking.istio.io/ServiceEntry/${ns}/${se.key.name}/${address}`,
      namespace: ns, name: se.key.name, ips: ip ? [address] : [], ...(ip ? {} : { hostname: address }),
      serviceAccount: sa, identity: spiffeId(ns, sa, model.options), node: "", labels: epLabels, namedPorts: { ...(ep.ports ?? {}) },
      tunnel: native ? "HBONE" : "NONE", nativeTunnel: native, healthy: true,
      waypoint: { state: "none", reason: "ServiceEntry endpoints take their waypoint from the ServiceEntry's service binding" },
      services: ep.hosts.map((h) => h.hostname),
    };
    out.push({
      workload, origin: "ServiceEntry", resource: se, workloadName: se.key.name, network: ep.network ?? model.options.network,
      ...(ep.locality ? { locality: ep.locality } : {}), services: ep.hosts,
    });
  }
  return out;
}

/**
 * The target port of each service port on this workload (Workload.services): a WorkloadEntry or
 * endpoint `ports` entry named like the service port wins; a named target port is looked up
 * among the pod's container ports (or the entry's ports); a numeric one is used as is. A named
 * port the workload does not have leaves that service port out, as istiod does.
 */
export function portsFor(src: WorkloadSource, svc: MeshService): PortListInit {
  const named = src.workload.namedPorts;
  const ports: { servicePort: number; targetPort: number }[] = [];
  for (const p of svc.ports) {
    let target = src.origin !== "Pod" && p.name ? named[p.name] : undefined;
    target ??= typeof p.targetPort === "number" ? p.targetPort : named[p.targetPort];
    if (target !== undefined) ports.push({ servicePort: p.port, targetPort: target });
  }
  return { ports };
}

/** One workload as ztunnel sees it; `policies` are the names for authorization_policies. */
export function toWorkload(model: MeshModel, src: WorkloadSource, policies: readonly string[]): WorkloadInit {
  const w = src.workload;
  const canonical = canonicalService(w.labels, src.workloadName);
  const services: Record<string, PortListInit> = {};
  for (const s of [...src.services].sort((a, b) => (serviceResourceName(a) < serviceResourceName(b) ? -1 : 1))) {
    services[serviceResourceName(s)] = portsFor(src, s);
  }
  const waypoint = boundWaypoint(w.waypoint);
  const locality = src.locality?.split("/");
  const hostNetwork = src.origin === "Pod" && ((src.resource?.object.spec ?? {}) as PodSpec).hostNetwork === true;
  return {
    uid: w.uid,
    name: w.name,
    namespace: w.namespace,
    addresses: w.ips.map(ipBytes).filter((b): b is Uint8Array => b !== undefined),
    hostname: w.hostname ?? "",
    network: src.network,
    tunnelProtocol: tunnelOf(src) === "HBONE" ? TunnelProtocol.HBONE : TunnelProtocol.NONE,
    trustDomain: trustDomainField(model.options),
    serviceAccount: w.serviceAccount,
    // A waypoint's own pods never get a waypoint (the model resolves none for them). istiod
    // would give them application_tunnel from the GatewayClass annotation
    // ambient.istio.io/waypoint-inbound-binding; class istio-waypoint sets none, so neither do we.
    ...(waypoint ? { waypoint } : {}),
    node: w.node,
    canonicalName: canonical.name,
    canonicalRevision: canonical.revision,
    workloadType: WorkloadType.POD,
    workloadName: src.workloadName,
    nativeTunnel: w.nativeTunnel,
    services,
    authorizationPolicies: [...policies],
    status: w.healthy ? WorkloadStatus.HEALTHY : WorkloadStatus.UNHEALTHY,
    clusterId: model.options.clusterId,
    ...(locality ? { locality: { region: locality[0] ?? "", zone: locality[1] ?? "", subzone: locality[2] ?? "" } } : {}),
    networkMode: hostNetwork ? NetworkMode.HOST_NETWORK : NetworkMode.STANDARD,
  };
}

/**
 * A waypoint's pods are never captured (istiod deploys them with istio.io/dataplane-mode: none,
 * and they terminate HBONE themselves on 15008), so namespace enrolment does not make them
 * HBONE; only the CNI's redirection annotation or the native-tunnel label would.
 */
function tunnelOf(src: WorkloadSource): "HBONE" | "NONE" {
  const w = src.workload;
  if (w.waypointOf === undefined || w.nativeTunnel) return w.tunnel;
  return src.resource?.object.metadata.annotations?.[annotations.redirection] === "enabled" ? "HBONE" : "NONE";
}
