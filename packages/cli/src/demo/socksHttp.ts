/**
 * An HTTP GET through a ztunnel's SOCKS5 listener, as `curl --interface <pod IP> --socks5-hostname`
 * does: the client binds the source pod's IP (the ztunnel takes the local workload with that IP as
 * the source), asks for `host:port` by name (RFC 1928 ATYP 3) and, once the ztunnel answers 0
 * (tunnel up), sends an HTTP/1.0 request and reads the answer until the connection ends.
 */
import * as net from "node:net";

/** RFC 1928 §6 reply codes, for messages. */
const REPLIES: Record<number, string> = {
  0: "succeeded", 1: "general failure", 2: "connection not allowed by ruleset", 3: "network unreachable",
  4: "host unreachable", 5: "connection refused", 7: "command not supported", 8: "address type not supported",
};

/** What came back. */
export interface SocksHttpResult {
  /** The client's own address (`ip:port`): ztunnels log it as `src.addr`. */
  readonly clientAddress: string;
  /** The SOCKS5 reply code; undefined when the proxy closed before replying. */
  readonly reply?: number;
  readonly replyText?: string;
  /** The HTTP status and body, when the tunnel was opened. */
  readonly status?: number;
  readonly body?: string;
  /** A transport error (connection refused, reset, timeout). */
  readonly error?: string;
}

/** GET `path` from `host:port` through the SOCKS5 proxy at `proxy`, from `sourceIp`. */
export function getViaSocks5(proxy: { host: string; port: number }, sourceIp: string, host: string, port: number, path = "/", timeoutMs = 10_000): Promise<SocksHttpResult> {
  return new Promise((resolve) => {
    const s = net.connect({ host: proxy.host, port: proxy.port, localAddress: sourceIp });
    let clientAddress = `${sourceIp}:0`;
    let buf = Buffer.alloc(0);
    let phase: "method" | "reply" | "http" = "method";
    let reply: number | undefined;
    let settled = false;
    const done = (r: Omit<SocksHttpResult, "clientAddress">) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ clientAddress, ...(reply !== undefined ? { reply, replyText: REPLIES[reply] ?? "unknown" } : {}), ...r });
    };
    const timer = setTimeout(() => done({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    s.once("connect", () => {
      clientAddress = `${s.localAddress}:${s.localPort}`;
      s.write(Buffer.from([5, 1, 0]));
    });
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (phase === "method" && buf.length >= 2) {
        if (buf[1] !== 0) return done({ error: `the proxy refused the no-authentication method (${buf[1]})` });
        buf = buf.subarray(2);
        phase = "reply";
        const name = Buffer.from(host, "ascii");
        const p = Buffer.alloc(2);
        p.writeUInt16BE(port);
        s.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, p]));
      }
      if (phase === "reply" && buf.length >= 10) {
        reply = buf[1]!;
        buf = buf.subarray(10);
        if (reply !== 0) return done({});
        phase = "http";
        s.write(`GET ${path} HTTP/1.0\r\nHost: ${host}${port === 80 ? "" : `:${port}`}\r\nUser-Agent: waystation-demo\r\n\r\n`);
      }
    });
    s.once("end", () => {
      if (phase !== "http") return done({ error: "the proxy closed the connection before answering" });
      const text = buf.toString("utf8");
      const head = text.slice(0, Math.max(0, text.indexOf("\r\n\r\n")));
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1]);
      if (!Number.isInteger(status)) return done({ error: `not an HTTP response: ${JSON.stringify(text.slice(0, 80))}` });
      done({ status, body: text.slice(head.length + 4) });
    });
    s.once("error", (e: NodeJS.ErrnoException) => done({ error: e.code ?? e.message }));
  });
}
