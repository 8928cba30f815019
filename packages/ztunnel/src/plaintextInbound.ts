// Plaintext inbound (ztunnel's 15006, src/proxy/inbound_passthrough.rs): an application connects
// without HBONE, so the flow has no identity; authorization still runs (a STRICT PeerAuthentication,
// i.e. DENY `not_principals: presence`, refuses it). Without iptables there is no SO_ORIGINAL_DST in
// Node, so each listener names the destination that REDIRECT would have recorded.
import type * as net from "node:net";
import { serveInbound, type InboundDeps } from "./inbound.js";
import { formatHostPort, normalizeIp, type HostPort } from "./ip.js";
import type { PlaintextListener } from "./localConfig.js";
import { guessService } from "./hboneServer.js";
import { listen, type Listener } from "./listeners.js";

/** Starts a plaintext listener delivering to `cfg.target`, which must be a workload on this node. */
export function plaintextListener(deps: InboundDeps, cfg: PlaintextListener, isLocal: (ip: string) => boolean): Promise<Listener> {
  const listenAddr = formatHostPort(cfg.listen.host, cfg.listen.port);
  return listen(cfg.listen, (socket: net.Socket) => {
    const target: HostPort = cfg.target;
    const workload = deps.state.workloadByIp(target.host);
    const srcIp = normalizeIp(socket.remoteAddress ?? "") ?? "";
    if (!workload || !isLocal(target.host)) {
      deps.accessLog.failed({ srcAddr: formatHostPort(srcIp, socket.remotePort ?? 0), dstAddr: listenAddr, direction: "inbound" },
        `no local workload with IP ${target.host}`);
      socket.destroy();
      return;
    }
    void serveInbound(deps, {
      srcIp, srcPort: socket.remotePort ?? 0, src: deps.state.workloadByIp(srcIp), listenAddr, workload,
      dstService: guessService(deps.state, workload, target.port, undefined), dstIp: target.host, dstPort: target.port,
    }, {
      accept: () => (socket.destroyed ? undefined : socket),
      refuse: () => socket.destroy(),
    }).catch((err: Error) => deps.logger.error("plaintext inbound flow failed", { error: err.message }));
  });
}
