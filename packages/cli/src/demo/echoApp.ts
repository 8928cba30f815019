/**
 * The demo's sample app: an HTTP echo listening on a pod's IP. It answers with the pod's name, the
 * request line and the TCP peer it saw. That peer is the destination node's ztunnel: ztunnel
 * (Istio's and this one) terminates HBONE and dials the app with a plain connection, so the app
 * itself never sees the client's certificate; the ztunnel's access log carries the identity.
 */
import * as http from "node:http";
import type * as net from "node:net";

/** A running echo app. */
export interface EchoApp {
  readonly address: string;
  /** TCP connections accepted so far (a denied request must not add one). */
  accepted(): number;
  close(): Promise<void>;
}

/** Starts the echo of pod `name` on `ip:port`. */
export async function startEchoApp(name: string, ip: string, port: number): Promise<EchoApp> {
  let accepted = 0;
  const server = http.createServer((req, res) => {
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      res.end(`echo from ${name} (${ip}:${port}): ${req.method} ${req.url} host=${req.headers.host ?? "-"} from ${peer}${body ? `\n${body}` : ""}\n`);
    });
  });
  server.on("connection", (s: net.Socket) => { accepted++; s.on("error", () => {}); });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(new Error(`the echo app of ${name} cannot listen on ${ip}:${port} (${e.code ?? e.message}); free that port or change the pod's containerPort`)));
    server.listen(port, ip, () => resolve());
  });
  return {
    address: `${ip}:${port}`,
    accepted: () => accepted,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
