// The per-connection access log, in ztunnel's shape (istio-ambient.md §7.3): one JSON record when a
// connection completes (`connection complete`), `connection failed` for early denials. Written
// through an injected sink; the default sends it to the logger with `target: "access"`.
import type { FlowInfo } from "./metrics.js";
import type { Logger } from "./types.js";

/** One access-log record: ztunnel's field names. */
export type AccessRecord = Record<string, string | number>;

/** Where records go. */
export type AccessLogSink = (level: "info" | "warn" | "error", message: string, record: AccessRecord) => void;

/** The default sink: the logger, tagged `target: "access"` like ztunnel's tracing target. */
export function loggerSink(log: Logger): AccessLogSink {
  return (level, message, record) => log[level](message, { target: "access", ...record });
}

/** How a connection ended. */
export interface FlowOutcome {
  /** Bytes client -> server and server -> client. */
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly durationMs: number;
  readonly error?: string | undefined;
}

/** Builds the record of a flow. `bytes_sent` is toward the destination, `bytes_recv` back from it. */
export function accessRecord(f: FlowInfo, o: FlowOutcome): AccessRecord {
  const r: AccessRecord = { "src.addr": f.srcAddr };
  if (f.src?.workloadName ?? f.src?.name) r["src.workload"] = (f.src?.workloadName ?? f.src?.name)!;
  if (f.src?.namespace) r["src.namespace"] = f.src.namespace;
  if (f.srcIdentity && f.mtls) r["src.identity"] = f.srcIdentity;
  r["dst.addr"] = f.dstAddr;
  if (f.hboneAddr) r["dst.hbone_addr"] = f.hboneAddr;
  if (f.dstService) r["dst.service"] = f.dstService.hostname;
  if (f.dst) {
    r["dst.workload"] = f.dst.workloadName || f.dst.name;
    r["dst.namespace"] = f.dst.namespace;
  }
  if (f.dstIdentity) r["dst.identity"] = f.dstIdentity;
  r.direction = f.direction;
  r.bytes_sent = o.requestBytes;
  r.bytes_recv = o.responseBytes;
  r.duration = `${Math.round(o.durationMs)}ms`;
  if (o.error) r.error = o.error;
  return r;
}

/** Writes access records. */
export class AccessLog {
  constructor(private readonly sink: AccessLogSink) {}

  /** A connection that was established (or attempted past authorization) has ended. */
  complete(f: FlowInfo, o: FlowOutcome): void {
    this.sink(o.error ? "error" : "info", "connection complete", accessRecord(f, o));
  }

  /** A connection refused before anything was dialed (policy, unknown source, bad request). */
  failed(f: Pick<FlowInfo, "srcAddr" | "dstAddr" | "direction">, error: string): void {
    this.sink("warn", "connection failed", { "src.addr": f.srcAddr, "dst.addr": f.dstAddr, direction: f.direction, error });
  }
}
