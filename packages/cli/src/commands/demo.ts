/**
 * `waystation demo [--once]`: the control plane, one Node ztunnel per node and the sample apps of
 * examples/demo on loopback (every port chosen free), then a request that goes through HBONE/mTLS
 * and one that L4 policy denies, each shown with what both ztunnels logged. With --once it exits
 * (0 when both did what the policy says); otherwise it keeps running until Ctrl-C.
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { formatProblem } from "@waystation/api";
import { FileSource } from "@waystation/controller";
import { buildModel } from "@waystation/model";
import type { AccessEntry } from "../demo/accessLogs.js";
import { planDemo, type DemoPlan } from "../demo/plan.js";
import { RunningDemo } from "../demo/run.js";
import { runScenario } from "../demo/scenario.js";

/** The bundled demo mesh of this checkout. */
const defaultConfig = fileURLToPath(new URL("../../../../examples/demo", import.meta.url));

export function demoCommand(setExit: (code: number) => void, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Command {
  return new Command("demo")
    .description("run the control plane, a ztunnel per node and sample apps on loopback (examples/demo), and show an mTLS request and one denied by L4 policy")
    .option("-c, --config <dir>", "the demo mesh (pods on 127.x addresses, a Service, the policies)", defaultConfig)
    .option("--once", "run the scenario, print it and exit (0 when it did what the policies say)")
    .action(async (opts: { config: string; once?: boolean }) => {
      const shown = displayPath(opts.config);
      const snapshot = await new FileSource([opts.config], { recursive: false }).load();
      if (snapshot.problems.length > 0 || snapshot.resources.length === 0) {
        for (const p of snapshot.problems) err.write(`${formatProblem(p)}\n`);
        err.write(`waystation demo: ${shown} ${snapshot.resources.length === 0 ? "holds no resources" : "has problems"}; \`waystation validate ${shown}\` shows them\n`);
        return setExit(1);
      }
      const planned = planDemo(buildModel(snapshot.resources));
      if ("errors" in planned) {
        for (const e of planned.errors) err.write(`waystation demo: ${shown}: ${e}\n`);
        return setExit(1);
      }
      const { plan } = planned;
      out.write(`Waystation demo: ${shown}\nStarting the control plane and ${plan.nodes.length} ztunnels (child processes) and ${plan.apps.length} app(s) ...\n`);
      let demo: RunningDemo;
      try {
        demo = await RunningDemo.start(plan, opts.config);
      } catch (e) {
        err.write(`waystation demo: ${(e as Error).message}\n`);
        return setExit(1);
      }
      out.write(`${describe(demo, plan).join("\n")}\n\n`);
      const result = await runScenario({ plan, socks5: new Map(demo.nodes.map((n) => [n.name, n.socks5])), apps: demo.apps, logs: demo.logs });
      out.write(`${result.lines.join("\n")}\n`);
      if (opts.once) {
        await demo.close(!result.ok);
        if (!result.ok) err.write(`waystation demo: logs kept in ${demo.workDir}\n`);
        return setExit(result.ok ? 0 : 1);
      }
      out.write(`\n${tryIt(demo, plan).join("\n")}\n`);
      const stopLive = demo.logs.subscribe((e) => out.write(`${liveLine(e)}\n`));
      const why = await untilStopped(demo);
      stopLive();
      out.write(`\n${why}; stopping ...\n`);
      await demo.close();
      setExit(result.ok && why.startsWith("SIG") ? 0 : 1);
    });
}

function displayPath(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith("..") ? r : p;
}

function describe(demo: RunningDemo, plan: DemoPlan): string[] {
  const col = (s: string) => `  ${s.padEnd(16)}`;
  return [
    `${col("control plane")}xDS + CA (TLS) at ${demo.endpoints.xds}, monitoring ${demo.endpoints.monitor}/debug/syncz  (pid ${demo.controlPlane?.pid})`,
    ...demo.nodes.map((n) => {
      const pods = plan.nodes.find((x) => x.name === n.name)!.pods.map((p) => `${p.ip} ${p.namespace}/${p.name}`);
      return `${col(`ztunnel ${n.name}`)}SOCKS5 ${n.socks5.host}:${n.socks5.port}, HBONE :${demo.hbonePort} on ${pods.join(", ")}  (pid ${n.child.pid})`;
    }),
    ...plan.apps.map((a) => `${col(`app ${a.pod.app}`)}HTTP echo on ${a.pod.ip}:${a.port} (${a.pod.node}), behind ${a.service}:${a.servicePort}`),
    `${col("logs")}${demo.workDir}`,
  ];
}

function tryIt(demo: RunningDemo, plan: DemoPlan): string[] {
  const lines = ["Try it (curl binds the client pod's IP; the ztunnel on its node takes that pod as the source):"];
  for (const r of plan.requests) {
    const socks = demo.nodes.find((n) => n.name === r.from.node)!.socks5;
    lines.push(`  curl --interface ${r.from.ip} --socks5-hostname ${socks.host}:${socks.port} http://${r.host}${r.port === 80 ? "" : `:${r.port}`}/    # as ${r.from.identity}: ${r.expect}`);
  }
  lines.push(...demo.nodes.map((n) => `  curl -s ${n.metrics} | grep istio_tcp_connections_opened    # ztunnel ${n.name}'s Istio TCP metrics`));
  lines.push(`  npx waystation status --monitor ${demo.endpoints.monitor}`, "Access records follow as they arrive. Ctrl-C stops everything.");
  return lines;
}

function liveLine(e: AccessEntry): string {
  const r = e.record, s = (k: string) => (r[k] === undefined ? "-" : String(r[k]));
  const bytes = r.bytes_sent !== undefined ? ` sent ${s("bytes_sent")} B, received ${s("bytes_recv")} B` : "";
  return `[${e.node}] ${s("direction")} ${s("src.addr")} ${s("src.identity")} -> ${s("dst.hbone_addr") !== "-" ? s("dst.hbone_addr") : s("dst.addr")} ${s("dst.identity")}${bytes}${r.error ? `  error: ${s("error")}` : ""}`;
}

/** Resolves with the signal name, or the child that exited on its own. */
function untilStopped(demo: RunningDemo): Promise<string> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals) => { process.off("SIGINT", onSignal); process.off("SIGTERM", onSignal); resolve(sig); };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    for (const c of [demo.controlPlane!, ...demo.nodes.map((n) => n.child)]) {
      void c.exited.then((code) => { process.off("SIGINT", onSignal); process.off("SIGTERM", onSignal); resolve(`${c.name} exited (code ${code}); see ${c.logFile}`); });
    }
  });
}
