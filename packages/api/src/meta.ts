import { anyValue, checked, int64, list, obj, opt, str, stringMap, Type, type Static } from "./schema.js";

/** Kubernetes ObjectMeta: the fields a manifest or an API server response may carry. */
export const ObjectMetaSchema = obj({
  name: checked("dns1123subdomain", { minLength: 1 }),
  namespace: opt(checked("dns1123")),
  labels: opt(stringMap()),
  annotations: opt(stringMap()),
  uid: opt(str()),
  resourceVersion: opt(str()),
  generation: opt(int64()),
  generateName: opt(str()),
  creationTimestamp: opt(Type.Union([str(), Type.Null()])),
  deletionTimestamp: opt(str()),
  deletionGracePeriodSeconds: opt(int64()),
  selfLink: opt(str()),
  finalizers: opt(list(str())),
  ownerReferences: opt(list(anyValue())),
  managedFields: opt(list(anyValue())),
});
export type ObjectMeta = Static<typeof ObjectMetaSchema>;

/** What every loaded resource has in common; `spec` is typed per kind. */
export interface KubeObject<Spec = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { name: string; namespace?: string };
  spec: Spec;
  status?: unknown;
}

/** Identity of a resource: group, kind, namespace (empty for cluster-scoped) and name. */
export interface ResourceKey {
  group: string;
  kind: string;
  namespace: string;
  name: string;
}

/** "VirtualService default/reviews", "Namespace bookinfo". */
export function describeKey(k: ResourceKey): string {
  return k.namespace ? `${k.kind} ${k.namespace}/${k.name}` : `${k.kind} ${k.name}`;
}

/** A stable string form, used for maps and sorting: group/kind/namespace/name. */
export function keyString(k: ResourceKey): string {
  return `${k.group}/${k.kind}/${k.namespace}/${k.name}`;
}

export function compareKeys(a: ResourceKey, b: ResourceKey): number {
  return cmp(a.group, b.group) || cmp(a.kind, b.kind) || cmp(a.namespace, b.namespace) || cmp(a.name, b.name);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
