// Istio's TCP metrics as ztunnel reports them (istio-ambient.md §7.1-7.2): opened/closed connections
// and bytes, with the standard label set, reporter `source` (outbound) or `destination` (inbound).
// Bytes follow Istio's meaning for both reporters: received = request bytes (client -> server),
// sent = response bytes (server -> client). Counted when the connection closes.
import { Counter, Gauge, Registry } from "prom-client";
import type { Service, Workload } from "./types.js";

/** Who and what one connection is, as telemetry sees it. */
export interface FlowInfo {
  readonly direction: "inbound" | "outbound";
  /** `ip:port` of the client. */
  readonly srcAddr: string;
  /** Known source workload, or fields recovered from baggage (inbound). */
  readonly src?: Partial<Workload> | undefined;
  readonly srcIdentity?: string | undefined;
  /** Outbound: the next hop; inbound: the HBONE (or plaintext) listener address. */
  readonly dstAddr: string;
  /** The CONNECT authority. */
  readonly hboneAddr?: string | undefined;
  readonly dst?: Workload | undefined;
  readonly dstService?: Service | undefined;
  readonly dstIdentity?: string | undefined;
  readonly mtls: boolean;
}

/** `-` (success), `DENY` (authorization) or `CONNECT` (upstream connect failed). */
export type ResponseFlags = "-" | "DENY" | "CONNECT";

const LABELS = [
  "reporter", "source_workload", "source_canonical_service", "source_canonical_revision", "source_workload_namespace",
  "source_principal", "source_app", "source_version", "source_cluster",
  "destination_service", "destination_service_namespace", "destination_service_name",
  "destination_workload", "destination_canonical_service", "destination_canonical_revision", "destination_workload_namespace",
  "destination_principal", "destination_app", "destination_version", "destination_cluster",
  "request_protocol", "response_flags", "connection_security_policy",
] as const;

type Labels = Record<(typeof LABELS)[number], string>;

const u = (v: string | undefined): string => (v === undefined || v === "" ? "unknown" : v);

/** The standard label values of a flow. */
export function flowLabels(f: FlowInfo, flags: ResponseFlags): Labels {
  const s = f.src, d = f.dst, svc = f.dstService;
  return {
    reporter: f.direction === "outbound" ? "source" : "destination",
    source_workload: u(s?.workloadName ?? s?.name), source_canonical_service: u(s?.canonicalName), source_canonical_revision: u(s?.canonicalRevision),
    source_workload_namespace: u(s?.namespace), source_principal: u(f.srcIdentity), source_app: u(s?.canonicalName),
    source_version: u(s?.canonicalRevision), source_cluster: u(s?.clusterId),
    destination_service: u(svc?.hostname), destination_service_namespace: u(svc?.namespace), destination_service_name: u(svc?.name),
    destination_workload: u(d?.workloadName || d?.name), destination_canonical_service: u(d?.canonicalName), destination_canonical_revision: u(d?.canonicalRevision),
    destination_workload_namespace: u(d?.namespace), destination_principal: u(f.dstIdentity), destination_app: u(d?.canonicalName),
    destination_version: u(d?.canonicalRevision), destination_cluster: u(d?.clusterId),
    request_protocol: "tcp", response_flags: flags, connection_security_policy: f.mtls ? "mutual_tls" : "unknown",
  };
}

/** The ztunnel's metrics registry (one per process, never prom-client's global one). */
export class ZtunnelMetrics {
  readonly registry = new Registry();
  readonly #opened: Counter<(typeof LABELS)[number]>;
  readonly #closed: Counter<(typeof LABELS)[number]>;
  readonly #sent: Counter<(typeof LABELS)[number]>;
  readonly #received: Counter<(typeof LABELS)[number]>;

  constructor() {
    const counter = (name: string, help: string) => new Counter({ name, help, labelNames: LABELS, registers: [this.registry] });
    this.#opened = counter("istio_tcp_connections_opened_total", "The total number of TCP connections opened");
    this.#closed = counter("istio_tcp_connections_closed_total", "The total number of TCP connections closed");
    this.#sent = counter("istio_tcp_sent_bytes_total", "The size of total bytes sent during response in case of a TCP connection");
    this.#received = counter("istio_tcp_received_bytes_total", "The size of total bytes received during request in case of a TCP connection");
    new Gauge({ name: "istio_build", help: "Istio component build info", labelNames: ["component", "tag"], registers: [this.registry] })
      .set({ component: "ztunnel", tag: "waystation" }, 1);
  }

  /** A connection started (after its peer is known, before authorization). */
  opened(f: FlowInfo): void {
    this.#opened.inc(flowLabels(f, "-"));
  }

  /** A connection ended; `requestBytes` went client -> server, `responseBytes` back. */
  closed(f: FlowInfo, flags: ResponseFlags, requestBytes: number, responseBytes: number): void {
    const l = flowLabels(f, flags);
    this.#closed.inc(l);
    if (requestBytes > 0) this.#received.inc(l, requestBytes);
    if (responseBytes > 0) this.#sent.inc(l, responseBytes);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
