/**
 * `waystation bootstrap --role waypoint --node-id <id> --xds host:port`: the Envoy bootstrap for a
 * proxy Waystation configures, validated strictly before it is printed.
 */
import { Command, Option } from "commander";
import { toJson } from "@bufbuild/protobuf";
import { stringify } from "yaml";
import { BootstrapSchema } from "@waystation/proto/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { envoyBootstrap } from "@waystation/translator";
import { formatValidationError, registry, validateResource } from "@waystation/translator/validate";

export function bootstrapCommand(setExit: (code: number) => void, out: NodeJS.WritableStream, err: NodeJS.WritableStream): Command {
  return new Command("bootstrap")
    .description("print the Envoy bootstrap for a waypoint (or another proxy) that Waystation configures")
    .addOption(new Option("--role <role>", "proxy role").choices(["waypoint", "router", "sidecar"]).default("waypoint"))
    .requiredOption("--node-id <id>", "the node id, e.g. waypoint~10.0.0.9~waypoint-0.bookinfo~bookinfo.svc.cluster.local")
    .option("--xds <host:port>", "Waystation's ADS address", "127.0.0.1:15010")
    .option("--xds-ca <file>", "verify the control plane over TLS with this CA bundle (use the 15012 port)")
    .option("--sotw", "State-of-the-World ADS instead of Delta")
    .addOption(new Option("-o, --output <format>", "output format").choices(["yaml", "json"]).default("json"))
    .action((opts: { role: string; nodeId: string; xds: string; xdsCa?: string; sotw?: boolean; output: "yaml" | "json" }) => {
      if (!opts.nodeId.startsWith(`${opts.role}~`)) {
        err.write(`waystation: the node id must start with "${opts.role}~" for role ${opts.role} (Istio's <type>~<ip>~<pod>.<ns>~<ns>.svc.cluster.local)\n`);
        setExit(2);
        return;
      }
      const b = envoyBootstrap({ nodeId: opts.nodeId, xds: opts.xds, delta: !opts.sotw, ...(opts.xdsCa ? { xdsCaFile: opts.xdsCa } : {}) });
      if ("error" in b) {
        err.write(`waystation: ${b.error}\n`);
        setExit(2);
        return;
      }
      const errors = validateResource(BootstrapSchema, b).errors;
      for (const e of errors) err.write(`invalid: ${formatValidationError(e)}\n`);
      const json = toJson(BootstrapSchema, b, { registry, useProtoFieldName: true });
      out.write(opts.output === "json" ? `${JSON.stringify(json, null, 2)}\n` : stringify(json, { lineWidth: 0 }));
      setExit(errors.length > 0 ? 1 : 0);
    });
}
