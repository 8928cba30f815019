// Live connections, so that a policy change re-checks the inbound ones and closes those now denied
// (ztunnel src/proxy/connection_manager.rs PolicyWatcher, AuthorizationPolicyLateRejection), and so
// that shutdown closes everything.
import { authorizeInbound, type InboundConnection } from "./authz.js";
import type { MeshState } from "./state.js";
import { silentLogger, type Logger } from "./types.js";

/** One tracked flow. */
export interface TrackedConnection {
  readonly direction: "inbound" | "outbound";
  /** Inbound: the destination workload's uid and the authorization tuple. */
  readonly inbound?: { readonly workloadUid: string; readonly conn: InboundConnection };
  /** Ends the flow with this reason. */
  close(reason: Error): void;
}

/** Registry of live flows. */
export class ConnectionManager {
  readonly #live = new Set<TrackedConnection>();
  readonly #log: Logger;

  constructor(logger: Logger = silentLogger) {
    this.#log = logger;
  }

  /** Tracks `c` until the returned function is called. */
  track(c: TrackedConnection): () => void {
    this.#live.add(c);
    return () => this.#live.delete(c);
  }

  /** Flows currently open, by direction. */
  counts(): { inbound: number; outbound: number } {
    let inbound = 0, outbound = 0;
    for (const c of this.#live) if (c.direction === "inbound") inbound++; else outbound++;
    return { inbound, outbound };
  }

  /**
   * Re-runs authorization for every inbound flow against the current state and closes the denied
   * ones; also closes flows whose destination workload left the state. Returns how many were closed.
   */
  recheck(state: MeshState): number {
    let closed = 0;
    for (const c of [...this.#live]) {
      if (!c.inbound) continue;
      const w = state.workload(c.inbound.workloadUid);
      const verdict = w ? authorizeInbound(state, w, c.inbound.conn) : { allow: false as const, reason: `workload ${c.inbound.workloadUid} is gone` };
      if (verdict.allow) continue;
      this.#log.info("closing connection after a policy change", { reason: verdict.reason });
      this.#live.delete(c);
      c.close(new Error(`AuthorizationPolicyLateRejection: ${verdict.reason}`));
      closed++;
    }
    return closed;
  }

  /** Closes every flow (shutdown). */
  closeAll(reason: Error): void {
    for (const c of [...this.#live]) c.close(reason);
    this.#live.clear();
  }
}
