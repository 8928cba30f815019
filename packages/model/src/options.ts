/**
 * Mesh-wide settings that the model and translators need; the same defaults as Istio. The mesh
 * config (ConfigMap `istio`, see meshConfig.ts) may set trustDomain and rootNamespace; options
 * given to buildModel explicitly win over it.
 */
export interface MeshOptions {
  /** SPIFFE trust domain; identities are spiffe://<trustDomain>/ns/<ns>/sa/<sa>. */
  trustDomain: string;
  /** DNS suffix of Kubernetes services: <name>.<ns>.svc.<domainSuffix>. */
  domainSuffix: string;
  /** The mesh root namespace: policies there apply mesh-wide. */
  rootNamespace: string;
  /** Cluster id, used in workload uids (Kubernetes//Pod/<ns>/<name>). */
  clusterId: string;
  /** Network id of this cluster ("" for a single network). */
  network: string;
}

export const defaultMeshOptions: MeshOptions = {
  trustDomain: "cluster.local",
  domainSuffix: "cluster.local",
  rootNamespace: "istio-system",
  clusterId: "Kubernetes",
  network: "",
};
