// An immutable, content-versioned set of xDS resources for one proxy (or one group of proxies).
import { createHash } from "node:crypto";
import { create, toBinary, type Message } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { PUSH_ORDER, XDS_TYPES, xdsType, xdsTypeOf, type XdsType } from "./types.js";

/** One resource of a snapshot, encoded once. */
export interface XdsResource {
  /** The xDS resource name (Listener.name, ClusterLoadAssignment.cluster_name, Workload.uid ...). */
  readonly name: string;
  readonly typeUrl: string;
  /** The protobuf-es message. Treat as frozen: `bytes` and `version` were computed from it. */
  readonly message: Message;
  /** Its binary encoding; what goes on the wire. */
  readonly bytes: Uint8Array;
  /** First 16 hex digits of sha256(bytes); the per-resource version Delta xDS sends. */
  readonly version: string;
  /** `google.protobuf.Any` wrapping `bytes`, shared by every response that carries the resource. */
  readonly any: Any;
}

/** All resources of one type in a snapshot, sorted by name. */
export interface TypeResources {
  readonly typeUrl: string;
  /** First 16 hex digits of sha256 over the sorted (name, bytes) pairs; "" never occurs. */
  readonly version: string;
  /** Sorted by name (code-unit order), names unique. */
  readonly items: readonly XdsResource[];
  get(name: string): XdsResource | undefined;
  has(name: string): boolean;
}

/** A resource given to {@link buildSnapshot}: a bare message (name derived) or name + message. */
export type SnapshotEntry = Message | { readonly name: string; readonly message: Message };

/** Thrown by {@link buildSnapshot} for input no snapshot may hold: a programming error upstream. */
export class SnapshotError extends Error {
  override readonly name = "SnapshotError";
}

/** Short content hash: the first 16 hex digits of a sha256. */
function shortHash(h: ReturnType<typeof createHash>): string {
  return h.digest("hex").slice(0, 16);
}

class TypeResourcesImpl implements TypeResources {
  readonly version: string;
  private readonly byName: Map<string, XdsResource>;

  constructor(readonly typeUrl: string, readonly items: readonly XdsResource[]) {
    this.byName = new Map(items.map((r) => [r.name, r]));
    // Length-prefixed framing so ("ab","c") and ("a","bc") cannot hash alike.
    const h = createHash("sha256");
    const len = Buffer.alloc(4);
    for (const r of items) {
      const name = Buffer.from(r.name, "utf8");
      len.writeUInt32BE(name.length);
      h.update(len).update(name);
      len.writeUInt32BE(r.bytes.length);
      h.update(len).update(r.bytes);
    }
    this.version = shortHash(h);
  }

  get(name: string): XdsResource | undefined {
    return this.byName.get(name);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }
}

/**
 * One consistent configuration for a proxy: every served type is present (possibly empty), so a
 * wildcard subscriber always gets an answer. Immutable; share it between proxies freely.
 */
export class Snapshot {
  private constructor(private readonly types: ReadonlyMap<string, TypeResources>) {}

  /** @internal Use {@link buildSnapshot}. */
  static fromTypes(types: ReadonlyMap<string, TypeResources>): Snapshot {
    return new Snapshot(types);
  }

  /** The resources of a served type; undefined for a type URL Waystation does not serve. */
  get(typeUrl: string): TypeResources | undefined {
    return this.types.get(typeUrl);
  }

  /** The version of a type ("" for an unserved type URL). */
  version(typeUrl: string): string {
    return this.types.get(typeUrl)?.version ?? "";
  }

  /** Versions by short type name, for logs and status: `{ CDS: "9f…", EDS: "…", … }`. */
  versions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const t of XDS_TYPES) out[t.name] = this.version(t.typeUrl);
    return out;
  }

  /**
   * The messages keyed by type URL, in name order: the input shape of the translator's
   * `validateSnapshot`, so a cache check is `(s) => validateSnapshot(s.messagesByTypeUrl()).map(...)`.
   */
  messagesByTypeUrl(): Record<string, Message[]> {
    const out: Record<string, Message[]> = {};
    for (const [u, t] of this.types) out[u] = t.items.map((r) => r.message);
    return out;
  }

  /** Number of resources over all types. */
  get size(): number {
    let n = 0;
    for (const t of this.types.values()) n += t.items.length;
    return n;
  }
}

/**
 * Encodes and versions the given resources. Throws {@link SnapshotError} for a message of a type
 * Waystation does not serve, an empty name, or the same name twice in one type (the xDS protocol
 * doc, "Duplicate Resource Names", makes clients NACK that).
 *
 * Determinism: bytes are protobuf-es's encoding, which writes fields in field-number order and map
 * entries in the object's key order; translators insert map keys sorted (STYLE.md §4) and `Any`
 * payloads are opaque bytes, so the same input gives the same versions across restarts.
 */
export function buildSnapshot(entries: Iterable<SnapshotEntry>): Snapshot {
  const grouped = new Map<string, XdsResource[]>(PUSH_ORDER.map((u) => [u, []]));
  for (const e of entries) {
    const explicit = "message" in e && !("$typeName" in e);
    const message = explicit ? e.message : e as Message;
    const t = xdsTypeOf(message);
    if (!t) throw new SnapshotError(`${message.$typeName} is not a type Waystation serves over xDS`);
    const name = explicit ? e.name : t.nameOf(message);
    if (name === "") throw new SnapshotError(`${t.name} resource without a name`);
    grouped.get(t.typeUrl)!.push(encode(t, name, message));
  }
  const types = new Map<string, TypeResources>();
  for (const [typeUrl, items] of grouped) {
    items.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (let i = 1; i < items.length; i++) {
      if (items[i]!.name === items[i - 1]!.name) {
        throw new SnapshotError(`duplicate ${xdsType(typeUrl)!.name} resource name "${items[i]!.name}"`);
      }
    }
    types.set(typeUrl, new TypeResourcesImpl(typeUrl, items));
  }
  return Snapshot.fromTypes(types);
}

/**
 * Resources already encoded, by message object: a snapshot built from the previous one's messages
 * plus a few new ones (incremental translation) encodes and hashes only the new ones. Sound because
 * messages are frozen once in a snapshot (see XdsResource.message).
 */
const encoded = new WeakMap<Message, XdsResource>();

function encode(t: XdsType, name: string, message: Message): XdsResource {
  const seen = encoded.get(message);
  if (seen && seen.name === name && seen.typeUrl === t.typeUrl) return seen;
  const r = encodeFresh(t, name, message);
  encoded.set(message, r);
  return r;
}

function encodeFresh(t: XdsType, name: string, message: Message): XdsResource {
  const bytes = toBinary(t.schema, message);
  const version = shortHash(createHash("sha256").update(bytes));
  const any = create(AnySchema, { typeUrl: t.typeUrl, value: bytes });
  return { name, typeUrl: t.typeUrl, message, bytes, version, any };
}

/**
 * The served types whose version differs between two snapshots, in push order. An absent
 * `prev` means every type changed.
 */
export function changedTypes(prev: Snapshot | undefined, next: Snapshot): string[] {
  if (prev === next) return [];
  return PUSH_ORDER.filter((u) => prev === undefined || prev.version(u) !== next.version(u));
}
