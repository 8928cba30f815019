// The ztunnel process, composed: state (local file or Delta xDS) -> certificates for the workloads
// on this node -> one HBONE listener per local workload IP, outbound listeners (SOCKS5, explicit),
// plaintext inbound listeners, metrics/readiness/admin endpoints. Policy changes re-check live
// flows; certificate rotations rebuild TLS contexts and drain the old sessions.
import { networkInterfaces } from "node:os";
import { AccessLog, loggerSink, type AccessLogSink } from "./accessLog.js";
import { serveHttp, type HttpEndpoint } from "./admin.js";
import { CAPTURE_HOST, captureListener } from "./capture/captureListener.js";
import { CertManager, type CertificateSource } from "./certs.js";
import { ConnectionManager } from "./connections.js";
import { DEFAULT_H2, HboneConnector, type H2Settings } from "./hboneClient.js";
import { HboneServer } from "./hboneServer.js";
import type { InboundDeps } from "./inbound.js";
import type { HostPort } from "./ip.js";
import { explicitListener, type Listener } from "./listeners.js";
import { parseLocalConfig, type ExplicitListener, type PlaintextListener } from "./localConfig.js";
import { ZtunnelMetrics } from "./metrics.js";
import { proxyOutbound, type OutboundDeps } from "./outboundProxy.js";
import { plaintextListener } from "./plaintextInbound.js";
import { HbonePool } from "./pool.js";
import { socks5Listener } from "./socks5.js";
import { MeshState } from "./state.js";
import { HBONE_PORT, silentLogger, workloadIdentity, type Logger, type Workload } from "./types.js";
import { XdsClient, type XdsClientOptions } from "./xdsClient.js";

/** Where the state comes from. */
export type ZtunnelConfigSource =
  | { readonly kind: "local"; readonly text: string; readonly source?: string }
  | { readonly kind: "xds"; readonly xds: Omit<XdsClientOptions, "state" | "logger"> }
  /** A state the caller fills (tests, embedding). */
  | { readonly kind: "state"; readonly state: MeshState };

/** Options of `startZtunnel`; every port may be 0 (any free port), `false` disables a listener. */
export interface ZtunnelOptions {
  /** NODE_NAME: this ztunnel serves the workloads whose `node` equals it. */
  readonly node: string;
  readonly config: ZtunnelConfigSource;
  readonly certificates: CertificateSource;
  /** Roots peers chain to; default: the roots of the fetched chains. */
  readonly trustBundlePem?: string;
  readonly ports?: {
    /** The HBONE port: listened on every local workload IP and dialed on peers (15008). */
    readonly hbone?: number;
    readonly socks5?: number | false;
    /** Transparent capture (iptables REDIRECT target, 15001); off unless given. Needs the native addon. */
    readonly capture?: number | false;
    readonly metrics?: number | false;
    readonly readiness?: number | false;
    readonly admin?: number | false;
  };
  /** Bind addresses: SOCKS5, capture and admin 127.0.0.1, metrics and readiness 0.0.0.0 by default. */
  readonly hosts?: { readonly socks5?: string; readonly capture?: string; readonly metrics?: string; readonly readiness?: string; readonly admin?: string };
  readonly explicitListeners?: readonly ExplicitListener[];
  readonly plaintextListeners?: readonly PlaintextListener[];
  readonly pool?: { readonly maxStreamsPerSession?: number; readonly idleTimeoutMs?: number };
  readonly h2?: Partial<H2Settings>;
  /** Endpoint choice among `n` candidates (default random). */
  readonly pick?: (n: number) => number;
  readonly connectTimeoutMs?: number;
  readonly logger?: Logger;
  readonly accessLog?: AccessLogSink;
}

/** A running ztunnel. */
export interface Ztunnel {
  readonly node: string;
  readonly state: MeshState;
  readonly certs: CertManager;
  readonly pool: HbonePool;
  readonly metrics: ZtunnelMetrics;
  readonly connections: ConnectionManager;
  readonly xds?: XdsClient | undefined;
  /** Bound addresses (ports resolved). */
  readonly addresses: { socks5?: HostPort; capture?: HostPort; metrics?: HostPort; readiness?: HostPort; admin?: HostPort; explicit: HostPort[]; plaintext: HostPort[] };
  /** HBONE listeners by workload IP. */
  readonly hboneServers: ReadonlyMap<string, HboneServer>;
  /** Certificates fetched and listeners up for every local workload (and, with xDS, the first sync done). */
  ready(): boolean;
  /** Local mode: replace the state from new file text; returns the errors (state unchanged if any). */
  reload(text: string, source?: string): string[];
  /** Waits until pending listener/certificate work for the current state is done. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a ztunnel. Rejects on a local config with errors or a listener that cannot bind. */
export async function startZtunnel(opts: ZtunnelOptions): Promise<Ztunnel> {
  const log = opts.logger ?? silentLogger;
  const state = opts.config.kind === "state" ? opts.config.state : new MeshState();
  const explicit = [...(opts.explicitListeners ?? [])], plaintext = [...(opts.plaintextListeners ?? [])];
  if (opts.config.kind === "local") {
    const cfg = parseLocalConfig(opts.config.text, opts.config.source);
    if (cfg.errors.length > 0) throw new Error(`local config refused:\n  ${cfg.errors.join("\n  ")}`);
    state.replaceAll(cfg);
    explicit.push(...cfg.listeners.outbound);
    plaintext.push(...cfg.listeners.inbound);
  }
  const ports = opts.ports ?? {}, hosts = opts.hosts ?? {};
  const hbonePort = ports.hbone ?? HBONE_PORT;
  const ownPorts = [15001, 15006, HBONE_PORT, hbonePort, ...(typeof ports.socks5 === "number" && ports.socks5 > 0 ? [ports.socks5] : [15080]),
    ...(typeof ports.capture === "number" && ports.capture > 0 ? [ports.capture] : [])];
  const h2: H2Settings = { ...DEFAULT_H2, ...opts.h2 };
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const certs = new CertManager({ source: opts.certificates, logger: log, ...(opts.trustBundlePem !== undefined ? { trustBundlePem: opts.trustBundlePem } : {}) });
  const metrics = new ZtunnelMetrics();
  const accessLog = new AccessLog(opts.accessLog ?? loggerSink(log));
  const connections = new ConnectionManager(log);
  const connector = new HboneConnector({ certs, h2, bindSource: isLocalIp, connectTimeoutMs, logger: log });
  const pool = new HbonePool({ connect: (k) => connector.connect(k), logger: log, ...opts.pool });
  const inboundDeps: InboundDeps = { state, connections, metrics, accessLog, logger: log, connectTimeoutMs };
  const outboundDeps: OutboundDeps = {
    state, pool, connections, metrics, accessLog, logger: log, connectTimeoutMs,
    decide: { hbonePort, ownPorts, pick: opts.pick ?? ((n) => Math.floor(Math.random() * n)) },
  };
  const run = (socket: import("node:net").Socket, source: Workload | undefined, target: HostPort, hooks?: import("./outboundProxy.js").OutboundHooks) =>
    proxyOutbound(outboundDeps, socket, source && source.node === opts.node ? source : undefined, target, hooks)
      .catch((err: Error) => { log.error("outbound flow failed", { error: err.message }); socket.destroy(); });

  // Inbound HBONE listeners follow the local workloads; one sync at a time.
  const servers = new Map<string, HboneServer>();
  const serverIdentity = new Map<string, string>();
  let syncChain: Promise<void> = Promise.resolve();
  const localWorkloads = () => state.workloadsOnNode(opts.node).filter((w) => w.tunnelProtocol === "HBONE" || w.nativeTunnel);
  const syncLocal = (): Promise<void> => (syncChain = syncChain.then(async () => {
    const local = localWorkloads();
    const wanted = new Map<string, Workload>();
    for (const w of local) for (const ip of w.addresses) wanted.set(ip, w);
    void certs.retain(local.map(workloadIdentity));
    for (const [ip, s] of [...servers]) {
      if (wanted.get(ip) && workloadIdentity(wanted.get(ip)!) === serverIdentity.get(ip)) continue;
      servers.delete(ip);
      serverIdentity.delete(ip);
      await s.close();
    }
    await Promise.all([...wanted].filter(([ip]) => !servers.has(ip)).map(async ([ip, w]) => {
      const id = workloadIdentity(w);
      try {
        const cert = await certs.get(id);
        const s = await HboneServer.start({
          deps: inboundDeps, ip, port: hbonePort, trustDomain: w.trustDomain, h2, ownPorts: [15001, 15006, HBONE_PORT, hbonePort],
          material: { certChain: cert.certChain, privateKeyPem: cert.privateKeyPem, trustBundlePem: certs.trustBundle() },
        });
        servers.set(ip, s);
        serverIdentity.set(ip, id);
        log.info("HBONE listener up", { workload: w.uid, address: s.address, identity: id });
      } catch (err) {
        log.error("HBONE listener for a local workload failed", { workload: w.uid, ip, error: (err as Error).message });
      }
    }));
  }));

  const stopState = state.onChange((change) => {
    if (change.workloads) void syncLocal();
    if (change.policies || change.workloads) connections.recheck(state);
  });
  const stopCerts = certs.onChange((identity) => {
    connector.invalidate(identity);
    if (identity === undefined) for (const id of new Set(serverIdentity.values())) pool.drainIdentity(id);
    else pool.drainIdentity(identity);
    for (const [ip, s] of servers) {
      const id = serverIdentity.get(ip)!;
      const cert = certs.current(id);
      if (cert && (identity === undefined || identity === id)) s.setMaterial({ certChain: cert.certChain, privateKeyPem: cert.privateKeyPem, trustBundlePem: certs.trustBundle() });
    }
  });

  let xds: XdsClient | undefined;
  const closers: (() => Promise<void> | void)[] = [];
  const addresses: Ztunnel["addresses"] = { explicit: [], plaintext: [] };
  try {
    await syncLocal();
    if (opts.config.kind === "xds") {
      xds = new XdsClient({ ...opts.config.xds, state, logger: log });
      xds.start();
      closers.push(() => xds!.close());
    }
    const add = async (l: Promise<Listener>) => { const x = await l; closers.push(() => x.close()); return x.address; };
    if (ports.socks5 !== false) {
      addresses.socks5 = await add(socks5Listener({ host: hosts.socks5 ?? "127.0.0.1", port: ports.socks5 ?? 15080 }, (ip) => state.workloadByIp(ip), run));
    }
    if (ports.capture !== undefined && ports.capture !== false) {
      addresses.capture = await add(captureListener({ host: hosts.capture ?? CAPTURE_HOST, port: ports.capture },
        (ip) => state.workloadByIp(ip), run, accessLog));
    }
    for (const l of explicit) {
      // One file may describe every node: a listener belongs to the ztunnel of its source's node.
      const node = findWorkload(state, l.source)?.node;
      if (node !== undefined && node !== opts.node) {
        log.debug("explicit listener skipped: its source is on another node", { source: l.source, node });
        continue;
      }
      addresses.explicit.push(await add(explicitListener(l.listen, () => findWorkload(state, l.source), l.target, run)));
    }
    for (const l of plaintext) {
      const node = state.workloadByIp(l.target.host)?.node;
      if (node !== undefined && node !== opts.node) continue;
      addresses.plaintext.push(await add(plaintextListener(inboundDeps, l, (ip) => state.workloadByIp(ip)?.node === opts.node)));
    }
    const http = async (key: "metrics" | "readiness" | "admin", def: number, host: string, routes: Parameters<typeof serveHttp>[1]) => {
      const p = ports[key];
      if (p === false) return;
      const e: HttpEndpoint = await serveHttp({ host: hosts[key] ?? host, port: p ?? def }, routes);
      closers.push(() => e.close());
      addresses[key] = e.address;
    };
    const metricsRoute = async () => ({ status: 200, body: await metrics.text(), contentType: metrics.registry.contentType });
    await http("metrics", 15020, "0.0.0.0", { "/metrics": metricsRoute, "/stats/prometheus": metricsRoute });
    await http("readiness", 15021, "0.0.0.0", { "/healthz/ready": () => (ready() ? { status: 200, body: "ready\n" } : { status: 503, body: "not ready\n" }) });
    await http("admin", 15000, "127.0.0.1", {
      "/config_dump": () => ({
        status: 200,
        body: {
          node: opts.node, ...state.dump(), certificates: certs.dump(), pool: pool.stats(), connections: connections.counts(),
          listeners: { hbone: [...servers.values()].map((s) => ({ address: s.address, ...s.stats })), ...addresses },
          ...(xds ? { xds: xds.status } : {}),
        },
      }),
    });
  } catch (err) {
    await shutdown();
    throw err;
  }

  function ready(): boolean {
    if (xds && !xds.status.synced) return false;
    return localWorkloads().every((w) => certs.current(workloadIdentity(w)) !== undefined && w.addresses.every((ip) => servers.has(ip)));
  }

  async function shutdown(): Promise<void> {
    stopState();
    stopCerts();
    connections.closeAll(new Error("ztunnel shutting down"));
    pool.close();
    for (const c of closers.splice(0).reverse()) await c();
    await syncChain.catch(() => {});
    await Promise.all([...servers.values()].map((s) => s.close()));
    servers.clear();
    certs.close();
  }

  return {
    node: opts.node, state, certs, pool, metrics, connections, xds, addresses, hboneServers: servers, ready,
    reload(text, source) {
      const cfg = parseLocalConfig(text, source);
      if (cfg.errors.length === 0) state.replaceAll(cfg);
      else log.warn("local config reload refused; keeping the current state", { errors: cfg.errors });
      return cfg.errors;
    },
    settled: async () => { await syncChain; },
    close: shutdown,
  };
}

/** A workload by uid, `<namespace>/<name>`, or IP. */
export function findWorkload(state: MeshState, ref: string): Workload | undefined {
  const byUid = state.workload(ref) ?? state.workloadByIp(ref);
  if (byUid) return byUid;
  const [ns, name, ...rest] = ref.split("/");
  return name !== undefined && rest.length === 0 ? state.workloadByName(ns!, name) : undefined;
}

/** Whether this host has `ip` (Linux routes all of 127/8 to lo, so loopback aliases bind). */
function isLocalIp(ip: string): boolean {
  if (ip.startsWith("127.") || ip === "::1") return true;
  return Object.values(networkInterfaces()).some((l) => l?.some((a) => a.address === ip));
}
