/**
 * Benchmark of the rate limit service: the service runs in this process, load generators in
 * forked ones (so they do not share its event loop), for a few seconds per row.
 *
 *   node --import tsx packages/ratelimit/bench/rls.bench.ts [seconds=5] [in-flight per generator=32] [generators=2]
 *
 * Each call carries one descriptor of a per-user rule (10,000 users, a limit high enough that
 * calls are allowed, as in steady state). The generators send pre-encoded requests over a
 * raw-bytes grpc-js client (what Envoy sends, without paying protobuf-es on the client side too)
 * and read overall_code from the reply. Latency is what a generator sees: gRPC both ways plus the
 * decision. Rows:
 *   grpc-js echo       a do-nothing service with the same client: the transport's ceiling here
 *   memory/redis, gRPC the real service
 *   ..., in process    the decision alone (memory: one call at a time; Redis: many in flight)
 * Redis rows run only if redis-server is installed (a throwaway one on a free port).
 */
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { toBinary } from "@bufbuild/protobuf";
import { RateLimitRequestSchema } from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { RateLimiter } from "../src/limiter.js";
import { MemoryStore } from "../src/memoryStore.js";
import { RedisStore } from "../src/redisStore.js";
import { startRateLimitService } from "../src/server.js";
import type { CounterStore } from "../src/store.js";
import { descriptor, hasRedisServer, rateLimitPolicy, request, startRedis } from "../src/testing.js";

interface Run { latencies: number[]; errors: number; overLimit: number; seconds: number }
interface Row { calls: number; rate: number; errors: number; p50: number; p99: number; max: number; cpuUs?: number }

/** `f`'s result, with the CPU time this process (the service's) spent per call while it ran. */
async function withCpu(f: () => Promise<Row>): Promise<Row> {
  const before = process.cpuUsage();
  const r = await f();
  const used = process.cpuUsage(before);
  return { ...r, cpuUs: (used.user + used.system) / Math.max(1, r.calls) };
}

const rlsPath = "/envoy.service.ratelimit.v3.RateLimitService/ShouldRateLimit";
const echoPath = "/bench.Echo/Call";
const svc = "api.bench.svc.cluster.local";
const policies = [rateLimitPolicy("bench", "api", {
  targetRefs: [],
  global: { rules: [{ name: "per-user", descriptor: [{ header: { name: "x-user-id" } }], limit: { requests: 1_000_000, unit: "minute" } }] },
})];
const userRequests = () => Array.from({ length: 10_000 }, (_, i) => request([descriptor("bench/api/per-user", svc, ["header.x-user-id", `user-${i}`])]));

const raw = (path: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path, requestStream: false, responseStream: false,
  requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b,
});

/** `concurrency` loops calling `call` until `seconds` have passed; `call` resolves to the overall code. */
async function drive(seconds: number, concurrency: number, call: (i: number) => Promise<number>): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0, overLimit = 0, n = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        if ((await call(n++)) === 2) overLimit++;
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  }));
  return { latencies, errors, overLimit, seconds: (performance.now() - start) / 1000 };
}

/** Child: `concurrency` calls in flight over 4 channels to `path`, with raw bytes. */
async function generate(path: string, port: number, seconds: number, concurrency: number): Promise<Run> {
  const Ctor = grpc.makeGenericClientConstructor({ call: raw(path) }, "Bench");
  type RawClient = { call(b: Buffer, cb: (e: Error | null, r?: Buffer) => void): void; close(): void };
  // A distinct option per channel, so they do not share one connection.
  const clients = Array.from({ length: 4 }, (_, i) => new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { "grpc.enable_channelz": 0, "bench.channel": i }) as unknown as RawClient);
  const bodies = path === rlsPath ? userRequests().map((r) => Buffer.from(toBinary(RateLimitRequestSchema, r))) : [Buffer.alloc(120, 2)];
  // RateLimitResponse starts with overall_code (field 1, varint): 0x08, then the code.
  const call = (i: number) => new Promise<number>((resolve, reject) =>
    clients[i % 4]!.call(bodies[i % bodies.length]!, (e, r) => (e ? reject(e) : resolve(r && r[0] === 0x08 ? r[1]! : 0))));
  await Promise.all(clients.map((_, i) => call(i)));
  const run = await drive(seconds, concurrency, call);
  for (const c of clients) c.close();
  return run;
}

/** Parent: `generators` forked load generators against `port`; their runs merged. */
async function measure(path: string, port: number, seconds: number, concurrency: number, generators: number): Promise<Row> {
  const runs = await Promise.all(Array.from({ length: generators }, () => new Promise<Run>((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ["--generate", path, String(port), String(seconds), String(concurrency)], { execArgv: ["--import", "tsx"] });
    child.once("message", (m) => resolve(m as Run));
    child.once("error", reject);
    child.once("exit", (code) => { if (code !== 0) reject(new Error(`load generator exited with ${code}`)); });
  })));
  return row(runs);
}

function row(runs: Run[]): Row {
  const all = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const q = (p: number) => all[Math.min(all.length - 1, Math.floor(p * all.length))] ?? NaN;
  return {
    calls: all.length, rate: runs.reduce((s, r) => s + r.latencies.length / r.seconds, 0),
    errors: runs.reduce((s, r) => s + r.errors, 0), p50: q(0.5), p99: q(0.99), max: all.at(-1) ?? NaN,
  };
}

/** The decision alone, in this process: no gRPC. */
async function inProcess(store: CounterStore, seconds: number, concurrency: number): Promise<Row> {
  const limiter = new RateLimiter({ store });
  limiter.setPolicies(policies);
  const requests = userRequests();
  return row([await drive(seconds, concurrency, async (i) => (await limiter.shouldRateLimit(requests[i % requests.length]!)).overallCode)]);
}

async function main(seconds: number, concurrency: number, generators: number): Promise<void> {
  const rows: [string, Row][] = [];

  const echo = new grpc.Server({ "grpc.enable_channelz": 0 });
  const reply = Buffer.alloc(40, 1);
  echo.addService({ call: raw(echoPath) }, { call: (_: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, reply) });
  const echoPort = await new Promise<number>((resolve, reject) => echo.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  try {
    rows.push(["grpc-js echo", await withCpu(() => measure(echoPath, echoPort, seconds, concurrency, generators))]);
  } finally {
    echo.forceShutdown();
  }

  const memory = await startRateLimitService({ port: 0, host: "127.0.0.1", policies });
  try {
    rows.push(["memory, gRPC", await withCpu(() => measure(rlsPath, memory.port, seconds, concurrency, generators))]);
  } finally {
    await memory.close();
  }
  rows.push(["memory, in process", await withCpu(() => inProcess(new MemoryStore(), seconds, 1))]);

  if (hasRedisServer()) {
    const redis = await startRedis();
    try {
      const withRedis = await startRateLimitService({ port: 0, host: "127.0.0.1", policies, redisUrl: redis.url, redisTimeoutMs: 1000 });
      try {
        rows.push(["redis, gRPC", await withCpu(() => measure(rlsPath, withRedis.port, seconds, concurrency, generators))]);
      } finally {
        await withRedis.close();
      }
      const store = new RedisStore({ url: redis.url, commandTimeoutMs: 1000 });
      await store.connect();
      rows.push(["redis, in process", await withCpu(() => inProcess(store, seconds, concurrency * generators))]);
      await store.close();
    } finally {
      await redis.kill();
    }
  } else {
    process.stdout.write("redis-server not installed: Redis rows skipped (apt-get install redis-server)\n");
  }

  const fmt = (x: number) => x.toFixed(3).padStart(7);
  process.stdout.write([
    `rate limit service: ${seconds} s per row, 1 descriptor per call; gRPC rows: ${generators} forked generators x ${concurrency} calls in flight`,
    "(service CPU/call: CPU time of the service's process per call, which other load on the machine does not inflate; 1e6 / it = calls/s one core could serve)",
    "| run                | decisions/s |   calls | errors |  p50 ms |  p99 ms |  max ms | service CPU/call µs |",
    "| ------------------ | ----------- | ------- | ------ | ------- | ------- | ------- | ------------------- |",
    ...rows.map(([name, r]) => `| ${name.padEnd(18)} | ${String(Math.round(r.rate)).padStart(11)} | ${String(r.calls).padStart(7)} | ${String(r.errors).padStart(6)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.max)} | ${(r.cpuUs ?? NaN).toFixed(1).padStart(19)} |`),
  ].join("\n") + "\n");
}

if (process.argv[2] === "--generate") {
  const [path, port, seconds, concurrency] = process.argv.slice(3) as [string, string, string, string];
  const run = await generate(path, Number(port), Number(seconds), Number(concurrency));
  process.send!(run, () => process.exit(0));
} else {
  const [seconds = 5, concurrency = 32, generators = 2] = process.argv.slice(2).map(Number);
  await main(seconds, concurrency, generators);
}
