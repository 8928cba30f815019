// The SOCKS5 outbound listener (RFC 1928: CONNECT, no authentication; ztunnel's 15080 behind
// `UNSTABLE_ENABLE_SOCKS5`), for hosts without transparent capture. The source workload is the local
// workload with the client's IP; the target is what the client asks for (an IP or a service hostname).
import type * as net from "node:net";
import { bytesToIp, normalizeIp, type HostPort } from "./ip.js";
import { listen, type Listener, type OutboundRunner } from "./listeners.js";
import type { OutboundFailure } from "./outboundProxy.js";
import type { Workload } from "./types.js";

/** SOCKS5 reply codes (RFC 1928 §6). */
const REP = { ok: 0, failure: 1, notAllowed: 2, hostUnreachable: 4, refused: 5, commandNotSupported: 7, addressNotSupported: 8 } as const;

/** SOCKS5 listener: the source is the local workload with the client's IP; the target is what it asks for. */
export function socks5Listener(at: HostPort, sourceByIp: (ip: string) => Workload | undefined, run: OutboundRunner): Promise<Listener> {
  return listen(at, (s) => {
    readRequest(s).then((target) => {
      if (!target) return;
      const ip = normalizeIp(s.remoteAddress ?? "") ?? "";
      void run(s, sourceByIp(ip), target, {
        established: () => s.write(reply(REP.ok)),
        failed: (f: OutboundFailure) => s.end(reply(f.kind === "deny" ? REP.notAllowed : f.kind === "refused" ? REP.refused : REP.hostUnreachable)),
      });
    }, () => s.destroy());
  });
}

/**
 * Reads the greeting and the request; answers the method choice. Resolves with the target, or
 * undefined after answering an unsupported request.
 */
async function readRequest(s: net.Socket): Promise<HostPort | undefined> {
  const r = new ByteReader(s);
  const [ver, n] = await r.read(2);
  if (ver !== 5) throw new Error("not SOCKS5");
  const methods = await r.read(n!);
  if (!methods.includes(0)) {
    s.end(Buffer.from([5, 0xff]));
    return undefined;
  }
  s.write(Buffer.from([5, 0]));
  const [v, cmd, , atyp] = await r.read(4);
  if (v !== 5) throw new Error("not SOCKS5");
  let host: string | undefined;
  if (atyp === 1) host = bytesToIp(await r.read(4));
  else if (atyp === 4) host = bytesToIp(await r.read(16));
  else if (atyp === 3) host = (await r.read((await r.read(1))[0]!)).toString("ascii").toLowerCase();
  const portBytes = await r.read(2);
  r.done();
  if (cmd !== 1) return void s.end(reply(REP.commandNotSupported));
  if (host === undefined) return void s.end(reply(REP.addressNotSupported));
  return { host, port: portBytes.readUInt16BE(0) };
}

/** A reply with BND.ADDR 0.0.0.0:0 (the client does not need it). */
function reply(code: number): Buffer {
  return Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

/** Exact-length reads from a socket in paused mode; what is left after `done` is unshifted. */
class ByteReader {
  #buf = Buffer.alloc(0);
  #want = 0;
  #resolve: ((b: Buffer) => void) | undefined;
  #reject: ((e: Error) => void) | undefined;
  readonly #onData = (d: Buffer) => { this.#buf = Buffer.concat([this.#buf, d]); this.#drain(); };
  readonly #onEnd = () => this.#reject?.(new Error(`SOCKS5 client closed before sending ${this.#want} bytes`));

  constructor(private readonly s: net.Socket) {
    s.on("data", this.#onData);
    s.once("end", this.#onEnd);
  }

  read(n: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#want = n;
      this.#resolve = resolve;
      this.#reject = reject;
      this.#drain();
    });
  }

  /** Stops reading; extra bytes (the client's first data) go back to the socket. */
  done(): void {
    this.s.off("data", this.#onData);
    this.s.off("end", this.#onEnd);
    this.s.pause();
    if (this.#buf.length > 0) this.s.unshift(this.#buf);
  }

  #drain(): void {
    if (!this.#resolve || this.#buf.length < this.#want) return;
    const out = this.#buf.subarray(0, this.#want);
    this.#buf = this.#buf.subarray(this.#want);
    const r = this.#resolve;
    this.#resolve = undefined;
    r(out);
  }
}
