/**
 * `waystation ratelimit --config <dir>`: the global rate limit service on its own (serve runs it in
 * process by default), for running several replicas against one Redis.
 */
import { Command } from "commander";
import { FileSource, jsonLogger } from "@waystation/controller";
import { startRateLimitService } from "@waystation/ratelimit";

export function rateLimitCommand(setExit: (code: number) => void, err: NodeJS.WritableStream): Command {
  return new Command("ratelimit")
    .description("run the global rate limit service (envoy.service.ratelimit.v3) for the RateLimitPolicies in a directory")
    .requiredOption("-c, --config <paths...>", "manifest files or directories")
    .option("-R, --recursive", "also read subdirectories")
    .option("--port <port>", "gRPC port", (v) => Number(v), 8081)
    .option("--host <address>", "address to listen on", "0.0.0.0")
    .option("--redis <url>", "keep counters in Redis, shared by every replica (e.g. redis://127.0.0.1:6379); in memory without it")
    .action(async (opts: { config: string[]; recursive?: boolean; port: number; host: string; redis?: string }) => {
      const logger = jsonLogger("info", err, "waystation-ratelimit");
      const source = new FileSource(opts.config, { recursive: opts.recursive ?? false, logger });
      const rls = await startRateLimitService({ port: opts.port, host: opts.host, logger, ...(opts.redis ? { redisUrl: opts.redis } : {}) });
      const first = await source.watch((s) => rls.setPolicies(s.resources));
      rls.setPolicies(first.resources);
      err.write(`waystation: rate limit service on ${opts.host}:${rls.port}, counters ${opts.redis ? `in Redis (${opts.redis})` : "in memory"} (Ctrl-C stops)\n`);
      await new Promise<void>((resolve) => {
        const stop = () => { source.close(); rls.close().then(resolve, resolve); };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      setExit(0);
    });
}
