/**
 * xDS serving cost (issue 3): a control plane and N simulated waypoint proxies
 * (bench/lib/adsClients.ts) in a separate client process, over real gRPC on loopback. Each run
 * (source x variant x N) gets a fresh control-plane process (this bench again, with --scenario)
 * so its memory baseline is clean; that process is where everything below is measured.
 * Two sources of configuration:
 *
 *   files      ControlPlane on a copy of examples/ (bookinfo): an edit is a rewrite of
 *              traffic.yaml, so its latency covers file watch, debounce (100 ms, the default),
 *              load, model, translation, validation, publish, push and ACK.
 *   synthetic  SnapshotCache + AdsServer serving a translated waypoint of --services services
 *              (bench/lib/mesh.ts) with real SDS certificates; an edit is cache.setSnapshot of a
 *              snapshot prepared beforehand with one RouteConfiguration changed, so its latency is
 *              the push fan-out and ACKs only (translation cost is bench/translate.ts's subject).
 *
 * For each source, variant (SotW / Delta) and N it measures: (a) time from starting the clients
 * until every stream has ACKed CDS, EDS, LDS, RDS and SDS; (b) edit -> every proxy has ACKed the
 * new RDS version, p50/p99 over --edits edits; (c) control-plane memory growth per connected proxy
 * (after a forced GC, snapshot already in memory before the clients connect); (d) control-plane
 * CPU per pushed stream. ACKs are observed by the server (XdsStatus hooks), on its own clock.
 *
 *   npm run bench -- xds [--clients 100,1000] [--sources files,synthetic] [--variants sotw,delta]
 *                        [--services 100] [--edits 10] [--per-channel 50] [--profile <dir>]
 */
import { fork, type ChildProcess } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { Session } from "node:inspector";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import type { LoadedResource } from "@waystation/api";
import { ControlPlane, waypointGroup } from "@waystation/controller";
import { buildModel } from "@waystation/model";
import { inboundVipName, translateWaypoint } from "@waystation/translator";
import { validateSnapshot, formatValidationError } from "@waystation/translator/validate";
import { AdsServer, PUSH_ORDER, SnapshotCache, TypeUrl, buildSnapshot, type AckEvent, type PushEvent, type Snapshot } from "@waystation/xds";
import { CertificateAuthority, issueForWaypoint, tlsCertificateSecret, validationContextSecret } from "@waystation/pki";
import { routeConfigForPort } from "../packages/translator/src/routing/index.js";
import type { ClientStats, StartCommand } from "./lib/adsClients.js";
import { bytes, intList, memoryAfterGc, ms, option, percentile, printTable, type Memory } from "./lib/measure.js";
import { meshNamespace, serviceHost, syntheticMesh, waypointName, withVirtualServiceEdit } from "./lib/mesh.js";

export const description = "ADS serving: N simulated waypoints in a child process; convergence, edit->ACK latency, memory and CPU per proxy";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..");
const targets = { convergenceMs: 5000, editP99Ms: 200, bytesPerProxy: 100 * 1024 };

interface Options {
  clients: number[];
  sources: string[];
  variants: ("sotw" | "delta")[];
  services: number;
  edits: number;
  perChannel: number;
  /** Write CPU profiles of the convergence and edit phases here (the --profile option). */
  profileDir: string;
}

export async function run(args: string[]): Promise<void> {
  const o: Options = {
    clients: intList(option(args, "clients", "100,1000")),
    sources: option(args, "sources", "files,synthetic").split(","),
    variants: option(args, "variants", "sotw,delta").split(",").filter((v): v is "sotw" | "delta" => v === "sotw" || v === "delta"),
    services: Number(option(args, "services", "100")),
    edits: Number(option(args, "edits", "10")),
    perChannel: Number(option(args, "per-channel", "50")),
    profileDir: option(args, "profile", ""),
  };
  const one = option(args, "scenario", "");
  if (one) return runScenario(one, o);
  console.log(`xds bench: node ${process.version}; each run: a fresh control-plane process + one client process; `
    + `${o.perChannel} streams per HTTP/2 connection; ${o.edits} edits per run`);
  for (const source of o.sources) {
    if (source !== "files" && source !== "synthetic") throw new Error(`unknown source "${source}" (files, synthetic)`);
    const results: Result[] = [];
    for (const variant of o.variants) for (const n of o.clients) results.push(await isolated(`${source}:${variant}:${n}`, args));
    printResults(source, results);
  }
}

/**
 * Runs one scenario in a fresh process (this bench again, with --scenario), so that its RSS
 * baseline is not what earlier runs left behind: Node returns little memory to the OS.
 */
async function isolated(scenario: string, args: string[]): Promise<Result> {
  const child = fork(join(here, "run.ts"), ["xds", ...args, "--scenario", scenario], {
    cwd: root, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let result: Result | undefined;
  child.on("message", (m: { ev?: string; result?: Result }) => { if (m.ev === "result") result = m.result; });
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  if (!result) throw new Error(`xds bench: scenario ${scenario} failed (exit code ${code})`);
  return result;
}

/** Child side of {@link isolated}: the control plane of one scenario lives in this process. */
async function runScenario(spec: string, o: Options): Promise<void> {
  const [source, variant, count] = spec.split(":");
  const n = Number(count);
  if ((variant !== "sotw" && variant !== "delta") || !(n > 0)) throw new Error(`bad --scenario ${spec} (source:sotw|delta:N)`);
  const scenario = source === "files" ? await filesScenario() : source === "synthetic" ? await syntheticScenario(await prepareSynthetic(o)) : undefined;
  if (!scenario) throw new Error(`unknown source "${source}" (files, synthetic)`);
  try {
    const result = await measureRun(scenario, n, variant, o, `${source}-${variant}-${n}`);
    await new Promise<void>((resolve) => process.send!({ ev: "result", result }, () => resolve()));
  } finally {
    await scenario.close();
    process.disconnect?.();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios: a control plane serving one waypoint group, and a way to edit one VirtualService.

interface Scenario {
  ads: AdsServer;
  address: string;
  /** The snapshot the simulated waypoints resolve to. */
  snapshot(): Snapshot;
  nodeIdTemplate: string;
  /** Makes edit k (1-based) happen; resolves when it was handed to the control plane. */
  edit(k: number): Promise<void>;
  editDescription: string;
  close(): Promise<void>;
}

const quietLogger = { debug() {}, info() {}, warn() {}, error() {} };

async function filesScenario(): Promise<Scenario> {
  const dir = await mkdtemp(join(tmpdir(), "waystation-bench-xds-"));
  await cp(join(root, "examples"), dir, { recursive: true, filter: (src) => !src.includes("/invalid") });
  const cpl = new ControlPlane({ config: [dir], xdsPort: 0, secureXdsPort: -1, monitorPort: 0, host: "127.0.0.1", logger: quietLogger });
  await cpl.start();
  const group = waypointGroup("bookinfo", "waypoint");
  const file = join(dir, "traffic.yaml");
  const original = await readFile(file, "utf8");
  const split = "weight: 50\n        - destination: { host: reviews, subset: v3 }\n          weight: 50";
  if (!original.includes(split)) throw new Error("examples/traffic.yaml changed: the reviews 50/50 split this bench edits is gone");
  return {
    ads: cpl.ads,
    address: `127.0.0.1:${cpl.xdsPort}`,
    snapshot: () => cpl.cache.get(group)!,
    nodeIdTemplate: "waypoint~{ip}~waypoint-{i}.bookinfo~bookinfo.svc.cluster.local",
    edit: async (k) => {
      const w = 10 + (k % 80);
      await writeFile(file, original.replace(split, `weight: ${w}\n        - destination: { host: reviews, subset: v3 }\n          weight: ${100 - w}`));
    },
    editDescription: "rewrite of traffic.yaml (reviews weights) -> file watch, 100 ms debounce, reload, translate, validate, publish",
    close: async () => {
      await cpl.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The synthetic waypoint's snapshot and the edited ones, built once and shared by every run. */
interface SyntheticConfig {
  initial: Snapshot;
  edits: Snapshot[];
  group: string;
}

async function prepareSynthetic(o: Options): Promise<SyntheticConfig> {
  const started = performance.now();
  let resources: LoadedResource[] = syntheticMesh({ services: o.services });
  const model = buildModel(resources);
  const w = model.waypoints[0]!;
  const t = translateWaypoint(model, w);
  const errors = validateSnapshot(t.resources, { external: { secrets: ["default", "ROOTCA"] } });
  if (errors.length > 0) throw new Error(`synthetic snapshot does not validate: ${errors.slice(0, 3).map(formatValidationError).join("; ")}`);
  const ca = await CertificateAuthority.start({ trustDomain: "cluster.local", logger: quietLogger });
  const secrets = [validationContextSecret(ca.trustBundle()), tlsCertificateSecret(await issueForWaypoint(ca, w.identity))];
  const r = t.resources;
  const snapshotOf = (routes: typeof r.routes) => buildSnapshot([...r.clusters, ...r.endpoints, ...r.listeners, ...routes, ...secrets]);
  // Each edit changes one VirtualService (cumulatively); only that service's RouteConfiguration is
  // rebuilt (routeConfigForPort, as translateWaypoint would) and swapped in.
  const edits: Snapshot[] = [];
  let routes = r.routes;
  for (let k = 1; k <= o.edits; k++) {
    const i = (k * 7) % o.services;
    resources = withVirtualServiceEdit(resources, i, k);
    const m = buildModel(resources);
    const svc = m.services.find((s) => s.hostname === serviceHost(i))!;
    const name = inboundVipName(svc, svc.ports[0]!);
    const rc = routeConfigForPort(m, m.waypoints[0]!, svc, svc.ports[0]!, name).routeConfig;
    routes = routes.map((x) => (x.name === name ? rc : x));
    edits.push(snapshotOf(routes));
  }
  process.stderr.write(`  xds bench: synthetic snapshot of ${o.services} services and ${o.edits} edits prepared in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  return { initial: snapshotOf(r.routes), edits, group: waypointGroup(meshNamespace, waypointName) };
}

async function syntheticScenario(cfg: SyntheticConfig): Promise<Scenario> {
  const cache = new SnapshotCache({ nodeGroup: (node) => (node.id.startsWith("waypoint~") ? cfg.group : undefined) });
  const ads = new AdsServer({ cache, controlPlaneId: "waystation-bench" });
  // The same server options as ControlPlane.
  const server = new grpc.Server({ "grpc.max_send_message_length": 200 * 1024 * 1024, "grpc.max_receive_message_length": 16 * 1024 * 1024 });
  ads.register(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  cache.setSnapshot(cfg.group, cfg.initial);
  return {
    ads,
    address: `127.0.0.1:${port}`,
    snapshot: () => cache.get(cfg.group)!,
    nodeIdTemplate: `waypoint~{ip}~${waypointName}-{i}.${meshNamespace}~${meshNamespace}.svc.cluster.local`,
    edit: async (k) => {
      cache.setSnapshot(cfg.group, cfg.edits[(k - 1) % cfg.edits.length]!);
    },
    editDescription: "cache.setSnapshot of a prepared snapshot with one RouteConfiguration changed",
    close: async () => {
      ads.closeStreams();
      server.forceShutdown();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The client process.

class Clients {
  private readonly child: ChildProcess;
  private readonly waiters = new Map<string, (m: Record<string, unknown>) => void>();
  private exited: Promise<void>;

  constructor() {
    this.child = fork(join(here, "lib", "adsClients.ts"), [], {
      cwd: root, execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (m: Record<string, unknown>) => {
      const w = this.waiters.get(String(m.ev));
      if (w) {
        this.waiters.delete(String(m.ev));
        w(m);
      }
    });
    this.exited = new Promise((resolve) => this.child.once("exit", () => resolve()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  next(ev: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiters.delete(ev); reject(new Error(`client process: no "${ev}" within ${timeoutMs} ms`)); }, timeoutMs);
      this.waiters.set(ev, (m) => { clearTimeout(t); resolve(m); });
    });
  }

  send(m: object): void {
    this.child.send(m);
  }

  async stats(): Promise<ClientStats> {
    const p = this.next("stats");
    this.send({ cmd: "stats" });
    return await p as unknown as ClientStats;
  }

  /** Asks the child to close its streams and exit; kills it (by pid) if it does not within 5 s. */
  async stop(): Promise<ClientStats | undefined> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return undefined;
    const p = this.next("stats", 5000).catch(() => undefined);
    this.send({ cmd: "stop" });
    const s = await p as unknown as ClientStats | undefined;
    const killer = setTimeout(() => this.child.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(killer);
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// One run: N clients against one scenario.

interface EditSample {
  /** Edit handed over -> every stream ACKed the new RDS version. */
  totalMs: number;
  /** Edit handed over -> first RDS push of the new version (the pipeline before the fan-out). */
  firstPushMs: number;
  /** First push -> last ACK. */
  fanoutMs: number;
  /** Control-plane CPU ms from the edit to the last ACK, and from the first push to the last ACK. */
  cpuMs: number;
  fanoutCpuMs: number;
  pushes: number;
  pushBytes: number;
}

interface Result {
  n: number;
  variant: "sotw" | "delta";
  openMs: number;
  convergenceMs: number;
  serverCpuPct: number;
  clientCpuPct: number;
  initialBytesPerStream: number;
  before: Memory;
  after: Memory;
  snapshotBytes: number;
  edits: EditSample[];
  failed: number;
  firstError?: string;
  nacks: number;
}

const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const sleep = (t: number) => new Promise((r) => setTimeout(r, t));

function snapshotSize(s: Snapshot): number {
  let b = 0;
  for (const u of PUSH_ORDER) for (const item of s.get(u)?.items ?? []) b += item.bytes.length;
  return b;
}

async function measureRun(sc: Scenario, n: number, variant: "sotw" | "delta", o: Options, label: string): Promise<Result> {
  const profiler = o.profileDir ? new Profiler(o.profileDir) : undefined;
  const snap = sc.snapshot();
  const names = { EDS: namesOf(snap, TypeUrl.EDS), RDS: namesOf(snap, TypeUrl.RDS), SDS: namesOf(snap, TypeUrl.SDS) };
  const types = ["CDS", "EDS", "LDS", "RDS", "SDS"];

  // Server-side observation of ACKs and pushes.
  const ackedTypes = new Map<string, Set<string>>();
  let ready = 0;
  let onReady: (() => void) | undefined;
  let initialBytes = 0;
  let initialPhase = true;
  let edit: { version?: string; previous: string; acked: Set<string>; firstPushAt?: number; firstPushCpu?: number; pushes: number; bytes: number; done?: () => void } | undefined;
  const removeHooks = sc.ads.status.addHooks({
    onPush: (e: PushEvent) => {
      if (initialPhase) initialBytes += e.bytes;
      if (!edit) return;
      if (e.type !== "RDS" || e.version === edit.previous) return;
      if (edit.version === undefined) {
        edit.version = e.version;
        edit.firstPushAt = performance.now();
        edit.firstPushCpu = cpuNow();
      }
      if (e.version === edit.version) {
        edit.pushes++;
        edit.bytes += e.bytes;
      }
    },
    onAck: (e: AckEvent) => {
      if (!initialPhase) {
        if (edit && e.type === "RDS" && e.version === edit.version) {
          edit.acked.add(e.stream);
          if (edit.acked.size === n) edit.done?.();
        }
        return;
      }
      let s = ackedTypes.get(e.stream);
      if (!s) ackedTypes.set(e.stream, (s = new Set()));
      if (s.has(e.type)) return;
      s.add(e.type);
      if (types.every((t) => s.has(t)) && ++ready === n) onReady?.();
    },
  });

  const clients = new Clients();
  try {
    await clients.next("loaded");
    const before = await settledMemory();

    // (a) Initial convergence.
    const converged = new Promise<void>((resolve) => { onReady = resolve; });
    const client0 = (await clients.stats()).cpuMs;
    await profiler?.start();
    const cpu0 = cpuNow();
    const t0 = performance.now();
    clients.send({ cmd: "start", address: sc.address, streams: n, perChannel: o.perChannel, variant, nodeIdTemplate: sc.nodeIdTemplate, names } satisfies StartCommand);
    const opened = await clients.next("opened");
    await withTimeout(converged, 120_000, () => `only ${ready} of ${n} streams ACKed every type within 120 s`);
    const convergenceMs = performance.now() - t0;
    const serverCpuPct = (100 * (cpuNow() - cpu0)) / convergenceMs;
    const clientCpuPct = (100 * ((await clients.stats()).cpuMs - client0)) / convergenceMs;
    await profiler?.stop(`xds-${label}-initial`);

    // (c) Memory per connected proxy, once the initial pushes are written and acknowledged.
    initialPhase = false;
    const after = await settledMemory();

    // (b), (d) Edits.
    const edits: EditSample[] = [];
    await profiler?.start();
    for (let k = 1; k <= o.edits; k++) {
      await sleep(250);
      const previous = sc.snapshot().version(TypeUrl.RDS);
      const done = new Promise<void>((resolve) => { edit = { previous, acked: new Set(), pushes: 0, bytes: 0, done: resolve }; });
      const cpuStart = cpuNow();
      const start = performance.now();
      await sc.edit(k);
      await withTimeout(done, 30_000, () => `edit ${k}: ${edit?.acked.size ?? 0} of ${n} streams ACKed the new RDS version within 30 s`);
      const end = performance.now();
      const e = edit!;
      edits.push({
        totalMs: end - start, firstPushMs: e.firstPushAt! - start, fanoutMs: end - e.firstPushAt!,
        cpuMs: cpuNow() - cpuStart, fanoutCpuMs: cpuNow() - e.firstPushCpu!, pushes: e.pushes, pushBytes: e.bytes,
      });
      edit = undefined;
    }
    await profiler?.stop(`xds-${label}-edits`);
    const final = await clients.stop();
    const result: Result = {
      n, variant, openMs: Number(opened.ms), convergenceMs, serverCpuPct, clientCpuPct,
      initialBytesPerStream: initialBytes / n, before, after, snapshotBytes: snapshotSize(snap), edits,
      failed: final?.failed ?? 0, nacks: sc.ads.nacks().length,
      ...(final?.firstError ? { firstError: final.firstError } : {}),
    };
    process.stderr.write(`  xds bench: ${variant} N=${n} done (converged in ${ms(convergenceMs)} ms)\n`);
    return result;
  } finally {
    removeHooks();
    await clients.stop();
  }
}

/** CPU profiles of this process through the inspector, written as <dir>/<name>.cpuprofile. */
class Profiler {
  private readonly session = new Session();
  constructor(private readonly dir: string) {
    this.session.connect();
  }

  private post(method: string): Promise<unknown> {
    return new Promise((resolve, reject) => this.session.post(method, (e, r) => (e ? reject(e) : resolve(r))));
  }

  async start(): Promise<void> {
    await this.post("Profiler.enable");
    await this.post("Profiler.start");
  }

  async stop(name: string): Promise<void> {
    const { profile } = await this.post("Profiler.stop") as { profile: unknown };
    await mkdir(this.dir, { recursive: true });
    const file = join(this.dir, `${name}.cpuprofile`);
    await writeFile(file, JSON.stringify(profile));
    process.stderr.write(`  xds bench: CPU profile ${file}\n`);
  }
}

/**
 * Memory after a GC and a pause (V8 returns freed pages to the OS some time after a GC, so an
 * immediate RSS reading depends on what happened just before it), then a second GC.
 */
async function settledMemory(): Promise<Memory> {
  await sleep(500);
  memoryAfterGc();
  await sleep(500);
  return memoryAfterGc();
}

function namesOf(s: Snapshot, typeUrl: string): string[] {
  return (s.get(typeUrl)?.items ?? []).map((r) => r.name);
}

function withTimeout<T>(p: Promise<T>, t: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(message())), t); })])
    .finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Report.

function printResults(source: string, results: Result[]): void {
  const col = (r: Result) => `${r.variant} N=${r.n}`;
  const p = (r: Result, f: (e: EditSample) => number, q: number) => percentile(r.edits.map(f), q);
  const perProxy = (r: Result, k: keyof Memory) => (r.after[k] - r.before[k]) / r.n;
  const row = (label: string, f: (r: Result) => string, target = ""): string[] => [label, ...results.map(f), target];
  const rows: string[][] = [
    row("snapshot (encoded resources)", (r) => bytes(r.snapshotBytes)),
    row("initial bytes pushed per stream", (r) => bytes(r.initialBytesPerStream)),
    row("(a) clients start -> all ACKed CDS/EDS/LDS/RDS/SDS (ms)", (r) => ms(r.convergenceMs), `< ${targets.convergenceMs}`),
    row("    of which opening the streams (client side, ms)", (r) => ms(r.openMs)),
    row("    control-plane CPU during it (% of one core)", (r) => r.serverCpuPct.toFixed(0)),
    row("    client-process CPU during it (% of one core)", (r) => r.clientCpuPct.toFixed(0)),
    row("(b) edit -> all proxies ACKed new RDS, p50 (ms)", (r) => ms(p(r, (e) => e.totalMs, 50))),
    row("(b) edit -> all proxies ACKed new RDS, p99 (ms)", (r) => ms(p(r, (e) => e.totalMs, 99)), `< ${targets.editP99Ms}`),
    row("    edit -> first push, p50 (pipeline, ms)", (r) => ms(p(r, (e) => e.firstPushMs, 50))),
    row("    first push -> last ACK, p50 / p99 (fan-out, ms)", (r) => `${ms(p(r, (e) => e.fanoutMs, 50))} / ${ms(p(r, (e) => e.fanoutMs, 99))}`),
    row("    RDS bytes per pushed stream", (r) => bytes(r.edits[0] ? r.edits[0].pushBytes / Math.max(1, r.edits[0].pushes) : NaN)),
    row("(c) RSS growth per connected proxy", (r) => bytes(perProxy(r, "rss")), `< ${bytes(targets.bytesPerProxy)}`),
    row("    JS heap growth per proxy (after GC)", (r) => bytes(perProxy(r, "heapUsed"))),
    row("    external/ArrayBuffer growth per proxy", (r) => bytes(perProxy(r, "external"))),
    row("    RSS before clients -> after (MB)", (r) => `${(r.before.rss / 1048576).toFixed(0)} -> ${(r.after.rss / 1048576).toFixed(0)}`),
    row("(d) control-plane CPU per pushed stream, p50 (ms)", (r) => ms(p(r, (e) => e.cpuMs / Math.max(1, e.pushes), 50))),
    row("    fan-out only (first push -> last ACK), p50 (ms)", (r) => ms(p(r, (e) => e.fanoutCpuMs / Math.max(1, e.pushes), 50))),
    row("    streams pushed per edit", (r) => String(r.edits[0]?.pushes ?? 0)),
    row("stream failures / NACKs", (r) => `${r.failed} / ${r.nacks}`),
  ];
  const edit = source === "files"
    ? "edit = rewrite of traffic.yaml (file watch, 100 ms debounce, reload, translate, validate, publish, push, ACK)"
    : "edit = cache.setSnapshot of a prepared snapshot with one RouteConfiguration changed (push and ACK only)";
  printTable(`xds: source ${source}; ${edit}; p99 of ${results[0]?.edits.length ?? 0} edits is their maximum`,
    ["metric", ...results.map(col), "target"], rows);
  for (const r of results) if (r.firstError) console.log(`  ${col(r)}: first stream error: ${r.firstError}`);
}
