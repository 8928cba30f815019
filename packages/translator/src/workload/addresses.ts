/**
 * The mesh model -> istio.workload.Address resources for ztunnel (istio-ambient.md §3.2-3.6):
 * one Service per Kubernetes Service and per ServiceEntry host, named `<namespace>/<hostname>`;
 * one Workload per Pod, WorkloadEntry and ServiceEntry endpoint, named by its uid. Sorted by
 * resource name.
 */
import { create } from "@bufbuild/protobuf";
import { keyString, type LoadedResource } from "@waystation/api";
import type { MeshModel, MeshService } from "@waystation/model";
import { AddressSchema, type Address } from "@waystation/proto/istio/workload/workload_pb.js";
import { cmp, type Conditions } from "./common.js";
import { serviceResourceName, toService } from "./services.js";
import { toWorkload, workloadSources, type WorkloadSource } from "./workloads.js";

/** The Address resource name: a workload's uid, or a service's `<namespace>/<hostname>`. */
export function addressName(a: Address): string {
  switch (a.type.case) {
    case "workload": return a.type.value.uid;
    case "service": return `${a.type.value.namespace}/${a.type.value.hostname}`;
    default: return "";
  }
}

/**
 * Every Address ztunnel should know. `policiesFor` gives the names of the selector-based (and
 * converted PeerAuthentication) policies for Workload.authorization_policies.
 */
export function translateAddresses(model: MeshModel, policiesFor: (src: WorkloadSource) => string[], conditions: Conditions): Address[] {
  const resources = new Map<string, LoadedResource>(model.resources.map((r) => [keyString(r.key), r]));
  const group = (kind: string) => (kind === "WorkloadEntry" || kind === "ServiceEntry" ? "networking.istio.io" : "");
  const byKey = (kind: string, namespace: string, name: string) => resources.get(keyString({ group: group(kind), kind, namespace, name }));

  const out: Address[] = [];
  for (const s of uniqueServices(model.services, conditions)) {
    const service = toService(model, s, byKey(s.kind, s.namespace, s.name), conditions);
    out.push(create(AddressSchema, { type: { case: "service", value: service } }));
  }
  const uids = new Set<string>();
  for (const src of workloadSources(model, byKey)) {
    if (uids.has(src.workload.uid)) continue;
    uids.add(src.workload.uid);
    out.push(create(AddressSchema, { type: { case: "workload", value: toWorkload(model, src, policiesFor(src)) } }));
  }
  return out.map((a) => [addressName(a), a] as const).sort(([a], [b]) => cmp(a, b)).map(([, a]) => a);
}

/**
 * One Service per `<namespace>/<hostname>`: a Kubernetes Service wins over a ServiceEntry of the
 * same host, then the ServiceEntry first by name; the others get a condition.
 */
function uniqueServices(services: readonly MeshService[], conditions: Conditions): MeshService[] {
  const order = [...services].sort((a, b) => cmp(serviceResourceName(a), serviceResourceName(b)) || cmp(a.kind, b.kind) || cmp(a.name, b.name));
  const kept = new Map<string, MeshService>();
  for (const s of order) {
    const name = serviceResourceName(s);
    const first = kept.get(name);
    if (!first) {
      kept.set(name, s);
      continue;
    }
    conditions.add(s.key, "False", "Conflicted", `host ${s.hostname} is already defined in namespace ${s.namespace} by ${first.kind} ${first.name}, `
      + "which ztunnel uses; give each host one definition per namespace");
  }
  return [...kept.values()];
}
