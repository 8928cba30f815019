/** The `waystation` command: one subcommand per file in commands/. */
import { Command, CommanderError } from "commander";
import { bootstrapCommand } from "./commands/bootstrap.js";
import { demoCommand } from "./commands/demo.js";
import { explainCommand } from "./commands/explain.js";
import { rateLimitCommand } from "./commands/ratelimit.js";
import { ztunnelCommand } from "@waystation/ztunnel/cli";
import { serveCommand } from "./commands/serve.js";
import { statusCommand } from "./commands/status.js";
import { translateCommand } from "./commands/translate.js";
import { validateCommand } from "./commands/validate.js";

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: readonly string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  let code = 0;
  const program = new Command("waystation")
    .description("An ambient service mesh control plane: Istio and Gateway API resources in, Envoy xDS out.")
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  const setExit = (c: number) => { code = c; };
  program.addCommand(validateCommand(setExit, out));
  program.addCommand(translateCommand(setExit, out, err));
  program.addCommand(explainCommand(setExit, out, err));
  program.addCommand(serveCommand(setExit, err));
  program.addCommand(bootstrapCommand(setExit, out, err));
  program.addCommand(rateLimitCommand(setExit, err));
  program.addCommand(ztunnelCommand(setExit, err, out));
  program.addCommand(statusCommand(setExit, out, err));
  program.addCommand(demoCommand(setExit, out, err));
  try {
    await program.parseAsync(argv as string[]);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    err.write(`waystation: ${(e as Error).message}\n`);
    return 2;
  }
  return code;
}
