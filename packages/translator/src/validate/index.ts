/**
 * The strict Envoy validator. Every resource Waystation generates passes through it before it is
 * published; a snapshot with any error is not published (DESIGN.md, "Validation").
 *
 * Three stages, each reporting `ValidationError`s that carry a field path in Envoy's snake_case
 * names (`filter_chains[0].filters[0].typed_config.http_filters[1].name`):
 *
 * 1. **Decode** (json.ts, wellKnown.ts, registry.ts) - only for JSON input. The JSON is walked
 *    against the message descriptor: unknown fields, wrong JSON types, out-of-range integers, bad
 *    base64, unknown enum names, two members of one oneof, an `Any` without `@type` or with a type
 *    the registry does not know (the registry holds every file generated for proto/roots.mjs), and
 *    the proto3 JSON forms of the well-known types. If that finds nothing, protobuf-es `fromJson`
 *    decodes it strictly as a double check. A resource that fails here goes no further.
 * 2. **Rules** (rules.ts, pgv.ts, formats.ts) - Envoy's `(validate.rules)` PGV annotations, read
 *    from the descriptors at runtime and compiled once per field: lengths, patterns, header name /
 *    value syntax, numeric and duration bounds, enum `defined_only`, `min_items`, required messages
 *    and oneofs ... recursively, including inside `Any` payloads.
 * 3. **References** (references.ts, snapshot.ts) - snapshot-wide only: RDS names, clusters used by routes,
 *    tcp_proxy, gRPC services and HTTP URIs, EDS clusters without a ClusterLoadAssignment, SDS
 *    secret names, and internal listener addresses must all resolve inside the snapshot (or among
 *    the `external` names the bootstrap provides).
 *
 * Protobuf-es messages are accepted as input too: they skip stage 1 (resource.ts runs stages 1-2
 * for one resource). Validation is pure and synchronous; the only clock the timestamp rules may
 * need comes in through `options.now`. Rule plans, field lookups and "can this type contain
 * anything to check" answers are cached per descriptor (rules.ts, pgv.ts, reach.ts), so after the
 * first snapshot a waypoint listener takes ~0.15-0.4 ms as a message, ~0.5-1.5 ms as JSON.
 */
import { isMessage, type DescMessage, type Message, type MessageShape } from "@bufbuild/protobuf";
import { ClusterLoadAssignmentSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { ValidationError } from "./errors.js";
import { messageForTypeUrl, typeUrlOf } from "./registry.js";
import { collectReferences, type Reference } from "./references.js";
import { decodeAndCheck, newContext, type ValidateOptions } from "./resource.js";
import { checkReferences, type Decoded, type External } from "./snapshot.js";

export { formatValidationError, type ValidationError, type ValidationStage } from "./errors.js";
export { registry, registryFiles, messageForTypeUrl, typeUrlOf } from "./registry.js";
export type { Reference, ReferenceKind } from "./references.js";
export type { External as ExternalNames } from "./snapshot.js";
export type { ValidateOptions } from "./resource.js";

/** The decoded message (when decoding succeeded) and every problem found. */
export interface ValidationResult<T extends Message = Message> {
  readonly message?: T;
  readonly errors: ValidationError[];
}

/**
 * Validates one resource: stages 1 and 2. `type` is a descriptor, a type URL
 * (`type.googleapis.com/envoy.config.cluster.v3.Cluster`) or a full message name; `input` is its
 * proto3 JSON (either field-name spelling) or a protobuf-es message of that type.
 */
export function validateResource<Desc extends DescMessage>(type: Desc, input: unknown, options?: ValidateOptions): ValidationResult<MessageShape<Desc>>;
export function validateResource(type: string | DescMessage, input: unknown, options?: ValidateOptions): ValidationResult;
export function validateResource(type: string | DescMessage, input: unknown, options: ValidateOptions = {}): ValidationResult {
  const errors: ValidationError[] = [];
  const desc = typeof type === "string" ? messageForTypeUrl(type) : type;
  if (!desc) {
    errors.push({ stage: "decode", path: "", rule: "any_type", message: `unknown resource type "${String(type)}": not in the type registry` });
    return { errors };
  }
  const message = decodeAndCheck(desc, input, "", newContext(errors, options));
  return message ? { message, errors } : { errors };
}

/** The resources of one snapshot, as protobuf-es messages or proto3 JSON. */
export interface SnapshotResources {
  readonly listeners?: readonly unknown[];
  readonly routes?: readonly unknown[];
  readonly clusters?: readonly unknown[];
  readonly endpoints?: readonly unknown[];
  readonly secrets?: readonly unknown[];
}

/** The same, keyed by type URL (`type.googleapis.com/envoy.config.cluster.v3.Cluster`). */
export type ResourcesByTypeUrl = { readonly [typeUrl: string]: readonly unknown[] | undefined };

export interface SnapshotOptions extends ValidateOptions {
  /** Names that exist outside the snapshot: static clusters, secrets and internal listeners of the bootstrap. */
  readonly external?: External;
}

/** The collections of a snapshot and their message types, in xDS send order. */
export const collections = [
  ["clusters", ClusterSchema],
  ["endpoints", ClusterLoadAssignmentSchema],
  ["listeners", ListenerSchema],
  ["routes", RouteConfigurationSchema],
  ["secrets", SecretSchema],
] as const;

/**
 * Validates a whole snapshot: every resource (stages 1 and 2, paths prefixed with
 * `clusters[3].` etc.), then references between them (stage 3). Returns all errors; an empty
 * array means the snapshot may be published.
 */
export function validateSnapshot(resources: SnapshotResources | ResourcesByTypeUrl, options: SnapshotOptions = {}): ValidationError[] {
  const errors: ValidationError[] = [];
  const decoded: Decoded[] = [];
  const byKey = resources as ResourcesByTypeUrl;
  for (const [collection, desc] of collections) {
    const inputs = [...(byKey[collection] ?? []), ...(byKey[typeUrlOf(desc)] ?? [])];
    inputs.forEach((input, index) => {
      const path = `${collection}[${index}]`;
      const reusable = options.now === undefined && isMessage(input, desc) ? input as Message : undefined;
      const seen = reusable && passed.get(reusable);
      if (reusable && seen) {
        decoded.push({ collection, index, name: resourceName(collection, reusable, input), path, message: reusable, input, anyCache: seen.anyCache, refs: seen.refs });
        return;
      }
      const own: ValidationError[] = [];
      const ctx = newContext(own, options);
      const message = decodeAndCheck(desc, input, path, ctx);
      const name = resourceName(collection, message, input);
      for (const e of own) errors.push({ ...e, resource: { collection, name } });
      decoded.push({ collection, index, name, path, message, input, anyCache: ctx.anyCache });
      if (message && own.length === 0 && message === reusable) {
        passed.set(message, { anyCache: ctx.anyCache, refs: collectReferences(desc, message, "", ctx.anyCache) });
      }
    });
  }
  errors.push(...checkReferences(decoded, options.external ?? {}));
  return errors;
}

/**
 * Messages that passed stages 1-2 (without a clock: the timestamp rules depend on it), with what
 * stage 3 needs from them. A snapshot that reuses message objects from an earlier one (incremental
 * translation) re-checks only the new ones. Sound because published messages are never mutated
 * (the xDS snapshot encodes them once, too).
 */
const passed = new WeakMap<Message, { readonly anyCache: Decoded["anyCache"]; readonly refs: readonly Reference[] }>();

function resourceName(collection: string, message: Message | undefined, input: unknown): string {
  const key = collection === "endpoints" ? ["clusterName", "cluster_name"] : ["name"];
  const source = (message ?? input) as Record<string, unknown> | null;
  for (const k of key) {
    const v = typeof source === "object" && source !== null ? source[k] : undefined;
    if (typeof v === "string") return v;
  }
  return "";
}
