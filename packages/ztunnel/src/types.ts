// The ztunnel's view of the mesh, as plain records: what the workload API (istio.workload.Address)
// and the L4 policy API (istio.security.Authorization) say, decoded once and validated, in the
// shape the decisions (outbound.ts, authz.ts) read. Field meanings: istio-ambient.md §3.4, §3.5.
import type { Cidr } from "./ip.js";

// The logger every component takes lives in packages/log; re-exported here for this package's modules.
export { silentLogger, type Logger } from "@waystation/log";

/** Istio's default trust domain; the workload API leaves `trust_domain` empty for it. */
export const DEFAULT_TRUST_DOMAIN = "cluster.local";

/** Istio's HBONE port (`HBoneInboundListenPort`). */
export const HBONE_PORT = 15008;

/** A service port and the workload port it maps to (0: a named port, resolved per workload). */
export interface PortMapping {
  readonly servicePort: number;
  readonly targetPort: number;
}

/**
 * Where a waypoint (or network gateway) is: a Service by namespace/hostname (what istiod sends) or
 * an address, plus the port its HBONE listener is on (`hbone_mtls_port`, 15008).
 */
export type GatewayAddress =
  | { readonly kind: "hostname"; readonly namespace: string; readonly hostname: string; readonly hbonePort: number }
  | { readonly kind: "address"; readonly network: string; readonly ip: string; readonly hbonePort: number };

/** One workload (a pod, a WorkloadEntry, a ServiceEntry endpoint). Resource name: `uid`. */
export interface Workload {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
  /** Canonical IP strings. */
  readonly addresses: readonly string[];
  readonly hostname: string;
  readonly network: string;
  /** `HBONE`: reached through its ztunnel on :15008; `NONE`: plain TCP (outside the mesh). */
  readonly tunnelProtocol: "HBONE" | "NONE";
  /** Defaulted: `cluster.local` when the API leaves it empty. */
  readonly trustDomain: string;
  /** Defaulted: `default` when the API leaves it empty. */
  readonly serviceAccount: string;
  readonly waypoint?: GatewayAddress | undefined;
  /** The Kubernetes node; a ztunnel serves (and fetches certificates for) the workloads on its node. */
  readonly node: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  readonly workloadName: string;
  /** `deployment`, `cronjob`, `pod` or `job` (the baggage key `k8s.<type>.name`). */
  readonly workloadType: string;
  readonly nativeTunnel: boolean;
  /** `"<ns>/<hostname>"` -> the port mapping this workload serves for that Service. */
  readonly services: Readonly<Record<string, readonly PortMapping[]>>;
  /** `"<ns>/<name>"` of the selector-based policies that apply; NAMESPACE and GLOBAL ones go by scope. */
  readonly authorizationPolicies: readonly string[];
  readonly status: "Healthy" | "Unhealthy";
  readonly clusterId: string;
}

/** One Service. Resource name: `"<namespace>/<hostname>"`. */
export interface Service {
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  /** VIPs (canonical IP strings); empty for a headless service. */
  readonly vips: readonly string[];
  readonly ports: readonly PortMapping[];
  readonly subjectAltNames: readonly string[];
  readonly waypoint?: GatewayAddress | undefined;
  /** `AllowAll` (publishNotReadyAddresses) also picks unhealthy endpoints. */
  readonly healthPolicy: "OnlyHealthy" | "AllowAll";
  /** `Passthrough`: no endpoints is not an error, the traffic goes to the original destination. */
  readonly mode: "Unspecified" | "Strict" | "Failover" | "Passthrough";
}

/** `StringMatch` of the L4 policy API; `presence` matches any non-empty value. */
export type StringMatch =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly presence: true };

/** A `Match`: every non-empty field must hold (any positive, none negative). */
export interface Match {
  readonly namespaces: readonly StringMatch[];
  readonly notNamespaces: readonly StringMatch[];
  readonly serviceAccounts: readonly { readonly namespace: string; readonly serviceAccount: string }[];
  readonly notServiceAccounts: readonly { readonly namespace: string; readonly serviceAccount: string }[];
  /** Compared with the peer identity without `spiffe://`, e.g. `cluster.local/ns/a/sa/b`. */
  readonly principals: readonly StringMatch[];
  readonly notPrincipals: readonly StringMatch[];
  readonly sourceIps: readonly Cidr[];
  readonly notSourceIps: readonly Cidr[];
  readonly destinationIps: readonly Cidr[];
  readonly notDestinationIps: readonly Cidr[];
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
}

/** Rules are OR-ed; a rule's clauses are AND-ed; a clause's matches are OR-ed. */
export interface Rule {
  readonly clauses: readonly { readonly matches: readonly Match[] }[];
}

/** An L4 authorization policy. Resource name: `"<namespace>/<name>"`. */
export interface Policy {
  readonly name: string;
  readonly namespace: string;
  /** `Global` policies are stored under namespace "" by istiod (the root namespace). */
  readonly scope: "Global" | "Namespace" | "WorkloadSelector";
  readonly action: "Allow" | "Deny";
  readonly rules: readonly Rule[];
}

/** The SPIFFE identity of a workload: `spiffe://<td>/ns/<ns>/sa/<sa>`. */
export function workloadIdentity(w: Pick<Workload, "trustDomain" | "namespace" | "serviceAccount">): string {
  return `spiffe://${w.trustDomain}/ns/${w.namespace}/sa/${w.serviceAccount}`;
}

/** The trust domain, namespace and service account of `spiffe://<td>/ns/<ns>/sa/<sa>`; undefined otherwise. */
export function parseIdentity(id: string): { trustDomain: string; namespace: string; serviceAccount: string } | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(id);
  return m ? { trustDomain: m[1]!, namespace: m[2]!, serviceAccount: m[3]! } : undefined;
}

/** The state key of a service: `"<namespace>/<hostname>"`. */
export function serviceKey(s: Pick<Service, "namespace" | "hostname">): string {
  return `${s.namespace}/${s.hostname}`;
}

/** The state key of a policy: `"<namespace>/<name>"`. */
export function policyKey(p: Pick<Policy, "namespace" | "name">): string {
  return `${p.namespace}/${p.name}`;
}

/** A workload record with defaults for everything but the fields given (tests, local config). */
export function workloadDefaults(w: Pick<Workload, "uid" | "name" | "namespace"> & Partial<Workload>): Workload {
  return {
    addresses: [], hostname: "", network: "", tunnelProtocol: "HBONE", trustDomain: DEFAULT_TRUST_DOMAIN,
    serviceAccount: "default", node: "", canonicalName: w.name, canonicalRevision: "latest", workloadName: w.name,
    workloadType: "deployment", nativeTunnel: false, services: {}, authorizationPolicies: [], status: "Healthy", clusterId: "Kubernetes",
    ...w,
  };
}

/** A service record with defaults for everything but the fields given. */
export function serviceDefaults(s: Pick<Service, "name" | "namespace" | "hostname"> & Partial<Service>): Service {
  return { vips: [], ports: [], subjectAltNames: [], healthPolicy: "OnlyHealthy", mode: "Unspecified", ...s };
}

/** A match with every field empty, to spread one or two fields into. */
export const EMPTY_MATCH: Match = {
  namespaces: [], notNamespaces: [], serviceAccounts: [], notServiceAccounts: [], principals: [], notPrincipals: [],
  sourceIps: [], notSourceIps: [], destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [],
};
