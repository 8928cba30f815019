/**
 * `waystation validate <dir-or-file>...`: loads manifests, prints one line per problem and a
 * summary; exits 0 only when every document is valid (warnings do not fail).
 */
import { Command, Option } from "commander";
import { formatProblem, formatPath } from "@waystation/api";
import { FileSource } from "@waystation/controller";
import { meshSummary } from "../summary.js";

export function validateCommand(setExit: (code: number) => void, out: NodeJS.WritableStream): Command {
  return new Command("validate")
    .description("check manifests and report every problem as file:line:column with the field path")
    .argument("<paths...>", "manifest files or directories (their .yaml, .yml and .json files)")
    .option("-R, --recursive", "also read the subdirectories of directories, like kubectl apply -R")
    .addOption(new Option("-o, --output <format>", "output format").choices(["text", "json"]).default("text"))
    .option("-q, --quiet", "print problems and the summary line only")
    .action(async (paths: string[], opts: { output: "text" | "json"; quiet?: boolean; recursive?: boolean }) => {
      const snap = await new FileSource(paths, { recursive: opts.recursive ?? false }).load();
      const errors = snap.problems.filter((p) => p.severity === "error");
      setExit(errors.length > 0 || snap.invalidCount > 0 ? 1 : 0);
      const valid = snap.resources.length;
      if (opts.output === "json") {
        out.write(JSON.stringify({
          valid,
          invalid: snap.invalidCount,
          ignored: snap.ignored.length,
          resources: snap.resources.map((r) => ({ ...r.key, file: r.origin.file, line: r.origin.line })),
          problems: snap.problems.map((p) => ({ ...p.origin, severity: p.severity, resource: p.resource, path: formatPath(p.path), message: p.message })),
          ignoredDocuments: snap.ignored.map((i) => ({ ...i.origin, reason: i.reason })),
        }, null, 2) + "\n");
        return;
      }
      for (const p of snap.problems) out.write(formatProblem(p) + "\n");
      if (!opts.quiet) {
        for (const i of snap.ignored) out.write(`${i.origin.file}:${i.origin.line}:${i.origin.column} ignored: ${i.reason}\n`);
        if (valid > 0) for (const line of meshSummary(snap.resources)) out.write(`${line}\n`);
      }
      const ignored = snap.ignored.length > 0 ? `, ${snap.ignored.length} ignored` : "";
      out.write(`${valid} resources valid, ${snap.invalidCount} invalid${ignored}\n`);
    });
}
