// Two service replicas share one budget through a real redis-server; then Redis dies and each
// policy's failureMode decides, quickly, while status() reports the outage.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { RateLimitResponse_Code as Code } from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { startRateLimitService, type RateLimitServer } from "./server.js";
import { descriptor, hasRedisServer, rateLimitClient, rateLimitPolicy, request, startRedis, type RateLimitClient, type RedisProcess } from "./testing.js";

const svc = "reviews.bookinfo.svc.cluster.local";
const policies = [
  rateLimitPolicy("bookinfo", "per-user", { targetRefs: [], global: { failureMode: "open", rules: [{ name: "r", descriptor: [{ header: { name: "x-user-id" } }], limit: { requests: 10, unit: "minute" } }] } }),
  rateLimitPolicy("bookinfo", "strict", { targetRefs: [], global: { failureMode: "closed", rules: [{ name: "r", limit: { requests: 1000, unit: "minute" } }] } }),
];
const perUser = (user: string) => descriptor("bookinfo/per-user/r", svc, ["header.x-user-id", user]);
const strict = descriptor("bookinfo/strict/r", svc);

describe("rate limit service with Redis counters", () => {
  const installed = hasRedisServer();
  let redis: RedisProcess | undefined;
  const servers: RateLimitServer[] = [];
  const clients: RateLimitClient[] = [];
  // Both replicas read one clock, 30 s into a minute, so the 12 calls cannot straddle a window.
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const now = () => minute + 30_000;

  before(async () => {
    if (!installed) return;
    redis = await startRedis();
    for (let i = 0; i < 2; i++) {
      const s = await startRateLimitService({ port: 0, host: "127.0.0.1", redisUrl: redis.url, now, policies, redisTimeoutMs: 200 });
      servers.push(s);
      clients.push(rateLimitClient(s.port));
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.close()));
    await redis?.kill();
  });

  it("shares one budget between two replicas", async (t) => {
    if (!installed) return t.skip("redis-server not installed: apt-get install redis-server to run the shared-budget test");
    const [a, b] = clients as [RateLimitClient, RateLimitClient];
    assert.deepEqual(servers.map((s) => s.status().healthy), [true, true]);
    const user = `alice-${process.pid}`;
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) {
      for (const c of [a, b]) codes.push(Code[(await c.shouldRateLimit(request([perUser(user)]))).overallCode]!);
    }
    assert.deepEqual(codes.filter((c) => c === "OK").length, 10, codes.join(" "));
    assert.deepEqual(codes.slice(10), ["OVER_LIMIT", "OVER_LIMIT"], "the budget runs out on the 11th call, whichever replica takes it");
    const last = await b.shouldRateLimit(request([perUser(user)]));
    assert.equal(last.statuses[0]!.limitRemaining, 0);
    assert.equal(Number(last.statuses[0]!.durationUntilReset!.seconds), 30);
    const other = await a.shouldRateLimit(request([perUser(`bob-${process.pid}`)]));
    assert.equal(other.statuses[0]!.limitRemaining, 9, "another user has its own counter");
  });

  it("estimates a sliding window from the previous window's counter in Redis", async (t) => {
    if (!installed) return t.skip("redis-server not installed: apt-get install redis-server to run the shared-budget test");
    const clock = { t: minute - 60_000 + 50_000 };
    const s = await startRateLimitService({ port: 0, host: "127.0.0.1", redisUrl: redis!.url, now: () => clock.t, policies, window: "sliding" });
    servers.push(s);
    const c = rateLimitClient(s.port);
    clients.push(c);
    const user = `dave-${process.pid}`;
    for (let i = 0; i < 8; i++) assert.equal((await c.shouldRateLimit(request([perUser(user)]))).overallCode, Code.OK);
    // 30 s into the next minute half of the previous window still counts: 8 * 0.5 + n <= 10 for n <= 6.
    clock.t = minute + 30_000;
    const codes: string[] = [];
    for (let i = 0; i < 7; i++) codes.push(Code[(await c.shouldRateLimit(request([perUser(user)]))).overallCode]!);
    assert.deepEqual(codes, ["OK", "OK", "OK", "OK", "OK", "OK", "OVER_LIMIT"]);
  });

  it("fails open or closed per policy when Redis dies, without hanging, and reports it", async (t) => {
    if (!installed) return t.skip("redis-server not installed: apt-get install redis-server to run the shared-budget test");
    const a = clients[0]!;
    assert.equal((await a.shouldRateLimit(request([strict]))).overallCode, Code.OK, "closed policy, Redis up: counted, allowed");

    // A hung Redis (connection open, no answers): the 200 ms command timeout decides.
    redis!.pause();
    try {
      const t0 = Date.now();
      const [hungOpen, hungClosed] = await Promise.all([a.shouldRateLimit(request([perUser("erin")]), 2000), a.shouldRateLimit(request([strict]), 2000)]);
      const took = Date.now() - t0;
      assert.deepEqual([Code[hungOpen.overallCode], Code[hungClosed.overallCode]], ["OK", "OVER_LIMIT"]);
      assert.ok(took >= 150 && took < 1500, `answered in ${took} ms: after the command timeout, not before, not much later`);
      assert.equal(servers[0]!.status().healthy, false);
      assert.match(servers[0]!.status().lastError!.message, /timed out/i);
    } finally {
      redis!.resume();
    }
    assert.equal((await a.shouldRateLimit(request([strict]))).overallCode, Code.OK, "answers again once Redis does");
    assert.equal(servers[0]!.status().healthy, true);

    await redis!.kill();
    const started = Date.now();
    const open = await a.shouldRateLimit(request([perUser("carol")]), 2000);
    const closed = await a.shouldRateLimit(request([strict]), 2000);
    const elapsed = Date.now() - started;
    assert.equal(Code[open.overallCode], "OK", "failureMode open lets the request through");
    assert.equal(Code[closed.overallCode], "OVER_LIMIT", "failureMode closed rejects it");
    assert.ok(elapsed < 1000, `both answers took ${elapsed} ms`);
    const status = servers[0]!.status();
    assert.equal(status.healthy, false);
    assert.equal(status.store, "redis");
    assert.ok(status.lastError && status.lastError.message.length > 0, JSON.stringify(status));
    const stats = servers[0]!.stats();
    assert.deepEqual([stats.storeErrors >= 2, stats.failedOpen >= 1, stats.failedClosed >= 1], [true, true, true]);
    // The replica that saw no request since the outage knows too: the client noticed the closed connection.
    const deadline = Date.now() + 2000;
    while (servers[1]!.status().healthy && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(servers[1]!.status().healthy, false);

    // Redis comes back on the same port: the client reconnects by itself (backoff at most 2 s).
    redis = await startRedis(redis!.port);
    const back = Date.now() + 5000;
    while (!servers[0]!.status().healthy && Date.now() < back) await new Promise((r) => setTimeout(r, 50));
    assert.equal(servers[0]!.status().healthy, true, "reconnected");
    const again = await a.shouldRateLimit(request([strict]));
    assert.equal(again.overallCode, Code.OK);
    assert.equal(again.statuses[0]!.limitRemaining, 999, "counting again, from an empty Redis");
  });
});
