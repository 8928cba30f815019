// The inbound HBONE listener of one local workload: `<workload IP>:15008`, TLS 1.3 + ALPN h2 with
// the *destination workload's* certificate, client certificate required (istio-ambient.md §1.1,
// §1.3, §4.5). ztunnel binds one per pod netns and sends no SNI, so the certificate is chosen by the
// address: one server per workload IP does the same here.
import * as http2 from "node:http2";
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from "node:http2";
import type { TLSSocket } from "node:tls";
import type { H2Settings } from "./hboneClient.js";
import { parseBaggage, parseForwarded, validTraceparent } from "./hboneHeaders.js";
import { serveInbound, type InboundDeps } from "./inbound.js";
import { formatHostPort, isIp, parseHostPort } from "./ip.js";
import type { MeshState } from "./state.js";
import { checkClientIdentity, peerIdentity, serverTlsOptions, type TlsMaterial } from "./tlsConfig.js";
import { workloadIdentity, type Service, type Workload } from "./types.js";

/** Options of one listener. */
export interface HboneServerOptions {
  readonly deps: InboundDeps;
  readonly ip: string;
  readonly port: number;
  readonly material: TlsMaterial;
  /** The trust domain clients must belong to (the workload's). */
  readonly trustDomain: string;
  readonly h2: H2Settings;
  /** Ports a CONNECT may not target (15001, 15006, 15008): a self-call is refused with 503. */
  readonly ownPorts: readonly number[];
}

/** A running HBONE listener. */
export class HboneServer {
  readonly #opts: HboneServerOptions;
  readonly #server: http2.Http2SecureServer;
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #peers = new WeakMap<ServerHttp2Session, string>();
  /** Accepted TLS connections and CONNECT streams, for tests and /config_dump. */
  readonly stats = { tlsConnections: 0, resumed: 0, streams: 0, rejected: 0 };
  port = 0;

  private constructor(opts: HboneServerOptions) {
    this.#opts = opts;
    const { h2 } = opts;
    this.#server = http2.createSecureServer({
      ...serverTlsOptions(opts.material), allowHTTP1: false,
      settings: { initialWindowSize: h2.streamWindow, maxFrameSize: h2.maxFrameSize, maxConcurrentStreams: 200, maxHeaderListSize: 64 << 10, enablePush: false },
      maxSessionMemory: h2.maxSessionMemoryMb,
    });
    const log = opts.deps.logger;
    this.#server.on("tlsClientError", (err) => { this.stats.rejected++; log.debug("HBONE: TLS handshake refused", { listener: this.address, error: err.message }); });
    // A client that offered no ALPN at all completes TLS without h2: drop it at once.
    this.#server.on("unknownProtocol", (socket: TLSSocket) => { this.stats.rejected++; socket.destroy(); });
    this.#server.on("secureConnection", (socket: TLSSocket) => {
      socket.setNoDelay(true);
      if (socket.isSessionReused()) this.stats.resumed++;
    });
    this.#server.on("session", (session: ServerHttp2Session) => this.#onSession(session));
    this.#server.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.#onStream(stream, headers));
  }

  /** Listens on `ip:port` (port 0: any). */
  static async start(opts: HboneServerOptions): Promise<HboneServer> {
    const s = new HboneServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.#server.once("error", reject);
      s.#server.listen(opts.port, opts.ip, () => { s.#server.off("error", reject); resolve(); });
    });
    s.port = (s.#server.address() as { port: number }).port;
    return s;
  }

  get address(): string {
    return formatHostPort(this.#opts.ip, this.port);
  }

  /** New certificate or bundle: new handshakes use it, established sessions keep theirs. */
  setMaterial(m: TlsMaterial): void {
    this.#server.setSecureContext(serverTlsOptions(m));
  }

  /** Stops listening and ends every session. */
  close(): Promise<void> {
    for (const s of this.#sessions) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #onSession(session: ServerHttp2Session): void {
    this.stats.tlsConnections++;
    this.#sessions.add(session);
    session.once("close", () => this.#sessions.delete(session));
    session.on("error", (err) => this.#opts.deps.logger.debug("HBONE: session error", { listener: this.address, error: err.message }));
    // session.socket is a proxy that refuses manipulation (setNoDelay is done on secureConnection).
    const socket = session.socket as TLSSocket;
    const id = peerIdentity(socket);
    const why = checkClientIdentity(id, this.#opts.trustDomain);
    if (why) {
      this.stats.rejected++;
      this.#opts.deps.logger.warn("HBONE: client refused", { listener: this.address, from: socket.remoteAddress, reason: why });
      session.destroy();
      return;
    }
    this.#peers.set(session, id!);
    session.setLocalWindowSize(this.#opts.h2.connectionWindow);
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    this.stats.streams++;
    stream.on("error", () => {});
    const { deps, ip } = this.#opts;
    const refuse = (status: number, reason: string) => {
      deps.logger.debug("HBONE: request refused", { listener: this.address, status, reason });
      if (!stream.destroyed && !stream.headersSent) stream.respond({ ":status": status }, { endStream: true });
    };
    const srcIdentity = this.#peers.get(stream.session as ServerHttp2Session);
    if (srcIdentity === undefined) return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    if (headers[":method"] !== "CONNECT") return refuse(400, `method ${headers[":method"]} is not CONNECT`);
    const authority = parseHostPort(headers[":authority"] ?? "");
    if (!authority || !isIp(authority.host)) return refuse(400, `authority ${headers[":authority"]} is not ip:port`);
    // The authority must be this pod's IP (ztunnel's destination check; no hostname authorities here).
    if (authority.host !== ip) return refuse(400, `authority ${headers[":authority"]} is not on ${ip}, the workload this connection reached`);
    const workload = deps.state.workloadByIp(ip);
    if (!workload) return refuse(503, `no workload with IP ${ip} in the state`);
    if (this.#opts.ownPorts.includes(authority.port)) return refuse(503, `self-call to port ${authority.port}`);

    const socket = stream.session!.socket;
    const peerIp = socket.remoteAddress ?? "", peerPort = socket.remotePort ?? 0;
    // `forwarded: for=` carries the original client; trust it only when it names the TCP peer's IP.
    const fwd = parseForwarded(headers.forwarded as string | undefined);
    const fwdFor = fwd.for ? parseHostPort(fwd.for) : undefined;
    const src = fwdFor && fwdFor.host === peerIp ? fwdFor : { host: peerIp, port: peerPort };
    const known = deps.state.workloadByIp(src.host);
    deps.logger.debug("HBONE: CONNECT", { authority: headers[":authority"], peer: srcIdentity, traceparent: validTraceparent(headers.traceparent as string | undefined) });
    void serveInbound(deps, {
      srcIp: src.host, srcPort: src.port, srcIdentity,
      src: known && workloadIdentity(known) === srcIdentity ? known : parseBaggage(headers.baggage as string | undefined),
      listenAddr: this.address, hboneAddr: headers[":authority"], workload,
      dstService: guessService(deps.state, workload, authority.port, fwd.host), dstIp: ip, dstPort: authority.port,
    }, {
      accept: () => {
        if (stream.destroyed || stream.closed) return undefined;
        stream.respond({ ":status": 200 });
        return stream;
      },
      refuse: (status, reason) => refuse(status, reason),
    }).catch((err: Error) => deps.logger.error("HBONE: inbound flow failed", { error: err.message }));
  }
}

/** The service a flow was meant for: `forwarded; host=`, else one the workload serves on that port. */
export function guessService(state: MeshState, w: Workload, port: number, host: string | undefined): Service | undefined {
  if (host) {
    const s = state.servicesByHostname(host, w.namespace)[0];
    if (s) return s;
  }
  for (const [key, ports] of Object.entries(w.services)) {
    const s = state.service(key);
    if (s && (ports.some((p) => p.targetPort === port) || s.ports.some((p) => p.targetPort === port))) return s;
  }
  return undefined;
}
