// The ztunnel's HTTP endpoints (istio-ambient.md §4.1): metrics on 15020 (`/metrics`,
// `/stats/prometheus`), readiness on 15021 (`/healthz/ready`), admin on 15000 (`/config_dump`,
// localhost only by default).
import * as http from "node:http";
import type { HostPort } from "./ip.js";

/** A small HTTP server with fixed routes. */
export interface HttpEndpoint {
  readonly address: HostPort;
  close(): Promise<void>;
}

/** A route: status and body (JSON when not a string). */
export type Route = () => Promise<{ status: number; body: unknown; contentType?: string }> | { status: number; body: unknown; contentType?: string };

/** Serves `routes` (exact paths, GET) on `at`; everything else is 404. */
export async function serveHttp(at: HostPort, routes: Readonly<Record<string, Route>>): Promise<HttpEndpoint> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const route = routes[path];
    if (!route || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`no such endpoint; try ${Object.keys(routes).join(", ")}\n`);
      return;
    }
    Promise.resolve(route()).then(({ status, body, contentType }) => {
      const text = typeof body === "string" ? body : `${JSON.stringify(body, null, 2)}\n`;
      res.writeHead(status, { "content-type": contentType ?? (typeof body === "string" ? "text/plain; charset=utf-8" : "application/json") }).end(text);
    }, (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`${err.message}\n`));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port, at.host, () => { server.off("error", reject); resolve(); });
  });
  const port = (server.address() as { port: number }).port;
  return {
    address: { host: at.host, port },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
