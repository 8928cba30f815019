// Plain TCP listeners of the ztunnel: the accept loop every listener shares (half-open allowed, no
// Nagle delay, sockets destroyed on close) and the explicit outbound listener (a fixed source and
// target per port, for hosts without transparent capture).
import * as net from "node:net";
import type { HostPort } from "./ip.js";
import type { OutboundHooks } from "./outboundProxy.js";
import type { Workload } from "./types.js";

/** Runs one flow: the process binds proxyOutbound with its deps. */
export type OutboundRunner = (socket: net.Socket, source: Workload | undefined, target: HostPort, hooks?: OutboundHooks) => Promise<void>;

/** A bound listener. */
export interface Listener {
  readonly address: HostPort;
  close(): Promise<void>;
}

/** Listens; every accepted socket allows half-open (FIN is forwarded, not answered) and has no Nagle delay. */
export async function listen(at: HostPort, onSocket: (s: net.Socket) => void): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
    s.on("error", () => {});
    onSocket(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(at.port, at.host, () => { server.off("error", reject); resolve(); });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: { host: at.host, port },
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

/** Explicit listener: every connection is `source` -> `target`. */
export function explicitListener(at: HostPort, source: () => Workload | undefined, target: HostPort, run: OutboundRunner): Promise<Listener> {
  return listen(at, (s) => void run(s, source(), target));
}

