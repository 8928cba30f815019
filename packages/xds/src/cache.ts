// Snapshot cache: the last good snapshot per node id (or per node group), and the streams watching it.
import type { Node } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { changedTypes, type Snapshot } from "./snapshot.js";
import { silentLogger, type Logger } from "./types.js";

/** How a stream is matched to a snapshot: its exact node id first, then its group key, if any. */
export interface NodeKey {
  readonly id: string;
  /** e.g. the Gateway a waypoint belongs to, so 1,000 replicas share one snapshot object. */
  readonly group?: string | undefined;
}

/** Someone (an open stream) interested in the snapshot of one node. */
export interface SnapshotWatcher {
  /** The type URLs the watcher subscribes to; it is told only about changes to these. */
  readonly types: ReadonlySet<string>;
  /** The node's snapshot changed; `changed` lists the changed subscribed types in push order. */
  onSnapshot(next: Snapshot, changed: readonly string[]): void;
  /** The node now resolves through another group (see {@link SnapshotCache.regroup}); called before onSnapshot. */
  onRegroup?(key: NodeKey): void;
}

/** A snapshot the check refused; the previous one (if any) keeps serving. */
export interface Refusal {
  readonly key: string;
  readonly errors: readonly string[];
  /** Epoch milliseconds. */
  readonly time: number;
  /** Versions of the refused snapshot, by short type name. */
  readonly versions: Readonly<Record<string, string>>;
}

/** Result of {@link SnapshotCache.setSnapshot}. */
export type SetSnapshotResult =
  | { readonly ok: true; readonly changed: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Options of {@link SnapshotCache}. */
export interface SnapshotCacheOptions {
  /** Reference integrity and similar checks; a non-empty result refuses the snapshot. Default: none. */
  check?: (snapshot: Snapshot) => readonly string[];
  /** Fallback key for a node without a snapshot of its own (its role or group). Default: none. */
  nodeGroup?: (node: Node) => string | undefined;
  /** Called for every refused snapshot (after it is recorded). */
  onRefused?: (refusal: Refusal) => void;
  logger?: Logger;
  now?: () => number;
}

interface Watch {
  node: NodeKey;
  readonly watcher: SnapshotWatcher;
  /** The node as it connected, to work its group out again (regroup). */
  readonly source: Node | undefined;
}

/**
 * Holds one snapshot per key and notifies watchers when the snapshot they resolve to changes. A key
 * is either a node id or a group key; a node resolves to the snapshot of its id, else of its group.
 * Per-watch memory is one small record; snapshots are shared, never copied.
 */
export class SnapshotCache {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly byId = new Map<string, Set<Watch>>();
  private readonly byGroup = new Map<string, Set<Watch>>();
  private readonly refused = new Map<string, Refusal>();
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: SnapshotCacheOptions = {}) {
    this.log = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
  }

  /** The key pair a node is matched by. */
  nodeKey(node: Node): NodeKey {
    const group = this.opts.nodeGroup?.(node);
    return group === undefined || group === "" ? { id: node.id } : { id: node.id, group };
  }

  /**
   * Publishes `snapshot` under `key` (a node id or a group key) unless the check refuses it. A refused
   * snapshot is recorded (see {@link refusals}) and the previous snapshot keeps serving. Watchers are
   * notified only for the types whose version changed.
   */
  setSnapshot(key: string, snapshot: Snapshot): SetSnapshotResult {
    let errors: readonly string[];
    try {
      errors = this.opts.check?.(snapshot) ?? [];
    } catch (err) {
      errors = [`snapshot check threw: ${err instanceof Error ? err.message : String(err)}`];
    }
    if (errors.length > 0) {
      const refusal: Refusal = { key, errors: [...errors], time: this.now(), versions: snapshot.versions() };
      this.refused.set(key, refusal);
      this.log.warn("xds: snapshot refused, previous one keeps serving", { key, errors: refusal.errors });
      this.opts.onRefused?.(refusal);
      return { ok: false, errors: refusal.errors };
    }
    this.refused.delete(key);
    const prev = this.snapshots.get(key);
    this.snapshots.set(key, snapshot);
    const changed = changedTypes(prev, snapshot);
    if (changed.length === 0) return { ok: true, changed };
    this.log.debug("xds: snapshot set", { key, changed: changed.length, resources: snapshot.size });

    // Streams of this exact node id.
    for (const w of this.byId.get(key) ?? []) {
      const before = prev ?? (w.node.group === undefined ? undefined : this.snapshots.get(w.node.group));
      this.notify(w, before === prev ? changed : changedTypes(before, snapshot), snapshot);
    }
    // Streams of this group that have no snapshot of their own.
    for (const w of this.byGroup.get(key) ?? []) {
      if (!this.snapshots.has(w.node.id)) this.notify(w, changed, snapshot);
    }
    return { ok: true, changed };
  }

  /**
   * Forgets the snapshot under `key`. Watchers are not told: proxies keep their last config (which is
   * safer than pushing an empty one) until a new snapshot arrives for them. A node with its own
   * snapshot cleared falls back to its group's on the next change of that group.
   */
  clearSnapshot(key: string): void {
    this.snapshots.delete(key);
    this.refused.delete(key);
  }

  /** The snapshot a node resolves to: its own, else its group's. */
  resolve(node: NodeKey): Snapshot | undefined {
    return this.snapshots.get(node.id) ?? (node.group === undefined ? undefined : this.snapshots.get(node.group));
  }

  /** The snapshot stored under exactly this key. */
  get(key: string): Snapshot | undefined {
    return this.snapshots.get(key);
  }

  /** Keys holding a snapshot, sorted. */
  keys(): string[] {
    return [...this.snapshots.keys()].sort();
  }

  /**
   * Watches the snapshot `node` resolves to; returns the cancel function. With `source` (the node as
   * it connected), {@link regroup} can move the watch to the group the node belongs to later.
   */
  watch(node: NodeKey, watcher: SnapshotWatcher, source?: Node): () => void {
    const w: Watch = { node, watcher, source };
    add(this.byId, node.id, w);
    if (node.group !== undefined) add(this.byGroup, node.group, w);
    return () => {
      remove(this.byId, w.node.id, w);
      if (w.node.group !== undefined) remove(this.byGroup, w.node.group, w);
    };
  }

  /**
   * Works out the group again for every watch that resolves to nothing: a proxy that connected
   * before its waypoint existed (or whose waypoint was renamed) is moved to the group it belongs to
   * now and sent that snapshot. Call after publishing a new configuration. Watches that resolve to a
   * snapshot keep it: a proxy is never moved away from a config it is running.
   */
  regroup(): number {
    let moved = 0;
    for (const set of [...this.byId.values()]) {
      for (const w of [...set]) {
        if (!w.source || this.resolve(w.node)) continue;
        const key = this.nodeKey(w.source);
        if (key.group === w.node.group) continue;
        if (w.node.group !== undefined) remove(this.byGroup, w.node.group, w);
        w.node = key;
        if (key.group !== undefined) add(this.byGroup, key.group, w);
        moved++;
        w.watcher.onRegroup?.(key);
        const next = this.resolve(key);
        if (next) this.notify(w, changedTypes(undefined, next), next);
      }
    }
    if (moved > 0) this.log.info("xds: streams moved to the group they now belong to", { moved });
    return moved;
  }

  /** Number of open watches (for tests and metrics). */
  get watchCount(): number {
    let n = 0;
    for (const s of this.byId.values()) n += s.size;
    return n;
  }

  /** The latest refusal per key whose last set was refused, sorted by key. */
  refusals(): Refusal[] {
    return [...this.refused.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private notify(w: Watch, changed: readonly string[], snapshot: Snapshot): void {
    const relevant = changed.filter((u) => w.watcher.types.has(u));
    if (relevant.length === 0) return;
    try {
      w.watcher.onSnapshot(snapshot, relevant);
    } catch (err) {
      // One broken stream must not stop the others from being notified.
      this.log.error("xds: watcher failed", { node: w.node.id, error: String(err) });
    }
  }
}

function add(m: Map<string, Set<Watch>>, k: string, w: Watch): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(w);
}

function remove(m: Map<string, Set<Watch>>, k: string, w: Watch): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(w);
  if (s.size === 0) m.delete(k);
}
