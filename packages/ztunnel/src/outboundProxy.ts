// Executes outbound plans (outbound.ts decides): HBONE through the pool with the *source workload's*
// identity, or plain TCP passthrough; then copies bytes and reports the flow. Used by the SOCKS5 and
// explicit listeners (and, later, transparent capture on 15001).
import type * as net from "node:net";
import type { Duplex } from "node:stream";
import type { AccessLog } from "./accessLog.js";
import type { ConnectionManager } from "./connections.js";
import { HboneError, openConnect } from "./hboneClient.js";
import { buildBaggage, buildForwarded, newTraceparent } from "./hboneHeaders.js";
import { dial } from "./inbound.js";
import { formatHostPort, normalizeIp } from "./ip.js";
import type { FlowInfo, ZtunnelMetrics } from "./metrics.js";
import { buildOutbound, type OutboundOptions, type OutboundPlan, type OutboundTarget } from "./outbound.js";
import { pipeBoth } from "./pipe.js";
import type { HbonePool, Lease } from "./pool.js";
import type { MeshState } from "./state.js";
import { workloadIdentity, type Logger, type Workload } from "./types.js";

/** What outbound execution needs from the process. */
export interface OutboundDeps {
  readonly state: MeshState;
  readonly pool: HbonePool;
  readonly connections: ConnectionManager;
  readonly metrics: ZtunnelMetrics;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
  readonly decide: OutboundOptions;
  readonly connectTimeoutMs: number;
}

/** Why an outbound flow could not start, for listeners that answer the client (SOCKS5 reply codes). */
export type OutboundFailure = { readonly kind: "deny" | "unreachable" | "refused"; readonly reason: string };

/**
 * Callbacks of a listener: `established` before any byte is copied; `failed` when nothing was, and
 * then the hook ends the client socket (SOCKS5 writes its reply first). Without it, it is destroyed.
 */
export interface OutboundHooks {
  established?(): void;
  failed?(f: OutboundFailure): void;
}

function fail(downstream: net.Socket, hooks: OutboundHooks, f: OutboundFailure): void {
  if (hooks.failed) hooks.failed(f);
  else downstream.destroy();
}

/** Runs one outbound flow from `downstream` (a client socket) as `source` to `target`. */
export async function proxyOutbound(deps: OutboundDeps, downstream: net.Socket, source: Workload | undefined, target: OutboundTarget,
  hooks: OutboundHooks = {}): Promise<void> {
  const started = performance.now();
  const srcIp = normalizeIp(downstream.remoteAddress ?? "") ?? "";
  const srcAddr = formatHostPort(srcIp, downstream.remotePort ?? 0);
  const plan: OutboundPlan = buildOutbound(deps.state, source, target, deps.decide);
  if (plan.kind === "deny") {
    deps.accessLog.failed({ srcAddr, dstAddr: formatHostPort(target.host, target.port), direction: "outbound" }, plan.reason);
    fail(downstream, hooks, { kind: "deny", reason: plan.reason });
    return;
  }
  const src = source!;
  const flow: FlowInfo = {
    direction: "outbound", srcAddr, src, srcIdentity: workloadIdentity(src),
    dstAddr: formatHostPort(plan.nextHop.host, plan.nextHop.port),
    hboneAddr: plan.kind === "hbone" ? plan.authority : undefined,
    dst: plan.destination.workload, dstService: plan.destination.service,
    dstIdentity: plan.kind === "hbone" ? (plan.viaWaypoint?.workload ? workloadIdentity(plan.viaWaypoint.workload) : plan.expectedIdentities[0]) : undefined,
    mtls: plan.kind === "hbone",
  };
  deps.metrics.opened(flow);
  // The client socket's counters: read = what it sent toward the server, written = what came back;
  // less what a listener protocol (SOCKS5) used before and at establishment.
  const base = { read: downstream.bytesRead, written: downstream.bytesWritten };
  const finish = (flags: "-" | "DENY" | "CONNECT", error?: string) => {
    const requestBytes = downstream.bytesRead - base.read, responseBytes = downstream.bytesWritten - base.written;
    deps.metrics.closed(flow, flags, requestBytes, responseBytes);
    deps.accessLog.complete(flow, { requestBytes, responseBytes, durationMs: performance.now() - started, error });
  };

  let upstream: Duplex;
  let lease: Lease | undefined;
  try {
    if (plan.kind === "passthrough") {
      upstream = await dial(plan.nextHop.host, plan.nextHop.port, deps.connectTimeoutMs);
    } else {
      lease = await deps.pool.acquire({ srcIdentity: workloadIdentity(src), srcIp: src.addresses[0] ?? srcIp, dstIdentities: plan.expectedIdentities, dst: plan.nextHop });
      upstream = await openConnect(lease.session, plan.authority, {
        // `for` is the source workload's address: an explicit listener's client may be on 127.0.0.1.
        forwarded: buildForwarded(src.addresses.includes(srcIp) || !src.addresses[0] ? srcAddr : formatHostPort(src.addresses[0], downstream.remotePort ?? 0), plan.destination.service),
        baggage: buildBaggage(src),
        traceparent: newTraceparent(),
      });
    }
  } catch (err) {
    lease?.release();
    const e = err as Error;
    const status = e instanceof HboneError ? e.status : undefined;
    fail(downstream, hooks, { kind: status === 401 ? "deny" : status === undefined ? "unreachable" : "refused", reason: e.message });
    finish(status === 401 ? "DENY" : "CONNECT", e.message);
    return;
  }

  hooks.established?.();
  base.written = downstream.bytesWritten;
  const pipe = pipeBoth(downstream, upstream);
  const untrack = deps.connections.track({ direction: "outbound", close: (reason) => pipe.abort(reason) });
  const result = await pipe.done;
  untrack();
  lease?.release();
  finish("-", result.error?.message);
}
