// Test fixtures for ztunnel end-to-end tests: a test CA as a certificate source, loopback-alias
// addresses (Linux routes all of 127/8 to lo), a port free on several of them, a TCP echo app that
// answers a FIN with a trailer, clients (plain, explicit listener, SOCKS5), and a fake waypoint.
import * as http2 from "node:http2";
import * as net from "node:net";
import type { TLSSocket } from "node:tls";
import { CertificateAuthority } from "@waystation/pki";
import type { AccessRecord, CertificateSource, HostPort, WorkloadCertificate } from "@waystation/ztunnel";

/** A CA in memory and a certificate source issuing from it (counts issuances per identity). */
export async function testCa(ttlSeconds?: number): Promise<{ ca: CertificateAuthority; source: CertificateSource; bundle: string; issued: Map<string, number> }> {
  const ca = await CertificateAuthority.start({});
  const issued = new Map<string, number>();
  const source: CertificateSource = {
    async fetch(identity): Promise<WorkloadCertificate> {
      issued.set(identity, (issued.get(identity) ?? 0) + 1);
      return ca.issueKeyPair({ identity, ...(ttlSeconds ? { ttlSeconds } : {}) });
    },
  };
  return { ca, source, bundle: ca.trustBundle().pem(), issued };
}

/** A port that is free on every one of `hosts` right now. */
export async function freePortOn(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const first = net.createServer();
    await new Promise<void>((r) => first.listen(0, hosts[0], r));
    const port = (first.address() as net.AddressInfo).port;
    const others = hosts.slice(1).map(() => net.createServer());
    const ok = await Promise.all(others.map((s, i) => new Promise<boolean>((r) => {
      s.once("error", () => r(false));
      s.listen(port, hosts[i + 1], () => r(true));
    })));
    await Promise.all([first, ...others].map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
    if (ok.every(Boolean)) return port;
  }
  throw new Error(`no port free on all of ${hosts.join(", ")}`);
}

/**
 * A TCP echo app: echoes data; on the client's FIN writes `<fin>` and ends (proves half-close).
 * `peers` lists the client addresses it accepted, in order.
 */
export async function echoApp(host: string): Promise<{ port: number; accepted: () => number; peers: string[]; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const peers: string[] = [];
  let accepted = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    accepted++;
    peers.push(s.remoteAddress ?? "");
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    s.on("data", (d) => s.write(d));
    s.on("end", () => s.end("<fin>"));
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    peers,
    close: () => new Promise((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  };
}

/** A client connection with helpers to read what arrived and to wait for the end. */
export class Client {
  data = "";
  ended = false;
  readonly closed: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(readonly socket: net.Socket) {
    socket.setEncoding("latin1");
    socket.on("data", (d: string) => { this.data += d; this.#wake(); });
    socket.on("end", () => { this.ended = true; this.#wake(); });
    socket.on("error", () => {});
    this.closed = new Promise((r) => socket.once("close", () => { this.#wake(); r(); }));
  }

  /** Resolves when `pred` holds (checked on each event), or rejects after `ms`. */
  async until(pred: () => boolean, ms = 5000, what = "condition"): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (this.socket.destroyed && !pred()) throw new Error(`${what}: socket closed; data so far: ${JSON.stringify(this.data)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: timed out; data so far: ${JSON.stringify(this.data)}`);
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.#waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }

  /** Resolves when the peer has ended (FIN) or the socket closed: a refused flow looks like this. */
  async gone(ms = 5000): Promise<void> {
    await this.until(() => this.ended || this.socket.destroyed, ms, "end of the connection").catch((e: Error) => {
      if (!this.socket.destroyed) throw e;
    });
  }

  /** Writes `text` and waits until it has been echoed (data ends with it). */
  async roundTrip(text: string): Promise<void> {
    const before = this.data.length;
    this.socket.write(text);
    await this.until(() => this.data.length >= before + text.length, 5000, `echo of ${JSON.stringify(text)}`);
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}

/** Connects to `to`, optionally from `localAddress` (a loopback alias standing for a workload IP). */
export function connect(to: HostPort, localAddress?: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: to.host, port: to.port, allowHalfOpen: true, ...(localAddress ? { localAddress } : {}) });
    s.once("connect", () => resolve(new Client(s)));
    s.once("error", reject);
  });
}

/**
 * A SOCKS5 CONNECT through `proxy` to `host:port` (IP or domain). Resolves with the client and the
 * reply code (0 = success; the socket is then a tunnel).
 */
export async function socks5(proxy: HostPort, host: string, port: number, localAddress: string): Promise<{ client: Client; rep: number }> {
  const s = net.connect({ host: proxy.host, port: proxy.port, allowHalfOpen: true, localAddress });
  await new Promise<void>((r, j) => { s.once("connect", r); s.once("error", j); });
  const read = (n: number) => new Promise<Buffer>((resolve, reject) => {
    const tryRead = () => {
      const b = s.read(n) as Buffer | null;
      if (b) { s.off("readable", tryRead); s.off("end", onEnd); resolve(b); }
    };
    const onEnd = () => reject(new Error("SOCKS5 proxy closed"));
    s.on("readable", tryRead);
    s.once("end", onEnd);
    tryRead();
  });
  s.write(Buffer.from([5, 1, 0]));
  const choice = await read(2);
  if (choice[1] !== 0) throw new Error(`SOCKS5 method refused: ${choice[1]}`);
  const isV4 = net.isIPv4(host);
  const addr = isV4 ? Buffer.from([1, ...host.split(".").map(Number)]) : Buffer.concat([Buffer.from([3, host.length]), Buffer.from(host, "ascii")]);
  const p = Buffer.alloc(2);
  p.writeUInt16BE(port);
  s.write(Buffer.concat([Buffer.from([5, 1, 0]), addr, p]));
  const rep = await read(10).then((b) => b[1]!, () => -1);
  return { client: new Client(s), rep };
}

/**
 * A fake waypoint: an HBONE server presenting `cert`, recording each CONNECT, then echoing. `port`
 * 0 picks one; a waypoint found through the control plane is dialed on its GatewayAddress port (15008).
 */
export async function fakeWaypoint(host: string, cert: WorkloadCertificate, bundle: string, port = 0): Promise<{
  port: number;
  requests: { authority: string; peerSerial: string; peerSan: string; forwarded: string; session: number }[];
  sessions: () => number;
  close(): Promise<void>;
}> {
  const requests: { authority: string; peerSerial: string; peerSan: string; forwarded: string; session: number }[] = [];
  const sessionIds = new WeakMap<object, number>();
  let sessions = 0;
  const live = new Set<http2.ServerHttp2Session>();
  const server = http2.createSecureServer({
    key: cert.privateKeyPem, cert: cert.certChain.join(""), ca: bundle, requestCert: true, rejectUnauthorized: true,
    minVersion: "TLSv1.3", ALPNProtocols: ["h2"], allowHTTP1: false,
  });
  server.on("session", (s) => { sessionIds.set(s, ++sessions); live.add(s); s.on("close", () => live.delete(s)); s.on("error", () => {}); });
  server.on("stream", (stream, headers) => {
    const peer = (stream.session!.socket as TLSSocket).getPeerX509Certificate();
    requests.push({
      authority: String(headers[":authority"]), peerSerial: peer?.serialNumber ?? "", peerSan: peer?.subjectAltName ?? "",
      forwarded: String(headers.forwarded ?? ""), session: sessionIds.get(stream.session!) ?? 0,
    });
    stream.on("error", () => {});
    stream.respond({ ":status": 200 });
    stream.on("data", (d) => stream.write(d));
    stream.on("end", () => stream.end("<fin>"));
  });
  await new Promise<void>((r, j) => { server.once("error", j); server.listen(port, host, () => { server.off("error", j); r(); }); });
  return {
    port: (server.address() as net.AddressInfo).port, requests, sessions: () => sessions,
    close: () => new Promise((r) => { for (const s of live) s.destroy(); server.close(() => r()); }),
  };
}

/** An access-log sink that keeps the records. */
export function recordingSink(): { records: { level: string; message: string; record: AccessRecord }[]; sink: (level: "info" | "warn" | "error", message: string, record: AccessRecord) => void } {
  const records: { level: string; message: string; record: AccessRecord }[] = [];
  return { records, sink: (level, message, record) => records.push({ level, message, record }) };
}

/** Polls `pred` every 10 ms until it holds or `ms` pass. */
export async function eventually(pred: () => boolean | Promise<boolean>, ms = 5000, what: string | (() => string) = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`${typeof what === "string" ? what : what()}: not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** GETs `path` from an endpoint. */
export async function httpGet(at: HostPort, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://${at.host === "0.0.0.0" ? "127.0.0.1" : at.host}:${at.port}${path}`);
  return { status: res.status, body: await res.text() };
}
