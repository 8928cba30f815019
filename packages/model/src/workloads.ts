/**
 * Workloads: Pods and WorkloadEntries, with identity, capture state and the services that select
 * them (shared/reference/istio-ambient.md §3.6).
 */
import type { LoadedResource } from "@waystation/api";
import { annotations, labels } from "./labels.js";
import { resolveBinding } from "./binding.js";
import { spiffeId, workloadUid } from "./names.js";
import type { MeshOptions } from "./options.js";
import type { Condition, MeshService, MeshWorkload, NamespaceInfo, Waypoint } from "./types.js";

interface PodSpec {
  serviceAccountName?: string;
  serviceAccount?: string;
  nodeName?: string;
  containers?: { ports?: { name?: string; containerPort: number }[] }[];
}
interface PodStatus {
  podIP?: string;
  podIPs?: { ip: string }[];
  phase?: string;
  conditions?: { type: string; status: string }[];
}
interface WorkloadEntrySpec {
  address?: string;
  ports?: Record<string, number>;
  labels?: Record<string, string>;
  serviceAccount?: string;
  network?: string;
}

export function buildWorkloads(
  resources: readonly LoadedResource[],
  services: readonly MeshService[],
  opts: MeshOptions,
  namespaces: ReadonlyMap<string, NamespaceInfo>,
  waypoints: ReadonlyMap<string, Waypoint>,
  conditions: Condition[],
): MeshWorkload[] {
  const out: MeshWorkload[] = [];
  // Services with a selector, indexed by namespace and one of their selector's label pairs: a
  // workload is only tested against services whose indexed pair it carries (linear, not W x S).
  const bySelector = new Map<string, MeshService[]>();
  for (const s of services) {
    if (!s.selector || Object.keys(s.selector).length === 0) continue;
    const [k, v] = Object.entries(s.selector).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[0]!;
    const key = `${s.namespace}\n${k}=${v}`;
    const list = bySelector.get(key);
    if (list) list.push(s); else bySelector.set(key, [s]);
  }
  for (const r of resources) {
    const ns = r.key.namespace;
    const meta = r.object.metadata;
    if (r.key.group === "" && r.key.kind === "Pod") {
      const spec = r.object.spec as PodSpec;
      const status = (r.object.status ?? {}) as PodStatus;
      const ips = status.podIPs?.length ? status.podIPs.map((p) => p.ip) : status.podIP ? [status.podIP] : [];
      if (status.phase === "Succeeded" || status.phase === "Failed") continue; // terminal pods are not workloads
      if (ips.length === 0) {
        conditions.push({ resource: r.key, type: "Ready", status: "False", reason: "NoAddress", message: "the pod has no status.podIP yet, so it is not part of the mesh" });
        continue;
      }
      const podLabels = meta.labels ?? {};
      const sa = spec.serviceAccountName ?? spec.serviceAccount ?? "default";
      const gw = podLabels[labels.gatewayName];
      const ready = !meta.deletionTimestamp && status.conditions?.find((c) => c.type === "Ready")?.status !== "False";
      const namedPorts: Record<string, number> = {};
      for (const c of spec.containers ?? []) for (const p of c.ports ?? []) if (p.name) namedPorts[p.name] = p.containerPort;
      out.push(finish({
        key: r.key, kind: "Pod", uid: workloadUid("", "Pod", ns, r.key.name, opts), namespace: ns, name: r.key.name,
        ips, serviceAccount: sa, identity: spiffeId(ns, sa, opts), node: spec.nodeName ?? "", labels: podLabels, namedPorts,
        ...tunnelOf(podLabels, meta.annotations ?? {}, namespaces.get(ns)),
        healthy: ready && (status.phase === undefined || status.phase === "Running"),
        ...(gw !== undefined ? { waypointOf: { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: ns, name: gw } } : {}),
      }));
    } else if (r.key.group === "networking.istio.io" && r.key.kind === "WorkloadEntry") {
      const spec = r.object.spec as WorkloadEntrySpec;
      const weLabels = { ...(spec.labels ?? {}), ...(meta.labels ?? {}) };
      const sa = spec.serviceAccount ?? "default";
      const addr = spec.address ?? "";
      const isIp = /^[0-9.]+$/.test(addr) || addr.includes(":");
      out.push(finish({
        key: r.key, kind: "WorkloadEntry", uid: workloadUid("networking.istio.io", "WorkloadEntry", ns, r.key.name, opts),
        namespace: ns, name: r.key.name, ips: isIp ? [addr] : [], ...(isIp || !addr ? {} : { hostname: addr }),
        serviceAccount: sa, identity: spiffeId(ns, sa, opts), node: "", labels: weLabels, namedPorts: { ...(spec.ports ?? {}) },
        ...tunnelOf(weLabels, meta.annotations ?? {}, namespaces.get(ns)),
        healthy: true,
      }));
    }
  }
  return out.sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name) || cmp(a.kind, b.kind));

  function finish(w: Omit<MeshWorkload, "waypoint" | "services">): MeshWorkload {
    const candidates = Object.entries(w.labels).flatMap(([k, v]) => bySelector.get(`${w.namespace}\n${k}=${v}`) ?? []);
    const selecting = candidates.filter((s) => Object.entries(s.selector!).every(([k, v]) => w.labels[k] === v));
    return {
      ...w,
      services: [...new Set(selecting.map((s) => s.hostname))].sort(),
      waypoint: resolveBinding({ describe: `${w.kind} ${w.namespace}/${w.name}`, namespace: w.namespace, labels: w.labels, isWaypoint: w.waypointOf !== undefined },
        "workload", namespaces, waypoints),
    };
  }
}

/**
 * Whether ztunnel carries the workload's traffic over HBONE. In Kubernetes the CNI writes
 * ambient.istio.io/redirection=enabled once capture works; in file mode nobody does, so enrolment
 * (istio.io/dataplane-mode=ambient on the workload or its namespace, not overridden by "none") counts
 * too, unless the annotation says "pending".
 */
function tunnelOf(wlLabels: Record<string, string>, ann: Record<string, string>, ns: NamespaceInfo | undefined): Pick<MeshWorkload, "tunnel" | "nativeTunnel"> {
  if (wlLabels[labels.tunnel] === "http") return { tunnel: "HBONE", nativeTunnel: true };
  const redirection = ann[annotations.redirection];
  if (redirection === "enabled") return { tunnel: "HBONE", nativeTunnel: false };
  if (redirection === "pending") return { tunnel: "NONE", nativeTunnel: false };
  const mode = wlLabels[labels.dataplaneMode];
  const enrolled = mode === "ambient" || (mode !== "none" && ns?.ambient === true);
  return { tunnel: enrolled ? "HBONE" : "NONE", nativeTunnel: false };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
