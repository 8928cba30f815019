/**
 * The control-plane process in file mode: file source -> mesh model -> translators -> validation
 * -> snapshot cache -> ADS on :15010, monitoring on :15014. Reloads when files change and pushes
 * only what changed (the cache compares content hashes per type).
 */
import * as grpc from "@grpc/grpc-js";
import { formatProblem } from "@waystation/api";
import { buildModel, type Condition, type MeshModel } from "@waystation/model";
import { identifyProxy, type WaypointTranslateOptions } from "@waystation/translator";
import { startRateLimitService, type RateLimitServer } from "@waystation/ratelimit";
import { AdsServer, SnapshotCache } from "@waystation/xds";
import type { Server } from "node:http";
import { FileSource, type MeshSnapshot } from "./fileSource.js";
import { silentLogger, type Logger } from "./logger.js";
import { createMetrics, type ControlPlaneMetrics } from "./metrics.js";
import { startMonitor } from "./monitor.js";
import { grpcGroup, nodeGroupOf, publishModel, type PublishResult } from "./publish.js";
import { ProxyCertificates } from "./proxyCerts.js";
import { CallerAuthenticator, CaService, CertificateAuthority, NodeCredentials, ServingCertificate } from "@waystation/pki";

export interface ControlPlaneOptions {
  config: string[];
  recursive?: boolean;
  /** ADS (plaintext gRPC); 0 picks a free port. Default 15010. */
  xdsPort?: number;
  /** Monitoring HTTP; 0 picks a free port. Default 15014. */
  monitorPort?: number;
  host?: string;
  logger?: Logger;
  /** Reload debounce for the file source. */
  debounceMs?: number;
  /** ADS and the CA over TLS (the CA's own serving certificate); 0 picks a free port, -1 disables. Default 15012. */
  secureXdsPort?: number;
  trustDomain?: string;
  /** Where the CA keeps its root across restarts; without it the root lives in memory. */
  stateDir?: string;
  /** Istio's plugged-in CA certificates (cacerts layout). */
  pluggedCertsDir?: string;
  /** Node-credentials file for CreateCertificate callers (see packages/pki/README.md). */
  nodeCredentials?: string;
  /** The global rate limit service, in process. Port default 8081 (-1: do not start it). */
  rateLimit?: {
    port?: number;
    /** Counters in Redis, shared with other replicas; in memory without it. */
    redisUrl?: string;
    /** Where waypoints reach it; default this host (127.0.0.1 when listening on all addresses) and the port. */
    advertise?: { host: string; port: number };
  };
}

export class ControlPlane {
  readonly cache: SnapshotCache;
  readonly ads: AdsServer;
  readonly metrics: ControlPlaneMetrics;
  private readonly log: Logger;
  private readonly source: FileSource;
  private grpcServer: grpc.Server | undefined;
  private secureServer: grpc.Server | undefined;
  private serving: ServingCertificate | undefined;
  private ca: CertificateAuthority | undefined;
  private certs: ProxyCertificates | undefined;
  private rotationTimer: NodeJS.Timeout | undefined;
  private rateLimits: RateLimitServer | undefined;
  private waypointOptions: Partial<WaypointTranslateOptions> = {};
  private applying: Promise<void> = Promise.resolve();
  private monitor: Server | undefined;
  private model: MeshModel | undefined;
  private snapshot: MeshSnapshot | undefined;
  private lastPublish: PublishResult[] = [];
  xdsPort = 0;
  secureXdsPort = 0;
  monitorPort = 0;

  constructor(private readonly opts: ControlPlaneOptions) {
    this.log = opts.logger ?? silentLogger;
    this.cache = new SnapshotCache({ logger: this.log, nodeGroup: (node) => nodeGroupOf(() => this.model, node) });
    this.ads = new AdsServer({ cache: this.cache, logger: this.log, controlPlaneId: "waystation" });
    this.metrics = createMetrics(this.ads, proxyType);
    this.source = new FileSource(opts.config, { recursive: opts.recursive ?? false, logger: this.log, ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}) });
  }

  /** Loads the configuration, publishes it, then starts serving and watching. */
  async start(): Promise<void> {
    const trustDomain = this.opts.trustDomain ?? "cluster.local";
    this.ca = await CertificateAuthority.start({
      trustDomain, logger: this.log,
      ...(this.opts.stateDir ? { stateDir: this.opts.stateDir } : {}),
      ...(this.opts.pluggedCertsDir ? { pluggedCertsDir: this.opts.pluggedCertsDir } : {}),
    });
    this.certs = new ProxyCertificates(this.ca);
    this.ca.onBundleChange(() => this.republish("trust bundle changed"));
    const credentials = this.opts.nodeCredentials ? await NodeCredentials.load(this.opts.nodeCredentials) : undefined;
    const caService = new CaService({
      ca: this.ca,
      authenticator: new CallerAuthenticator({ trustDomain, ...(credentials ? { credentials } : {}) }),
      workloadsOnNode: (node) => (this.model?.workloads ?? []).filter((w) => w.node === node).map((w) => w.identity),
      logger: this.log,
    });

    const host = this.opts.host ?? "0.0.0.0";
    const rl = this.opts.rateLimit ?? {};
    if ((rl.port ?? 8081) >= 0) {
      try {
        this.rateLimits = await startRateLimitService({ port: rl.port ?? 8081, host, logger: this.log, ...(rl.redisUrl ? { redisUrl: rl.redisUrl } : {}) });
        this.waypointOptions = { rateLimitService: rl.advertise ?? { host: host === "0.0.0.0" ? "127.0.0.1" : host, port: this.rateLimits.port } };
      } catch (e) {
        // Global rate limits are one feature among many: without the service, each policy fails open
        // or closed as it says; the rest of the mesh is served.
        this.log.error("the global rate limit service did not start; global rate limits fail open or closed as each policy says", {
          error: (e as Error).message, hint: "pass --ratelimit-port <free port>, or -1 to turn it off",
        });
      }
    }

    const first = await this.source.watch((s) => this.enqueue(s));
    await this.enqueue(first);
    const serverOptions = { "grpc.max_send_message_length": 200 * 1024 * 1024, "grpc.max_receive_message_length": 16 * 1024 * 1024 };
    this.grpcServer = new grpc.Server(serverOptions);
    this.ads.register(this.grpcServer);
    caService.register(this.grpcServer);
    this.xdsPort = await bind(this.grpcServer, `${host}:${this.opts.xdsPort ?? 15010}`, grpc.ServerCredentials.createInsecure());
    if ((this.opts.secureXdsPort ?? 15012) >= 0) {
      this.serving = await ServingCertificate.start(this.ca, { logger: this.log });
      this.secureServer = new grpc.Server(serverOptions);
      this.ads.register(this.secureServer);
      caService.register(this.secureServer);
      this.secureXdsPort = await bind(this.secureServer, `${host}:${this.opts.secureXdsPort ?? 15012}`, this.serving.credentials());
    }
    // Renew proxy certificates at half-life: check every minute.
    this.rotationTimer = setInterval(() => this.republish("certificate renewal check"), 60_000);
    this.rotationTimer.unref();
    const mon = await startMonitor(this.opts.monitorPort ?? 15014, host, {
      ads: this.ads, metrics: this.metrics, ready: () => this.model !== undefined, status: () => this.status(),
    });
    this.monitor = mon.server;
    this.monitorPort = mon.port;
    this.log.info("serving", { xds: `${host}:${this.xdsPort}`, secureXds: this.secureServer ? `${host}:${this.secureXdsPort}` : "off", rateLimit: this.rateLimits ? `${host}:${this.rateLimits.port}` : "off", monitor: `${host}:${this.monitorPort}`, config: this.opts.config });
  }

  /** Current model (undefined before the first load). */
  currentModel(): MeshModel | undefined {
    return this.model;
  }

  /** Applies snapshots one at a time, in order. */
  private enqueue(s: MeshSnapshot): Promise<void> {
    this.applying = this.applying.then(() => this.apply(s)).catch((e) => this.log.error("applying the configuration failed", { error: String(e) }));
    return this.applying;
  }

  /** Re-publishes the current model, renewing certificates that are due. */
  private republish(reason: string): void {
    if (this.snapshot) {
      this.log.debug("republishing", { reason });
      void this.enqueue(this.snapshot);
    }
  }

  private async apply(s: MeshSnapshot): Promise<void> {
    const started = performance.now();
    const fresh = s !== this.snapshot;
    this.snapshot = s;
    if (fresh) for (const p of s.problems) this.log.warn("configuration problem", { problem: formatProblem(p) });
    this.metrics.recordProblems(s.problems.length);
    const model = fresh || !this.model ? buildModel(s.resources) : this.model;
    this.model = model;
    await this.certs!.ensure(model.waypoints.map((w) => w.identity));
    this.rateLimits?.setPolicies(s.resources);
    this.lastPublish = publishModel(model, this.cache, (id) => this.certs!.secretsFor(id), this.waypointOptions);
    // A proxy that connected before its waypoint existed reads the waypoint's snapshot from now on.
    this.cache.regroup();
    for (const r of this.lastPublish) {
      const snap = this.cache.get(r.group);
      let bytes = 0;
      if (snap) for (const t of Object.keys(snap.messagesByTypeUrl())) for (const item of snap.get(t)?.items ?? []) bytes += item.bytes.length;
      this.metrics.recordPublish(r.group, r.ok, bytes);
      if (!r.ok) this.log.error("snapshot refused: the previous configuration keeps serving", { group: r.group, errors: r.errors.slice(0, 20) });
    }
    this.log.info("configuration applied", {
      generation: s.generation, resources: s.resources.length, problems: s.problems.length,
      groups: this.lastPublish.map((r) => `${r.group}${r.ok ? "" : " (refused)"}${r.changed.length ? ` [${r.changed.map((u) => u.split(".").pop()).join(",")}]` : ""}`),
      ms: Math.round(performance.now() - started),
    });
  }

  /** What `waystation status` and /debug/status show. */
  status() {
    const conditions: Condition[] = [...(this.model?.conditions ?? []), ...this.lastPublish.flatMap((r) => r.conditions)];
    return {
      generation: this.snapshot?.generation ?? 0,
      files: this.snapshot?.files ?? [],
      problems: (this.snapshot?.problems ?? []).map(formatProblem),
      stale: (this.snapshot?.stale ?? []).map((x) => ({ resource: `${x.key.kind} ${x.key.namespace}/${x.key.name}`, file: x.origin.file, reason: x.reason })),
      conditions: conditions.map((c) => ({ resource: `${c.resource.kind} ${c.resource.namespace ? `${c.resource.namespace}/` : ""}${c.resource.name}`, type: c.type, status: c.status, reason: c.reason, message: c.message })),
      rateLimitService: this.rateLimits ? this.rateLimits.status() : undefined,
      snapshots: this.lastPublish.map((r) => ({ group: r.group, ok: r.ok, errors: r.errors, versions: this.cache.get(r.group)?.versions() ?? {} })),
      proxies: this.ads.syncz(),
      nacks: this.ads.nacks(),
    };
  }

  async close(): Promise<void> {
    this.source.close();
    if (this.rotationTimer) clearInterval(this.rotationTimer);
    await this.applying;
    this.ads.closeStreams();
    await new Promise<void>((resolve) => this.monitor ? this.monitor.close(() => resolve()) : resolve());
    this.monitor?.closeAllConnections();
    for (const srv of [this.grpcServer, this.secureServer]) if (srv) await new Promise<void>((resolve) => srv.tryShutdown(() => resolve()));
    this.serving?.close();
    await this.rateLimits?.close();
  }

  /** The rate limit service's port, if it runs. */
  get rateLimitPort(): number | undefined {
    return this.rateLimits?.port;
  }
}

function bind(server: grpc.Server, address: string, creds: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (e, port) => (e ? reject(e) : resolve(port))));
}

/** The proxy role for metrics: the snapshot group says grpc (recognised by user agent at connect), else the node id's type. */
function proxyType(nodeId: string, group?: string): string {
  if (group === grpcGroup) return "grpc";
  const p = identifyProxy({ id: nodeId });
  return "error" in p ? "unknown" : p.role;
}
