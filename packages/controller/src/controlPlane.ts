/**
 * The control-plane process in file mode: file source -> mesh model -> translators -> validation
 * -> snapshot cache -> ADS on :15010, monitoring on :15014. Reloads when files change and pushes
 * only what changed (the cache compares content hashes per type).
 */
import * as grpc from "@grpc/grpc-js";
import { formatProblem } from "@waystation/api";
import { buildModel, type Condition, type MeshModel } from "@waystation/model";
import { identifyProxy } from "@waystation/translator";
import { AdsServer, SnapshotCache } from "@waystation/xds";
import type { Server } from "node:http";
import { FileSource, type MeshSnapshot } from "./fileSource.js";
import { silentLogger, type Logger } from "./logger.js";
import { createMetrics, type ControlPlaneMetrics } from "./metrics.js";
import { startMonitor } from "./monitor.js";
import { nodeGroupOf, publishModel, type PublishResult } from "./publish.js";

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
}

export class ControlPlane {
  readonly cache: SnapshotCache;
  readonly ads: AdsServer;
  readonly metrics: ControlPlaneMetrics;
  private readonly log: Logger;
  private readonly source: FileSource;
  private grpcServer: grpc.Server | undefined;
  private monitor: Server | undefined;
  private model: MeshModel | undefined;
  private snapshot: MeshSnapshot | undefined;
  private lastPublish: PublishResult[] = [];
  xdsPort = 0;
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
    const first = await this.source.watch((s) => this.apply(s));
    this.apply(first);
    const host = this.opts.host ?? "0.0.0.0";
    this.grpcServer = new grpc.Server({ "grpc.max_send_message_length": 200 * 1024 * 1024, "grpc.max_receive_message_length": 16 * 1024 * 1024 });
    this.ads.register(this.grpcServer);
    this.xdsPort = await new Promise<number>((resolve, reject) =>
      this.grpcServer!.bindAsync(`${host}:${this.opts.xdsPort ?? 15010}`, grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));
    const mon = await startMonitor(this.opts.monitorPort ?? 15014, host, {
      ads: this.ads, metrics: this.metrics, ready: () => this.model !== undefined, status: () => this.status(),
    });
    this.monitor = mon.server;
    this.monitorPort = mon.port;
    this.log.info("serving", { xds: `${host}:${this.xdsPort}`, monitor: `${host}:${this.monitorPort}`, config: this.opts.config });
  }

  /** Current model (undefined before the first load). */
  currentModel(): MeshModel | undefined {
    return this.model;
  }

  private apply(s: MeshSnapshot): void {
    const started = performance.now();
    this.snapshot = s;
    for (const p of s.problems) this.log.warn("configuration problem", { problem: formatProblem(p) });
    this.metrics.recordProblems(s.problems.length);
    const model = buildModel(s.resources);
    this.model = model;
    this.lastPublish = publishModel(model, this.cache);
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
      snapshots: this.lastPublish.map((r) => ({ group: r.group, ok: r.ok, errors: r.errors, versions: this.cache.get(r.group)?.versions() ?? {} })),
      proxies: this.ads.syncz(),
      nacks: this.ads.nacks(),
    };
  }

  async close(): Promise<void> {
    this.source.close();
    this.ads.closeStreams();
    await new Promise<void>((resolve) => this.monitor ? this.monitor.close(() => resolve()) : resolve());
    this.monitor?.closeAllConnections();
    if (this.grpcServer) await new Promise<void>((resolve) => this.grpcServer!.tryShutdown(() => resolve()));
  }
}

function proxyType(nodeId: string): string {
  const p = identifyProxy({ id: nodeId });
  return "error" in p ? "unknown" : p.role;
}
