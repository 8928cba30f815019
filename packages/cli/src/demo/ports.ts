/**
 * Free ports for the demo's processes. A port is probed by binding it and letting it go, so
 * another process may still take it before the child binds it; the child then fails to start and
 * says which address was busy.
 */
import * as net from "node:net";

/** Whether `host:port` can be bound right now. */
export function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port the system hands out on `host` (port 0), released before returning. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * One port free on every address of `hosts` (the HBONE port is one number for the whole mesh:
 * each ztunnel listens on it on its pods' IPs and dials peers on it).
 */
export async function freePortOnAll(hosts: readonly string[]): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freePort(hosts[0]);
    const free = await Promise.all(hosts.map((h) => isFree(h, port)));
    if (free.every(Boolean)) return port;
  }
  throw new Error(`no port is free on all of ${hosts.join(", ")}`);
}
