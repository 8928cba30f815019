/**
 * Helpers for the service's tests and benchmark: policies and requests as Envoy would send them, a
 * gRPC client, and a throwaway redis-server.
 */
import { spawn, spawnSync } from "node:child_process";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import type { KubeObject, LoadedResource } from "@waystation/api";
import { RateLimitRequestSchema, RateLimitService, type RateLimitRequest, type RateLimitResponse } from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { grpcServiceDefinition } from "@waystation/xds";
import { descriptorKeys, rateLimitDomain } from "@waystation/translator/ratelimit/descriptors";

/** A RateLimitPolicy as the loader would produce it. */
export function rateLimitPolicy(namespace: string, name: string, spec: Record<string, unknown>): LoadedResource {
  const object: KubeObject = { apiVersion: "waystation.io/v1alpha1", kind: "RateLimitPolicy", metadata: { name, namespace }, spec };
  return {
    key: { group: "waystation.io", kind: "RateLimitPolicy", namespace, name }, object,
    origin: { file: "test.yaml", line: 1, column: 1 },
    def: { group: "waystation.io", kind: "RateLimitPolicy", versions: ["v1alpha1"], namespaced: true },
  };
}

/** The descriptor Envoy builds for rule `id` at `service`, followed by the rule's other entries. */
export function descriptor(id: string, service: string, ...entries: [string, string][]): { key: string; value: string }[] {
  return [
    { key: descriptorKeys.rule, value: id },
    { key: descriptorKeys.service, value: service },
    ...entries.map(([key, value]) => ({ key, value })),
  ];
}

/** A ShouldRateLimit request with these descriptors. */
export function request(descriptors: { key: string; value: string }[][], hitsAddend = 0, domain = rateLimitDomain): RateLimitRequest {
  return create(RateLimitRequestSchema, { domain, hitsAddend, descriptors: descriptors.map((entries) => ({ entries })) });
}

/** A gRPC client of the service, as Envoy's rate limit filter calls it. */
export interface RateLimitClient {
  shouldRateLimit(req: RateLimitRequest, deadlineMs?: number): Promise<RateLimitResponse>;
  close(): void;
}

export function rateLimitClient(port: number, host = "127.0.0.1"): RateLimitClient {
  const Ctor = grpc.makeGenericClientConstructor(grpcServiceDefinition(RateLimitService) as grpc.ServiceDefinition, "RateLimitService");
  const client = new Ctor(`${host}:${port}`, grpc.credentials.createInsecure());
  return {
    shouldRateLimit: (req, deadlineMs = 5000) => new Promise((resolve, reject) => {
      (client as unknown as { shouldRateLimit: (r: RateLimitRequest, o: grpc.CallOptions, cb: (e: Error | null, res: RateLimitResponse) => void) => void })
        .shouldRateLimit(req, { deadline: Date.now() + deadlineMs }, (e, res) => (e ? reject(e) : resolve(res)));
    }),
    close: () => client.close(),
  };
}

/** Whether `redis-server` is on PATH. */
export function hasRedisServer(): boolean {
  return !spawnSync("redis-server", ["--version"], { stdio: "ignore" }).error;
}

/** A throwaway redis-server on a free loopback port, without persistence. */
export interface RedisProcess {
  port: number;
  url: string;
  /** SIGKILLs it (idempotent) and resolves when it has exited. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open but nothing answers (a hung server). */
  pause(): void;
  resume(): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts redis-server (it needs a concrete port: a free one is picked unless `port` is given) and
 * waits until it accepts commands.
 */
export async function startRedis(port?: number, timeoutMs = 5000): Promise<RedisProcess> {
  port ??= await freePort();
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  child.stdout.on("data", (b: Buffer) => { output += b.toString(); });
  child.stderr.on("data", (b: Buffer) => { output += b.toString(); });
  const proc: RedisProcess = {
    port, url: `redis://127.0.0.1:${port}`,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
    pause: () => { child.kill("SIGSTOP"); },
    resume: () => { child.kill("SIGCONT"); },
  };
  const deadline = Date.now() + timeoutMs;
  while (!output.includes("Ready to accept connections")) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await proc.kill();
      throw new Error(`redis-server on port ${port} did not start: ${output.trim().split("\n").slice(-3).join(" | ")}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return proc;
}
