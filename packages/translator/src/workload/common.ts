/**
 * Small pieces shared by the workload API translators (istio.workload.Address and
 * istio.security.Authorization for ztunnel): address bytes, the waypoint GatewayAddress, Istio's
 * canonical service labels, workload names, and the condition collector.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { parseIp, type LoadedResource, type ResourceKey } from "@waystation/api";
import { hbonePort, labels, type Condition, type MeshOptions, type Waypoint, type WaypointBinding } from "@waystation/model";
import type { GatewayAddressSchema } from "@waystation/proto/istio/workload/workload_pb.js";

/** The condition type written on resources ztunnel enforces or reads (Istio's ambient status type). */
export const ztunnelConditionType = "ZtunnelAccepted";

/** IPv4 (4 bytes) or IPv6 (16 bytes) address bytes, or undefined for anything else (a host name). */
export function ipBytes(address: string): Uint8Array | undefined {
  return parseIp(address);
}

/**
 * Where ztunnel reaches a waypoint: its service host name and HBONE port. istiod prefers the
 * host name form over an IP (istio-ambient.md §5.3, §9: the IP form breaks IP-family adaptation);
 * ztunnel resolves it through the waypoint Service's own Address resource.
 */
export function waypointAddress(w: Waypoint): MessageInitShape<typeof GatewayAddressSchema> {
  return { destination: { case: "hostname", value: { namespace: w.namespace, hostname: w.hostname } }, hboneMtlsPort: hbonePort };
}

/** The GatewayAddress of a bound waypoint, or undefined when the binding is not "bound". */
export function boundWaypoint(b: WaypointBinding): MessageInitShape<typeof GatewayAddressSchema> | undefined {
  return b.state === "bound" ? waypointAddress(b.waypoint) : undefined;
}

/** Workload.trust_domain: istiod leaves it empty for the default cluster.local (ztunnel fills it in). */
export function trustDomainField(opts: MeshOptions): string {
  return opts.trustDomain === "cluster.local" ? "" : opts.trustDomain;
}

/**
 * Istio's canonical service name and revision (pkg/kube/labels CanonicalService): the
 * service.istio.io/canonical-* labels, then app.kubernetes.io/name|version, then app|version,
 * then the workload name and "latest".
 */
export function canonicalService(l: Record<string, string>, workloadName: string): { name: string; revision: string } {
  return {
    name: l[labels.canonicalName] ?? l["app.kubernetes.io/name"] ?? l.app ?? workloadName,
    revision: l[labels.canonicalRevision] ?? l["app.kubernetes.io/version"] ?? l.version ?? "latest",
  };
}

/** The alphabet Kubernetes uses for generated name suffixes and pod-template hashes (no vowels, no 0/1/3). */
const k8sRand = "[bcdfghjklmnpqrstvwxz2456789]";
const deploymentPod = new RegExp(`^(.+)-${k8sRand}{6,10}-${k8sRand}{5}$`);

interface OwnerReference { kind?: string; name?: string; controller?: boolean }

/**
 * Workload.workload_name of a pod: the Deployment's name when it can be derived (ReplicaSet
 * owner minus its pod-template-hash), another controller's name (StatefulSet, DaemonSet, Job),
 * else the pod name minus Kubernetes' `-<hash>-<suffix>` ending. The last rule is for manifests
 * without ownerReferences (file mode): `reviews-v1-5b5d6494f4-7lr2c` -> `reviews-v1`.
 */
export function podWorkloadName(pod: LoadedResource): string {
  const meta = pod.object.metadata;
  const name = meta.name;
  const hash = meta.labels?.["pod-template-hash"];
  const owners = (meta.ownerReferences ?? []) as OwnerReference[];
  const owner = owners.find((o) => o.controller) ?? owners[0];
  if (owner?.name) {
    if (owner.kind !== "ReplicaSet") return owner.name;
    if (hash && owner.name.endsWith(`-${hash}`)) return owner.name.slice(0, -hash.length - 1);
    return owner.name.replace(new RegExp(`-${k8sRand}{6,10}$`), "");
  }
  if (hash && name.includes(`-${hash}-`)) return name.slice(0, name.lastIndexOf(`-${hash}-`));
  return deploymentPod.exec(name)?.[1] ?? name;
}

/** Collects conditions once per distinct (resource, status, reason, message), sorted on output. */
export class Conditions {
  private readonly seen = new Map<string, Condition>();

  add(resource: ResourceKey, status: "True" | "False", reason: string, message: string): void {
    const k = `${resource.group}/${resource.kind}/${resource.namespace}/${resource.name}\n${status}\n${reason}\n${message}`;
    if (!this.seen.has(k)) this.seen.set(k, { resource, type: ztunnelConditionType, status, reason, message });
  }

  list(): Condition[] {
    return [...this.seen.entries()].sort(([a], [b]) => cmp(a, b)).map(([, c]) => c);
  }
}

/** Code-unit string order (never locale order). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
