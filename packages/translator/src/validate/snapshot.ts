/**
 * Stage (c) over a whole snapshot: indexes the names each collection defines, collects what every
 * decoded resource refers to (references.ts) and reports what does not resolve, plus duplicate
 * names and EDS clusters without endpoints.
 */
import type { Message } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import type { Listener } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { fieldPath, resourceKind, type ValidationError } from "./errors.js";
import { collectReferences, type Reference, type ReferenceKind } from "./references.js";
import { messageForTypeUrl, type Unpacked } from "./registry.js";

/** One resource of the snapshot after stages 1-2. */
export interface Decoded {
  readonly collection: "listeners" | "routes" | "clusters" | "endpoints" | "secrets";
  readonly index: number;
  /** Its name (cluster_name for endpoints), from the message or, if decoding failed, the JSON. */
  readonly name: string;
  readonly path: string;
  readonly message: Message | undefined;
  readonly input: unknown;
  readonly anyCache: Map<Any, Unpacked>;
  /** Its references with paths relative to the resource, when already known (validated before). */
  readonly refs?: readonly Reference[];
}

/** Names provided outside the snapshot (the bootstrap). */
export interface External {
  readonly clusters?: Iterable<string>;
  readonly routes?: Iterable<string>;
  readonly secrets?: Iterable<string>;
  readonly listeners?: Iterable<string>;
}

const targetCollection: Record<ReferenceKind, Exclude<Decoded["collection"], "endpoints">> = {
  route_config: "routes", cluster: "clusters", secret: "secrets", internal_listener: "listeners",
};

/** Reference errors of a snapshot. */
export function checkReferences(resources: readonly Decoded[], external: External): ValidationError[] {
  const errors: ValidationError[] = [];
  const names = {
    listeners: new Map<string, Decoded>(), routes: new Map<string, Decoded>(), clusters: new Map<string, Decoded>(),
    endpoints: new Map<string, Decoded>(), secrets: new Map<string, Decoded>(),
  };
  for (const r of resources) {
    const first = names[r.collection].get(r.name);
    if (first) {
      errors.push(error(r, r.path, "duplicate",
        `${resourceKind(r.collection)} name "${r.name}" is also used by ${first.path}; names must be unique within a snapshot`));
    } else {
      names[r.collection].set(r.name, r);
    }
  }
  const ext = {
    clusters: new Set(external.clusters ?? []), routes: new Set(external.routes ?? []),
    secrets: new Set(external.secrets ?? []), listeners: new Set(external.listeners ?? []),
  };

  for (const r of resources) {
    if (!r.message) continue;
    const desc = messageForTypeUrl(r.message.$typeName);
    if (!desc) continue;
    const refs = r.refs?.map((x) => ({ ...x, path: x.path === "" ? r.path : fieldPath(r.path, x.path) }))
      ?? collectReferences(desc, r.message, r.path, r.anyCache);
    for (const ref of refs) {
      const collection = targetCollection[ref.kind];
      if (ext[collection].has(ref.name)) continue;
      const target = names[collection].get(ref.name);
      const what = ref.kind === "internal_listener" ? "internal listener" : resourceKind(collection);
      if (!target) {
        errors.push(error(r, ref.path, ref.kind, `${describe(r)} refers to ${what} "${ref.name}", which is not in the snapshot`));
      } else if (ref.kind === "internal_listener" && !isInternal(target)) {
        errors.push(error(r, ref.path, ref.kind,
          `${describe(r)} refers to listener "${ref.name}" as an internal listener, but that listener has no internal_listener set`));
      }
    }
    if (r.collection === "clusters" && r.message.$typeName === ClusterSchema.typeName) {
      const c = r.message as Cluster;
      if (c.clusterDiscoveryType.case === "type" && c.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS) {
        const service = c.edsClusterConfig?.serviceName || c.name;
        if (!names.endpoints.has(service)) {
          const path = c.edsClusterConfig?.serviceName ? fieldPath(r.path, "eds_cluster_config.service_name") : fieldPath(r.path, "name");
          errors.push(error(r, path, "eds",
            `${describe(r)} is of type EDS, but the snapshot has no ClusterLoadAssignment with cluster_name "${service}" ` +
            `(EDS looks endpoints up by eds_cluster_config.service_name, or by the cluster name when that is empty)`));
        }
      }
    }
  }
  return errors;
}

function isInternal(listener: Decoded): boolean {
  if (listener.message) return (listener.message as Listener).listenerSpecifier.case === "internalListener";
  const json = listener.input as Record<string, unknown> | null;
  return typeof json === "object" && json !== null && (json["internal_listener"] ?? json["internalListener"]) != null;
}

function describe(r: Decoded): string {
  return `${resourceKind(r.collection)} "${r.name}"`;
}

function error(r: Decoded, path: string, rule: string, message: string): ValidationError {
  return { stage: "reference", path, rule, message, resource: { collection: r.collection, name: r.name } };
}
