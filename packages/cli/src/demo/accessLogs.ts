/**
 * The ztunnels' access logs as the demo reads them: the JSON lines tagged `target: "access"`
 * (ztunnel's record shape: `src.addr`, `src.identity`, `dst.hbone_addr`, `dst.identity`,
 * `direction`, `error` ...), kept per node, and looked up by the client's address, which both
 * ztunnels log as `src.addr` (the inbound side learns it from the CONNECT's `forwarded: for=`).
 */
import type { LogLine } from "./child.js";

/** One access record of one node's ztunnel. */
export interface AccessEntry {
  readonly node: string;
  readonly msg: string;
  readonly record: Readonly<Record<string, unknown>>;
}

/** Collects access records and waits for the ones a request produces. */
export class AccessLogs {
  readonly entries: AccessEntry[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #subscribers = new Set<(e: AccessEntry) => void>();

  /** Feed for one node's log lines. */
  sink(node: string): (line: LogLine) => void {
    return (line) => {
      if (line.target !== "access") return;
      const e: AccessEntry = { node, msg: String(line.msg ?? ""), record: line };
      this.entries.push(e);
      for (const fn of this.#subscribers) fn(e);
      for (const w of this.#waiters) w();
    };
  }

  /** Calls `fn` for every new record; returns the unsubscribe function. */
  subscribe(fn: (e: AccessEntry) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** The record of `node` for the flow from `clientAddress` in `direction`, waiting up to `ms`. */
  async find(node: string, direction: "inbound" | "outbound", clientAddress: string, ms: number): Promise<AccessEntry | undefined> {
    const match = () => this.entries.find((e) => e.node === node && e.record.direction === direction && e.record["src.addr"] === clientAddress);
    const deadline = Date.now() + ms;
    for (let found = match(); ; found = match()) {
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => { clearTimeout(timer); this.#waiters.delete(wake); resolve(); };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }
}
