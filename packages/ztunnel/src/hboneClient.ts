// The HBONE client: mTLS + HTTP/2 sessions presenting the *source workload's* certificate (the pool
// calls `connect`), and CONNECT streams on them (istio-ambient.md §1.1-1.4).
import * as http2 from "node:http2";
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import * as tls from "node:tls";
import type { CertManager } from "./certs.js";
import { formatHostPort } from "./ip.js";
import type { PoolKey } from "./pool.js";
import { poolKeyString } from "./pool.js";
import { HBONE_ALPN, checkServerIdentity, clientSecureContext, sanIdentity } from "./tlsConfig.js";
import { silentLogger, type Logger } from "./types.js";

/** HTTP/2 flow control and limits (istio-ambient.md §1.4; perf-anchors Part 2 lever 2). */
export interface H2Settings {
  /** SETTINGS_INITIAL_WINDOW_SIZE: ztunnel 4 MiB; at least 1 MiB (below that throughput drops 30-40%). */
  readonly streamWindow: number;
  /** The session's local window (setLocalWindowSize): ztunnel 16 MiB, 4x the stream window. */
  readonly connectionWindow: number;
  /** SETTINGS_MAX_FRAME_SIZE: ztunnel 1 MiB. */
  readonly maxFrameSize: number;
  /** Node's maxSessionMemory (MB): raised so large windows do not trip ENHANCE_YOUR_CALM. */
  readonly maxSessionMemoryMb: number;
}

/** ztunnel's defaults. */
export const DEFAULT_H2: H2Settings = { streamWindow: 4 << 20, connectionWindow: 16 << 20, maxFrameSize: 1 << 20, maxSessionMemoryMb: 64 };

/** An HBONE failure; `status` is the CONNECT response code when the peer answered. */
export class HboneError extends Error {
  override readonly name = "HboneError";
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/** Options of the connector. */
export interface HboneConnectorOptions {
  readonly certs: CertManager;
  readonly h2?: H2Settings;
  /** Bind the source workload's IP when this host has it (loopback aliases, a pod netns). */
  readonly bindSource?: (ip: string) => boolean;
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
}

/** Opens HBONE sessions: TLS context per identity built once, TLS 1.3 tickets reused per pool key. */
export class HboneConnector {
  readonly #opts: HboneConnectorOptions;
  readonly #log: Logger;
  readonly #contexts = new Map<string, { serial: string; bundle: string; ctx: tls.SecureContext }>();
  /** Pool key -> the last session ticket and the identity verified when it was issued. */
  readonly #tickets = new Map<string, { ticket: Buffer; peer: string }>();

  constructor(opts: HboneConnectorOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
  }

  /** Forgets contexts and tickets of `identity` (its certificate rotated), or all (bundle changed). */
  invalidate(identity: string | undefined): void {
    for (const id of [...this.#contexts.keys()]) if (identity === undefined || id === identity) this.#contexts.delete(id);
    // A resumed session would carry the old client certificate to the peer: new sessions start afresh.
    for (const k of [...this.#tickets.keys()]) if (identity === undefined || k.startsWith(`${identity}|`)) this.#tickets.delete(k);
  }

  /** Opens one session for `key` (the pool's connect function). */
  async connect(key: PoolKey): Promise<ClientHttp2Session> {
    const ctx = await this.#context(key.srcIdentity);
    const h2 = this.#opts.h2 ?? DEFAULT_H2;
    const k = poolKeyString(key);
    const ticket = this.#tickets.get(k);
    const where = formatHostPort(key.dst.host, key.dst.port);
    return new Promise<ClientHttp2Session>((resolve, reject) => {
      let socket: tls.TLSSocket | undefined;
      let verified: string | undefined;
      const fail = (err: Error) => { clearTimeout(timer); session.destroy(); reject(err); };
      const timer = setTimeout(() => fail(new HboneError(`HBONE connect to ${where} timed out`)), this.#opts.connectTimeoutMs ?? 10_000);
      const session = http2.connect(`https://${where}`, {
        settings: { initialWindowSize: h2.streamWindow, maxFrameSize: h2.maxFrameSize, enablePush: false, maxHeaderListSize: 16 << 10 },
        maxSessionMemory: h2.maxSessionMemoryMb,
        createConnection: () => {
          socket = tls.connect({
            host: key.dst.host, port: key.dst.port, secureContext: ctx, ALPNProtocols: HBONE_ALPN,
            ...(this.#opts.bindSource?.(key.srcIp) ? { localAddress: key.srcIp } : {}),
            ...(ticket ? { session: ticket.ticket } : {}),
            // Full handshakes: the SAN must be an expected identity. Node does not call this on a
            // resumed session, which the ticket's recorded identity covers (below).
            checkServerIdentity: (_host, cert) => {
              const why = checkServerIdentity(sanIdentity(cert.subjectaltname), key.dstIdentities);
              return why ? new HboneError(`HBONE to ${where}: ${why}`) : undefined;
            },
          });
          socket.setNoDelay(true);
          socket.setKeepAlive(true, 180_000);
          socket.once("secureConnect", () => {
            const s = socket!;
            verified = s.isSessionReused() ? ticket?.peer : sanIdentity(s.getPeerX509Certificate()?.subjectAltName);
            const why = s.alpnProtocol !== "h2" ? `peer did not negotiate ALPN h2 (got ${String(s.alpnProtocol)})` : checkServerIdentity(verified, key.dstIdentities);
            if (why) fail(new HboneError(`HBONE to ${where}: ${why}`));
          });
          // TLS 1.3 tickets arrive after the handshake; keep the last for the next session of this key.
          socket.on("session", (t: Buffer) => { if (verified) this.#tickets.set(k, { ticket: t, peer: verified }); });
          return socket;
        },
      });
      session.once("connect", () => {
        clearTimeout(timer);
        session.setLocalWindowSize(h2.connectionWindow);
        this.#log.debug("HBONE session connected", { to: where, peer: verified, resumed: socket?.isSessionReused() });
        resolve(session);
      });
      session.on("error", (err) => fail(err instanceof HboneError ? err : new HboneError(`HBONE connect to ${where}: ${err.message}`)));
    });
  }

  async #context(identity: string): Promise<tls.SecureContext> {
    const cert = await this.#opts.certs.get(identity);
    const bundle = this.#opts.certs.trustBundle();
    const cached = this.#contexts.get(identity);
    if (cached && cached.serial === cert.serial && cached.bundle === bundle) return cached.ctx;
    const ctx = clientSecureContext({ certChain: cert.certChain, privateKeyPem: cert.privateKeyPem, trustBundlePem: bundle });
    this.#contexts.set(identity, { serial: cert.serial, bundle, ctx });
    return ctx;
  }
}

/**
 * Sends `CONNECT authority` on `session` and resolves with the stream once the peer answers 200
 * (the peer has dialed the destination); any other status rejects with HboneError(status).
 */
export function openConnect(session: ClientHttp2Session, authority: string, headers: OutgoingHttpHeaders): Promise<ClientHttp2Stream> {
  return new Promise((resolve, reject) => {
    let stream: ClientHttp2Stream;
    try {
      // Classic RFC 7540 CONNECT: :authority only, no :scheme or :path (ztunnel create_hbone_request).
      stream = session.request({ ...headers, ":method": "CONNECT", ":authority": authority }, { endStream: false });
    } catch (err) {
      return reject(new HboneError(`HBONE CONNECT ${authority}: ${(err as Error).message}`));
    }
    const onClose = () => reject(new HboneError(`HBONE CONNECT ${authority}: stream closed before a response (code ${stream.rstCode})`));
    const onError = (err: Error) => reject(new HboneError(`HBONE CONNECT ${authority}: ${err.message}`));
    stream.once("close", onClose);
    stream.once("error", onError);
    stream.once("response", (h: IncomingHttpHeaders) => {
      stream.off("close", onClose);
      stream.off("error", onError);
      const status = Number(h[":status"]);
      if (status === 200) return resolve(stream);
      stream.on("error", () => {});
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new HboneError(`HBONE CONNECT ${authority} answered ${status}`, status));
    });
  });
}
