/** Services: Kubernetes Services, and one entry per host of each ServiceEntry. */
import type { LoadedResource } from "@waystation/api";
import { labels } from "./labels.js";
import { resolveBinding, type BindingTarget } from "./binding.js";
import { serviceHostname } from "./names.js";
import type { MeshOptions } from "./options.js";
import { kubePortProtocol, serviceEntryPortProtocol } from "./protocol.js";
import type { MeshService, NamespaceInfo, Waypoint } from "./types.js";

interface KubeServiceSpec {
  selector?: Record<string, string>;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string; appProtocol?: string }[];
}

interface ServiceEntrySpec {
  hosts?: string[];
  addresses?: string[];
  ports?: { number: number; name?: string; protocol?: string; targetPort?: number }[];
  location?: string;
  resolution?: string;
  endpoints?: { address?: string; ports?: Record<string, number>; labels?: Record<string, string>; network?: string; weight?: number }[];
  workloadSelector?: { labels?: Record<string, string> };
}

export function buildServices(
  resources: readonly LoadedResource[],
  opts: MeshOptions,
  namespaces: ReadonlyMap<string, NamespaceInfo>,
  waypoints: ReadonlyMap<string, Waypoint>,
): MeshService[] {
  const out: MeshService[] = [];
  for (const r of resources) {
    const meta = r.object.metadata;
    const svcLabels = meta.labels ?? {};
    const ns = r.key.namespace;
    if (r.key.group === "" && r.key.kind === "Service") {
      const spec = r.object.spec as KubeServiceSpec;
      const ips = (spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : []).filter((ip) => ip !== "None" && ip !== "");
      const isWaypoint = svcLabels[labels.gatewayName] !== undefined;
      out.push({
        key: r.key, kind: "Service", namespace: ns, name: r.key.name,
        hostname: serviceHostname(r.key.name, ns, opts),
        vips: ips,
        ports: (spec.ports ?? []).map((p) => ({
          name: p.name ?? "", port: p.port, targetPort: p.targetPort ?? p.port, protocol: kubePortProtocol(p),
        })),
        ...(spec.selector ? { selector: spec.selector } : {}),
        labels: svcLabels, external: false, resolution: "CLUSTER_IP", inlineEndpoints: [],
        waypoint: resolveBinding(target(r, isWaypoint), "service", namespaces, waypoints),
        ingressUseWaypoint: ingressUseWaypoint(svcLabels, namespaces.get(ns)),
      });
    } else if (r.key.group === "networking.istio.io" && r.key.kind === "ServiceEntry") {
      const spec = r.object.spec as ServiceEntrySpec;
      for (const host of spec.hosts ?? []) {
        out.push({
          key: r.key, kind: "ServiceEntry", namespace: ns, name: r.key.name, hostname: host,
          vips: spec.addresses ?? [],
          ports: (spec.ports ?? []).map((p) => ({
            name: p.name ?? "", port: p.number, targetPort: p.targetPort ?? p.number, protocol: serviceEntryPortProtocol(p.protocol),
          })),
          ...(spec.workloadSelector?.labels ? { selector: spec.workloadSelector.labels } : {}),
          labels: svcLabels,
          external: spec.location === "MESH_EXTERNAL",
          resolution: (spec.resolution ?? "NONE") as MeshService["resolution"],
          inlineEndpoints: (spec.endpoints ?? []).filter((e) => e.address).map((e) => ({ ...e, address: e.address! })),
          waypoint: resolveBinding(target(r, false), "service", namespaces, waypoints),
          ingressUseWaypoint: ingressUseWaypoint(svcLabels, namespaces.get(ns)),
        });
      }
    }
  }
  return out.sort((a, b) => cmp(a.hostname, b.hostname) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name));
}

function target(r: LoadedResource, isWaypoint: boolean): BindingTarget {
  return { describe: `${r.key.kind} ${r.key.namespace}/${r.key.name}`, namespace: r.key.namespace, labels: r.object.metadata.labels ?? {}, isWaypoint };
}

/** The Service's label wins when present; otherwise the namespace's (Istio 1.25+). */
function ingressUseWaypoint(svcLabels: Record<string, string>, ns: NamespaceInfo | undefined): boolean {
  const v = svcLabels[labels.ingressUseWaypoint] ?? ns?.labels[labels.ingressUseWaypoint];
  return v === "true";
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
