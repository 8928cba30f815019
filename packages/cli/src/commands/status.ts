/** `waystation status`: what a running control plane serves: proxies, what each ACKed, NACKs, problems. */
import { Command, Option } from "commander";

interface Status {
  generation: number;
  problems: string[];
  stale: { resource: string; file: string; reason: string }[];
  conditions: { resource: string; type: string; status: string; reason: string; message: string }[];
  snapshots: { group: string; ok: boolean; errors: string[] }[];
  proxies: { node: string; variant: string; peer: string; types: Record<string, { state: string; acked: string; lastNack?: { message: string } }> }[];
  nacks: { node: string; type: string; version: string; nonce: string; message: string; time: number | string }[];
}

export function statusCommand(setExit: (code: number) => void, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Command {
  return new Command("status")
    .description("show a running control plane's proxies, their sync state, NACKs and configuration problems")
    .option("--monitor <url>", "the control plane's monitoring address", "http://127.0.0.1:15014")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .action(async (opts: { monitor: string; output: "text" | "json" }) => {
      let s: Status;
      try {
        const res = await fetch(new URL("/debug/status", opts.monitor));
        s = await res.json() as Status;
      } catch (e) {
        err.write(`waystation: cannot reach the control plane at ${opts.monitor} (${(e as Error).message}); is waystation serve running?\n`);
        setExit(1);
        return;
      }
      if (opts.output === "json") {
        out.write(`${JSON.stringify(s, null, 2)}\n`);
        setExit(0);
        return;
      }
      out.write(`configuration generation ${s.generation}: ${s.problems.length} problem(s), ${s.stale.length} stale resource(s)\n`);
      for (const p of s.problems) out.write(`  ${p}\n`);
      for (const snap of s.snapshots) out.write(`snapshot ${snap.group}: ${snap.ok ? "published" : `REFUSED (${snap.errors.length} errors; the last good one keeps serving)`}\n`);
      out.write(`proxies: ${s.proxies.length}\n`);
      for (const p of s.proxies) {
        const types = Object.entries(p.types).map(([t, v]) => `${t}=${v.state}${v.acked ? `@${v.acked.slice(0, 8)}` : ""}`).join(" ");
        out.write(`  ${p.node} (${p.variant}, ${p.peer}) ${types}\n`);
      }
      out.write(`nacks: ${s.nacks.length}\n`);
      for (const n of s.nacks) out.write(`  ${n.node} ${n.type} version ${n.version.slice(0, 8)} nonce ${n.nonce}: ${n.message}\n`);
      const bad = s.conditions.filter((c) => c.status === "False");
      if (bad.length > 0) out.write(`conditions:\n`);
      for (const c of bad) out.write(`  ${c.resource} ${c.type}=False ${c.reason}: ${c.message}\n`);
      setExit(s.nacks.length > 0 || s.snapshots.some((x) => !x.ok) ? 1 : 0);
    });
}
