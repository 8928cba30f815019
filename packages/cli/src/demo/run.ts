/**
 * `waystation demo`, composed: the control plane (`waystation serve`, xDS and the CA over TLS) and
 * one ztunnel per node (`waystation ztunnel --xds --ca`, certificates by impersonation with a node
 * token) as child processes, the echo apps in this process, every port chosen free. Node tokens
 * are made up for the run and written to a private temporary directory with the logs.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertificateAuthority } from "@waystation/pki";
import { AccessLogs } from "./accessLogs.js";
import { Child } from "./child.js";
import { startEchoApp, type EchoApp } from "./echoApp.js";
import type { DemoPlan } from "./plan.js";
import { freePort, freePortOnAll } from "./ports.js";

/** How long a child may take to start (tsx compiles on first run; the machine may be busy). */
const START_MS = 90_000;

/** One node's running ztunnel. */
export interface DemoNode {
  readonly name: string;
  readonly child: Child;
  readonly socks5: { host: string; port: number };
  readonly metrics: string;
}

/** The running demo. */
export class RunningDemo {
  readonly logs = new AccessLogs();
  readonly apps = new Map<string, EchoApp>();
  readonly nodes: DemoNode[] = [];
  controlPlane: Child | undefined;
  endpoints = { xds: "", monitor: "" };
  hbonePort = 0;
  #children: Child[] = [];
  readonly #killOnExit = () => { for (const c of this.#children) c.kill(); };

  private constructor(readonly plan: DemoPlan, readonly configDir: string, readonly workDir: string) {
    process.on("exit", this.#killOnExit);
  }

  /** Starts everything; on failure, stops what started and rethrows. */
  static async start(plan: DemoPlan, configDir: string): Promise<RunningDemo> {
    const demo = new RunningDemo(plan, configDir, await mkdtemp(join(tmpdir(), "waystation-demo-")));
    try {
      await demo.#start();
      return demo;
    } catch (e) {
      await demo.close(true);
      throw e;
    }
  }

  async #start(): Promise<void> {
    const dir = this.workDir;
    for (const a of this.plan.apps) this.apps.set(`${a.pod.ip}:${a.port}`, await startEchoApp(`${a.pod.namespace}/${a.pod.name}`, a.pod.ip, a.port));

    // Node credentials (packages/pki/README.md): one random token per node's ztunnel.
    const tokens = new Map(this.plan.nodes.map((n) => [n.name, randomBytes(16).toString("hex")]));
    const credentials = join(dir, "node-credentials.yaml");
    await writeFile(credentials, `tokens:\n${[...tokens].map(([node, t]) => `  "${t}": { kind: ztunnel, node: ${node} }\n`).join("")}`, { mode: 0o600 });
    for (const [node, t] of tokens) await writeFile(join(dir, `${node}.token`), `${t}\n`, { mode: 0o600 });

    // The CA's root is made here, in the state directory the control plane then loads, so the
    // ztunnels can start at the same time as the control plane: they need the root to verify it.
    // Until it serves, they retry (xDS backoff from 500 ms).
    await CertificateAuthority.start({ stateDir: join(dir, "ca") });
    const [securePort, monitorPort] = [await freePort(), await freePort()];
    // The serving certificate names localhost (not 127.0.0.1): ztunnels dial it by that name.
    this.endpoints = { xds: `localhost:${securePort}`, monitor: `http://127.0.0.1:${monitorPort}` };
    const cp = this.#spawn("control plane", "control-plane", [
      "serve", "--config", this.configDir, "--host", "127.0.0.1", "--xds-port", "0", "--secure-xds-port", String(securePort),
      "--monitor-port", String(monitorPort), "--ratelimit-port=-1", "--state-dir", join(dir, "ca"), "--node-credentials", credentials,
    ]);
    this.controlPlane = cp;
    const serving = cp.waitFor("its \"serving\" log line", (l) => (parseJson(l)?.msg === "serving" ? true : undefined), START_MS);

    this.hbonePort = await freePortOnAll(this.plan.nodes.flatMap((n) => n.pods.map((p) => p.ip)));
    const started = this.plan.nodes.map(async (n) => {
      const socks5 = { host: "127.0.0.1", port: await freePort() };
      // The ztunnel binds metrics and readiness on every address.
      const [metrics, ready] = [await freePort("0.0.0.0"), await freePort("0.0.0.0")];
      const child = this.#spawn(`ztunnel ${n.name}`, `ztunnel-${n.name}`, [
        "ztunnel", "--node", n.name, "--xds", this.endpoints.xds, "--ca", this.endpoints.xds,
        "--root-cert", join(dir, "ca", "root-cert.pem"), "--token-file", join(dir, `${n.name}.token`),
        "--pod-name", `ztunnel-${n.name}`, "--instance-ip", "127.0.0.1",
        "--hbone-port", String(this.hbonePort), "--socks5-port", String(socks5.port),
        "--metrics-port", String(metrics), "--readiness-port", String(ready), "--admin-port", "0",
      ]);
      child.onLog(this.logs.sink(n.name));
      await untilReady(child, `http://127.0.0.1:${ready}/healthz/ready`, START_MS);
      this.nodes.push({ name: n.name, child, socks5, metrics: `http://127.0.0.1:${metrics}/metrics` });
    });
    await Promise.all([serving, ...started]);
    this.nodes.sort((a, b) => a.name.localeCompare(b.name));
  }

  #spawn(name: string, file: string, args: string[]): Child {
    const c = new Child(name, [...args, "--log-level", "info"], join(this.workDir, `${file}.log`));
    this.#children.push(c);
    return c;
  }

  /** Stops the ztunnels, then the control plane, then the apps; removes the work directory unless `keep`. */
  async close(keep = false): Promise<void> {
    const ztunnels = this.#children.filter((c) => c !== this.controlPlane);
    await Promise.all(ztunnels.map((c) => c.stop()));
    await this.controlPlane?.stop();
    await Promise.all([...this.apps.values()].map((a) => a.close()));
    process.off("exit", this.#killOnExit);
    if (!keep) await rm(this.workDir, { recursive: true, force: true });
  }
}

function parseJson(l: string): Record<string, unknown> | undefined {
  if (!l.startsWith("{")) return undefined;
  try {
    return JSON.parse(l) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Polls a readiness URL until 200; fails early if the child exits. */
async function untilReady(child: Child, url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let last = "";
  while (Date.now() < deadline) {
    if (!child.running()) throw new Error(`${child.name} exited while starting; see ${child.logFile}`);
    try {
      const res = await fetch(url);
      last = `${res.status} ${(await res.text()).trim()}`;
      if (res.ok) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${child.name} not ready within ${ms} ms (${url}: ${last}); see ${child.logFile}`);
}
