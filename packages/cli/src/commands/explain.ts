/** `waystation explain service|workload <name.namespace> --config <dir>`: why it uses the waypoint it does. */
import { Command } from "commander";
import { explainService, explainWorkload } from "@waystation/model";
import { loadMesh } from "../loadMesh.js";

export function explainCommand(setExit: (code: number) => void, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Command {
  return new Command("explain")
    .description("explain which waypoint serves a service or workload, why, and which policies attach")
    .argument("<kind>", "service or workload")
    .argument("<name>", "name.namespace, or a service host name")
    .requiredOption("-c, --config <paths...>", "manifest files or directories")
    .option("-R, --recursive", "also read subdirectories")
    .action(async (kind: string, name: string, opts: { config: string[]; recursive?: boolean }) => {
      if (kind !== "service" && kind !== "workload") {
        err.write(`waystation: explain takes "service" or "workload", not ${JSON.stringify(kind)}\n`);
        setExit(2);
        return;
      }
      const { model } = await loadMesh(opts.config, opts.recursive ?? false, err);
      const lines = kind === "service" ? explainService(model, name) : explainWorkload(model, name);
      if (!lines) {
        err.write(`waystation: no ${kind} ${name} in ${opts.config.join(", ")}\n`);
        setExit(1);
        return;
      }
      for (const l of lines) out.write(`${l}\n`);
      setExit(0);
    });
}
