/**
 * `waystation translate --config <dir> --proxy <node id>`: prints exactly what that proxy would be
 * sent, in Envoy's JSON form (or YAML), after strict validation; exits 1 if validation fails.
 */
import { Command, Option } from "commander";
import { stringify } from "yaml";
import { formatValidationError, validateSnapshot } from "@waystation/translator/validate";
import { toEnvoyJson, translateFor, type ResourceType } from "@waystation/translator";
import { loadMesh } from "../loadMesh.js";

const typeNames: Record<string, ResourceType[]> = {
  cds: ["clusters"], eds: ["endpoints"], lds: ["listeners"], rds: ["routes"], sds: ["secrets"],
  all: ["clusters", "endpoints", "listeners", "routes", "secrets"],
};

export function translateCommand(setExit: (code: number) => void, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Command {
  return new Command("translate")
    .description("print the xDS configuration a proxy would receive")
    .requiredOption("-c, --config <paths...>", "manifest files or directories")
    .requiredOption("-p, --proxy <node-id>", "the proxy's node id, e.g. waypoint~10.0.0.9~waypoint-0.bookinfo~bookinfo.svc.cluster.local")
    .option("-R, --recursive", "also read subdirectories")
    .addOption(new Option("-t, --type <type>", "resource type").choices(Object.keys(typeNames)).default("all"))
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json"]).default("yaml"))
    .action(async (opts: { config: string[]; proxy: string; recursive?: boolean; type: string; output: "yaml" | "json" }) => {
      const { model } = await loadMesh(opts.config, opts.recursive ?? false, err);
      const t = translateFor(model, { id: opts.proxy });
      if (t.error) {
        err.write(`waystation: ${t.error}\n`);
        setExit(1);
        return;
      }
      for (const c of t.conditions) err.write(`${c.resource.kind} ${c.resource.namespace}/${c.resource.name}: ${c.type}=${c.status} ${c.reason}: ${c.message}\n`);
      const errors = validateSnapshot(t.resources, { external: { secrets: ["default", "ROOTCA"] } });
      for (const e of errors) err.write(`invalid: ${formatValidationError(e)}\n`);
      const doc = toEnvoyJson(t.resources, typeNames[opts.type]);
      out.write(opts.output === "json" ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 }));
      setExit(errors.length > 0 ? 1 : 0);
    });
}
