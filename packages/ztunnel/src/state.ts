// The ztunnel's state: workloads by uid and IP, services by key, VIP and hostname, endpoints per
// service, L4 policies by key and scope. Fed by the local config file or the Delta xDS client; read
// by the pure decisions. No I/O: the only side effect is telling subscribers what kind of thing changed.
import { policyKey, serviceKey, type Policy, type Service, type Workload } from "./types.js";

/** What an update touched, so the process re-checks only what it must (policies -> live connections). */
export interface StateChange {
  readonly workloads: boolean;
  readonly services: boolean;
  readonly policies: boolean;
}

/** Called after each update (or each `batch`). */
export type StateListener = (change: StateChange) => void;

/** The mesh as this ztunnel knows it. */
export class MeshState {
  readonly #workloads = new Map<string, Workload>();
  readonly #byIp = new Map<string, Workload>();
  readonly #services = new Map<string, Service>();
  readonly #byVip = new Map<string, Service>();
  readonly #policies = new Map<string, Policy>();
  /** Service key -> uids of the workloads whose `services` name it. */
  readonly #endpoints = new Map<string, Set<string>>();
  readonly #listeners = new Set<StateListener>();
  #pending: { workloads: boolean; services: boolean; policies: boolean } | undefined;
  #depth = 0;

  /** Runs `fn` and notifies subscribers once for everything it changed. */
  batch<T>(fn: () => T): T {
    this.#depth++;
    this.#pending ??= { workloads: false, services: false, policies: false };
    try {
      return fn();
    } finally {
      if (--this.#depth === 0) {
        const change = this.#pending;
        this.#pending = undefined;
        if (change.workloads || change.services || change.policies) for (const l of this.#listeners) l(change);
      }
    }
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(listener: StateListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds or replaces a workload (by uid). */
  upsertWorkload(w: Workload): void {
    this.batch(() => {
      this.#dropWorkload(w.uid, new Set(w.addresses));
      this.#workloads.set(w.uid, w);
      for (const ip of w.addresses) this.#byIp.set(ip, w);
      for (const key of Object.keys(w.services)) {
        let set = this.#endpoints.get(key);
        if (!set) this.#endpoints.set(key, (set = new Set()));
        set.add(w.uid);
      }
      this.#pending!.workloads = true;
    });
  }

  /** Adds or replaces a service (by `<ns>/<hostname>`). */
  upsertService(s: Service): void {
    this.batch(() => {
      this.#dropService(serviceKey(s), new Set(s.vips));
      this.#services.set(serviceKey(s), s);
      for (const vip of s.vips) this.#byVip.set(vip, s);
      this.#pending!.services = true;
    });
  }

  /** Adds or replaces a policy (by `<ns>/<name>`). */
  upsertPolicy(p: Policy): void {
    this.batch(() => {
      this.#policies.set(policyKey(p), p);
      this.#pending!.policies = true;
    });
  }

  /**
   * Removes the Address resource with this xDS name: a workload uid or a service `<ns>/<hostname>`.
   * Returns whether something was removed.
   */
  removeAddress(name: string): boolean {
    return this.batch(() => {
      const w = this.#dropWorkload(name);
      const s = this.#dropService(name);
      if (w) this.#pending!.workloads = true;
      if (s) this.#pending!.services = true;
      return w || s;
    });
  }

  /** Removes a policy by `<ns>/<name>`; returns whether it existed. */
  removePolicy(name: string): boolean {
    return this.batch(() => {
      const had = this.#policies.delete(name);
      if (had) this.#pending!.policies = true;
      return had;
    });
  }

  /** Replaces everything (local config reload): one notification. */
  replaceAll(next: { workloads: readonly Workload[]; services: readonly Service[]; policies: readonly Policy[] }): void {
    this.batch(() => {
      for (const m of [this.#workloads, this.#byIp, this.#services, this.#byVip, this.#policies, this.#endpoints]) m.clear();
      for (const w of next.workloads) this.upsertWorkload(w);
      for (const s of next.services) this.upsertService(s);
      for (const p of next.policies) this.upsertPolicy(p);
      Object.assign(this.#pending!, { workloads: true, services: true, policies: true });
    });
  }

  workload(uid: string): Workload | undefined {
    return this.#workloads.get(uid);
  }

  /** The workload holding this IP (single network: ztunnel keys by `network/IP`, we by IP). */
  workloadByIp(ip: string): Workload | undefined {
    return this.#byIp.get(ip);
  }

  /** The workload named `name` in `namespace` (the first by uid if several share it). */
  workloadByName(namespace: string, name: string): Workload | undefined {
    let found: Workload | undefined;
    for (const w of this.#workloads.values()) if (w.namespace === namespace && w.name === name && (!found || w.uid < found.uid)) found = w;
    return found;
  }

  service(key: string): Service | undefined {
    return this.#services.get(key);
  }

  serviceByVip(ip: string): Service | undefined {
    return this.#byVip.get(ip);
  }

  /** Services with this hostname, the one in `preferNamespace` first, then by key. */
  servicesByHostname(hostname: string, preferNamespace?: string): Service[] {
    const found = [...this.#services.values()].filter((s) => s.hostname === hostname)
      .sort((a, b) => serviceKey(a).localeCompare(serviceKey(b)));
    return found.sort((a, b) => Number(b.namespace === preferNamespace) - Number(a.namespace === preferNamespace));
  }

  /** The workloads serving a service (those whose `services` names it), sorted by uid. */
  endpoints(key: string): Workload[] {
    const out: Workload[] = [];
    for (const uid of this.#endpoints.get(key) ?? []) out.push(this.#workloads.get(uid)!);
    return out.sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  }

  policy(key: string): Policy | undefined {
    return this.#policies.get(key);
  }

  /**
   * The policies that apply to a workload, as ztunnel picks them (`src/state.rs` assert_rbac):
   * GLOBAL ones, NAMESPACE ones of its namespace, and the selector-based ones it names.
   */
  policiesFor(w: Workload): Policy[] {
    const out: Policy[] = [];
    for (const p of this.#policies.values()) {
      if (p.scope === "Global" || (p.scope === "Namespace" && p.namespace === w.namespace)) out.push(p);
    }
    for (const name of w.authorizationPolicies) {
      const p = this.#policies.get(name);
      if (p && p.scope === "WorkloadSelector") out.push(p);
    }
    return out;
  }

  /** The workloads scheduled on `node`, sorted by uid. */
  workloadsOnNode(node: string): Workload[] {
    return [...this.#workloads.values()].filter((w) => w.node === node).sort((a, b) => a.uid.localeCompare(b.uid));
  }

  /** Resource names held, per kind: what a reconnecting xDS client lists in initial_resource_versions. */
  names(): { addresses: string[]; policies: string[] } {
    return { addresses: [...this.#workloads.keys(), ...this.#services.keys()].sort(), policies: [...this.#policies.keys()].sort() };
  }

  /** Everything, sorted: the `/config_dump` body. */
  dump(): { workloads: Workload[]; services: Service[]; policies: Policy[] } {
    const byKey = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
    return { workloads: byKey(this.#workloads), services: byKey(this.#services), policies: byKey(this.#policies) };
  }

  /** Forgets a workload; IPs in `keep` are about to be indexed again by the caller. */
  #dropWorkload(uid: string, keep: ReadonlySet<string> = new Set()): boolean {
    const old = this.#workloads.get(uid);
    if (!old) return false;
    this.#workloads.delete(uid);
    for (const key of Object.keys(old.services)) {
      const set = this.#endpoints.get(key);
      set?.delete(uid);
      if (set?.size === 0) this.#endpoints.delete(key);
    }
    const orphaned = old.addresses.filter((ip) => this.#byIp.get(ip) === old && !keep.has(ip));
    for (const ip of orphaned) this.#byIp.delete(ip);
    // Another workload may hold the same IP (a pod being replaced): index it again.
    if (orphaned.length > 0) {
      for (const w of this.#workloads.values()) for (const ip of w.addresses) if (orphaned.includes(ip) && !this.#byIp.has(ip)) this.#byIp.set(ip, w);
    }
    return true;
  }

  /** Forgets a service; VIPs in `keep` are about to be indexed again by the caller. */
  #dropService(key: string, keep: ReadonlySet<string> = new Set()): boolean {
    const old = this.#services.get(key);
    if (!old) return false;
    this.#services.delete(key);
    const orphaned = old.vips.filter((vip) => this.#byVip.get(vip) === old && !keep.has(vip));
    for (const vip of orphaned) this.#byVip.delete(vip);
    if (orphaned.length > 0) {
      for (const s of this.#services.values()) for (const vip of s.vips) if (orphaned.includes(vip) && !this.#byVip.has(vip)) this.#byVip.set(vip, s);
    }
    return true;
  }
}
