/**
 * `waystation serve --config <dir>`: the control plane in file mode. ADS on :15010, monitoring on
 * :15014; reloads when files change; stops gracefully on SIGINT/SIGTERM.
 */
import { Command, Option } from "commander";
import { ControlPlane, jsonLogger } from "@waystation/controller";

export function serveCommand(setExit: (code: number) => void, err: NodeJS.WritableStream): Command {
  return new Command("serve")
    .description("serve xDS for the mesh described by a directory of manifests, reloading on change")
    .requiredOption("-c, --config <paths...>", "manifest files or directories")
    .option("-R, --recursive", "also read subdirectories")
    .option("--xds-port <port>", "ADS (plaintext gRPC) port", (v) => Number(v), 15010)
    .option("--monitor-port <port>", "monitoring HTTP port (/metrics, /debug/...)", (v) => Number(v), 15014)
    .option("--host <address>", "address to listen on", "0.0.0.0")
    .option("--secure-xds-port <port>", "ADS and the CA over TLS (-1 turns it off)", (v) => Number(v), 15012)
    .option("--ratelimit-port <port>", "the global rate limit service (-1 turns it off)", (v) => Number(v), 8081)
    .option("--redis <url>", "keep rate limit counters in Redis (shared by replicas), e.g. redis://127.0.0.1:6379")
    .option("--state-dir <dir>", "where the CA keeps its root across restarts (in memory without it)")
    .option("--node-credentials <file>", "tokens of ztunnels and workloads allowed to ask the CA for certificates")
    .addOption(new Option("--log-level <level>", "log level").choices(["debug", "info", "warn", "error"]).default("info"))
    .action(async (opts: {
      config: string[]; recursive?: boolean; xdsPort: number; secureXdsPort: number; monitorPort: number; ratelimitPort: number; redis?: string;
      stateDir?: string; nodeCredentials?: string; host: string; logLevel: "debug" | "info" | "warn" | "error";
    }) => {
      const logger = jsonLogger(opts.logLevel, err, "waystation-serve");
      const cp = new ControlPlane({
        config: opts.config, recursive: opts.recursive ?? false, host: opts.host, logger,
        xdsPort: opts.xdsPort, secureXdsPort: opts.secureXdsPort, monitorPort: opts.monitorPort,
        rateLimit: { port: opts.ratelimitPort, ...(opts.redis ? { redisUrl: opts.redis } : {}) },
        ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
        ...(opts.nodeCredentials ? { nodeCredentials: opts.nodeCredentials } : {}),
      });
      await cp.start();
      err.write(`waystation: serving xDS on ${opts.host}:${cp.xdsPort}, monitoring on http://${opts.host === "0.0.0.0" ? "localhost" : opts.host}:${cp.monitorPort}/debug/syncz (Ctrl-C stops)\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info("shutting down", { signal });
          cp.close().then(resolve, resolve);
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
      });
      setExit(0);
    });
}
