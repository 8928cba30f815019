// The transparent outbound listener (ztunnel's 15001, src/proxy/outbound.rs): iptables REDIRECT
// (iptables.ts) sends the local workloads' outbound TCP here; the original destination comes from
// SO_ORIGINAL_DST (originalDst.ts). From there a flow is the same as a SOCKS5 one: the source is the
// local workload with the client's IP, the target is the original destination, and the process's
// outbound runner (outboundProxy.ts) decides and executes. Nothing is written to the client before
// the upstream is up; a refused flow is closed.
import type { AccessLog } from "../accessLog.js";
import { formatHostPort, normalizeIp, type HostPort } from "../ip.js";
import { listen, type Listener, type OutboundRunner } from "../listeners.js";
import type { Workload } from "../types.js";
import { captureSupport, readOriginalDst } from "./originalDst.js";

/** The default capture port (Istio's outbound capture port). */
export const CAPTURE_PORT = 15001;

/**
 * Where a REDIRECTed connection arrives: Linux maps locally generated packets to 127.0.0.1 (IPv4)
 * or ::1 (IPv6) (iptables-extensions(8), REDIRECT). Bind "::" to take both.
 */
export const CAPTURE_HOST = "127.0.0.1";

/**
 * Starts the capture listener. Rejects when the native addon is missing (transparent capture was
 * asked for and cannot work) or the address cannot be bound.
 */
export async function captureListener(at: HostPort, sourceByIp: (ip: string) => Workload | undefined, run: OutboundRunner,
  accessLog: AccessLog): Promise<Listener> {
  const support = captureSupport();
  if (!support.available) throw new Error(`transparent capture (--capture) unavailable: ${support.why}`);
  return listen(at, (s) => {
    const srcIp = normalizeIp(s.remoteAddress ?? "") ?? "";
    const dst = readOriginalDst(s);
    if (!dst.ok) {
      accessLog.failed({ srcAddr: formatHostPort(srcIp, s.remotePort ?? 0), dstAddr: formatHostPort(normalizeIp(s.localAddress ?? "") ?? "", s.localPort ?? 0), direction: "outbound" },
        dst.reason);
      s.destroy();
      return;
    }
    void run(s, sourceByIp(srcIp), dst.dst);
  });
}
