import type { FieldIssue } from "./issues.js";
import type { KubeObject } from "./meta.js";
import type { TProperties, TSchema } from "@sinclair/typebox";

/**
 * Everything Waystation knows about one resource kind: where it lives (group, versions), the
 * schema of its spec, and semantic checks that a schema cannot express. One file per kind in
 * kinds/ exports one of these.
 */
export interface KindDef<Spec = unknown> {
  /** API group; "" for core v1. */
  group: string;
  kind: string;
  /** Accepted versions, preferred first; older ones (v1beta1, v1alpha3) load unchanged. */
  versions: readonly string[];
  namespaced: boolean;
  /** Schema of `spec`. Kinds without a spec (Namespace, ServiceAccount) use extraFields only. */
  spec?: TSchema;
  /** Whether a document without `spec` is an error. */
  specRequired?: boolean;
  /** Top-level fields besides apiVersion, kind, metadata, spec and status (e.g. Pod has none, ServiceAccount has secrets). */
  extraFields?: TProperties;
  /** Fields under `status` are accepted as written but not validated, unless this is set. */
  status?: TSchema;
  /** Checks run when the schema passed, e.g. weights summing to 100. Paths start at the document root. */
  check?: (obj: KubeObject<Spec>) => FieldIssue[];
}

/** Helper so each kind file gets its spec type checked against its schema. */
export function defineKind<Spec>(def: KindDef<Spec>): KindDef<Spec> {
  return def;
}
