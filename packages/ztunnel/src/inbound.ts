// Inbound processing shared by the HBONE listener (15008) and the plaintext one (15006): authorize
// the flow against the destination workload's policies, dial the application, answer, then copy
// bytes (istio-ambient.md §4.5). The caller has already parsed and validated the request.
import * as net from "node:net";
import type { Duplex } from "node:stream";
import type { AccessLog } from "./accessLog.js";
import { authorizeInbound } from "./authz.js";
import type { ConnectionManager } from "./connections.js";
import { formatHostPort } from "./ip.js";
import type { FlowInfo, ResponseFlags, ZtunnelMetrics } from "./metrics.js";
import { pipeBoth } from "./pipe.js";
import type { MeshState } from "./state.js";
import type { Logger, Service, Workload } from "./types.js";

/** What inbound processing needs from the process. */
export interface InboundDeps {
  readonly state: MeshState;
  readonly connections: ConnectionManager;
  readonly metrics: ZtunnelMetrics;
  readonly accessLog: AccessLog;
  readonly logger: Logger;
  /** Upstream connect timeout (ztunnel CONNECTION_TIMEOUT: 10 s). */
  readonly connectTimeoutMs: number;
}

/** One inbound request, already parsed. */
export interface InboundRequest {
  readonly srcIp: string;
  readonly srcPort: number;
  /** The TLS peer's identity; undefined for plaintext. */
  readonly srcIdentity?: string | undefined;
  /** Source workload fields (state by IP, else baggage). */
  readonly src?: Partial<Workload> | undefined;
  /** The listener address the flow arrived on. */
  readonly listenAddr: string;
  readonly hboneAddr?: string | undefined;
  readonly workload: Workload;
  readonly dstService?: Service | undefined;
  readonly dstIp: string;
  readonly dstPort: number;
}

/** How to answer the peer, by transport: an HTTP status on HBONE, accept/close on plaintext. */
export interface InboundResponder {
  /** The upstream is connected: start the flow (HBONE: 200). Returns the stream to copy to, or undefined when the peer left. */
  accept(): Duplex | undefined;
  /** Refuse (HBONE: status; plaintext: close). */
  refuse(status: 401 | 503, reason: string): void;
}

/** Runs one inbound flow to completion. */
export async function serveInbound(deps: InboundDeps, req: InboundRequest, respond: InboundResponder): Promise<void> {
  const started = performance.now();
  const flow: FlowInfo = {
    direction: "inbound", srcAddr: formatHostPort(req.srcIp, req.srcPort), src: req.src, srcIdentity: req.srcIdentity,
    dstAddr: req.listenAddr, hboneAddr: req.hboneAddr, dst: req.workload, dstService: req.dstService,
    dstIdentity: `spiffe://${req.workload.trustDomain}/ns/${req.workload.namespace}/sa/${req.workload.serviceAccount}`,
    mtls: req.srcIdentity !== undefined,
  };
  const end = (flags: ResponseFlags, requestBytes: number, responseBytes: number, error?: string) => {
    deps.metrics.closed(flow, flags, requestBytes, responseBytes);
    deps.accessLog.complete(flow, { requestBytes, responseBytes, durationMs: performance.now() - started, error });
  };
  deps.metrics.opened(flow);

  const conn = { srcIp: req.srcIp, dstIp: req.dstIp, dstPort: req.dstPort, srcIdentity: req.srcIdentity };
  const verdict = authorizeInbound(deps.state, req.workload, conn);
  if (!verdict.allow) {
    respond.refuse(401, verdict.reason);
    end("DENY", 0, 0, verdict.reason);
    return;
  }

  let app: net.Socket;
  try {
    app = await dial(req.dstIp, req.dstPort, deps.connectTimeoutMs);
  } catch (err) {
    const reason = `connect to ${formatHostPort(req.dstIp, req.dstPort)} failed: ${(err as Error).message}`;
    respond.refuse(503, reason);
    end("CONNECT", 0, 0, reason);
    return;
  }

  const downstream = respond.accept();
  if (!downstream) {
    app.destroy();
    end("-", 0, 0, "the client went away while the application was dialed");
    return;
  }
  const pipe = pipeBoth(downstream, app);
  const untrack = deps.connections.track({
    direction: "inbound", inbound: { workloadUid: req.workload.uid, conn },
    close: (reason) => pipe.abort(reason),
  });
  const result = await pipe.done;
  untrack();
  // The app socket's counters: written = what the client sent, read = what the app answered.
  end("-", app.bytesWritten, app.bytesRead, result.error?.message);
}

/** Opens a TCP connection that keeps its write side open after the peer's FIN. */
export function dial(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`timed out after ${timeoutMs} ms`)); }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      s.setKeepAlive(true, 180_000);
      resolve(s);
    });
    s.once("error", (e) => { clearTimeout(timer); reject(e); });
  });
}
