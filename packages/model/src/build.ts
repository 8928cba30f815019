/** Builds the mesh model from loaded resources. Pure and deterministic: same resources, same model. */
import { compareKeys, type LoadedResource } from "@waystation/api";
import { attachPolicies } from "./attachment.js";
import { allocateVips } from "./autoAllocate.js";
import { labels } from "./labels.js";
import { meshConfigOptions, readMeshConfig } from "./meshConfig.js";
import { defaultMeshOptions, type MeshOptions } from "./options.js";
import { buildServices } from "./services.js";
import type { Condition, MeshModel, NamespaceInfo, Waypoint } from "./types.js";
import { buildWaypoints } from "./waypoints.js";
import { buildWorkloads } from "./workloads.js";

/**
 * Builds the model. The mesh config (ConfigMap `istio` in the root namespace given here, default
 * istio-system) sets the trust domain and root namespace unless `options` sets them explicitly.
 */
export function buildModel(resources: readonly LoadedResource[], options: Partial<MeshOptions> = {}): MeshModel {
  const sorted = [...resources].sort((a, b) => compareKeys(a.key, b.key));
  const conditions: Condition[] = [];
  const meshConfig = readMeshConfig(sorted, options.rootNamespace ?? defaultMeshOptions.rootNamespace, conditions);
  const opts = { ...defaultMeshOptions, ...meshConfigOptions(meshConfig), ...options };

  const namespaces = new Map<string, NamespaceInfo>();
  for (const r of sorted) {
    if (r.key.group !== "" || r.key.kind !== "Namespace") continue;
    const l = r.object.metadata.labels ?? {};
    namespaces.set(r.key.name, { name: r.key.name, labels: l, ambient: l[labels.dataplaneMode] === "ambient" });
  }
  // Namespaces that objects live in but that no manifest declares: no labels, not ambient.
  for (const r of sorted) {
    if (r.key.namespace && !namespaces.has(r.key.namespace)) namespaces.set(r.key.namespace, { name: r.key.namespace, labels: {}, ambient: false });
  }

  const waypoints = buildWaypoints(sorted, opts, conditions);
  const byName = new Map<string, Waypoint>(waypoints.map((w) => [`${w.namespace}/${w.name}`, w]));
  const services = buildServices(sorted, opts, namespaces, byName);
  allocateVips(services);
  const workloads = buildWorkloads(sorted, services, opts, namespaces, byName, conditions);
  const gateways = new Set(sorted.filter((r) => r.key.kind === "Gateway").map((r) => `${r.key.namespace}/${r.key.name}`));
  const attachments = attachPolicies(sorted, services, waypoints, gateways, opts, conditions);

  for (const s of services) {
    if (s.waypoint.state === "error") conditions.push({ resource: s.key, type: "WaypointBound", status: "False", reason: "WaypointNotUsable", message: s.waypoint.reason });
  }
  return { options: opts, meshConfig, namespaces, services, workloads, waypoints, attachments, resources: sorted, conditions };
}
