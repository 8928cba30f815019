import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { RateLimitResponse_Code as Code } from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { startRateLimitService, type RateLimitServer } from "./server.js";
import { descriptor, rateLimitClient, rateLimitPolicy, request, type RateLimitClient } from "./testing.js";

describe("rate limit gRPC service (memory counters)", () => {
  const open: { servers: RateLimitServer[]; clients: RateLimitClient[] } = { servers: [], clients: [] };
  after(async () => {
    for (const c of open.clients) c.close();
    await Promise.all(open.servers.map((s) => s.close()));
  });

  it("serves ShouldRateLimit on a free port and picks up new policies", async () => {
    const logs: string[] = [];
    const logger = { debug() {}, info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
    const server = await startRateLimitService({ port: 0, host: "127.0.0.1", logger });
    open.servers.push(server);
    assert.ok(server.port > 0);
    const client = rateLimitClient(server.port);
    open.clients.push(client);
    const d = descriptor("shop/api/per-key", "api.shop.svc.cluster.local", ["header.x-api-key", "k1"]);

    assert.equal((await client.shouldRateLimit(request([d]))).overallCode, Code.OK, "no policy yet: no limit");
    server.setPolicies([rateLimitPolicy("shop", "api", { targetRefs: [], global: { rules: [{ name: "per-key", descriptor: [{ header: { name: "x-api-key" } }], limit: { requests: 2, unit: "hour" } }] } })]);
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push(Code[(await client.shouldRateLimit(request([d]))).overallCode]);
    assert.deepEqual(codes, ["OK", "OK", "OVER_LIMIT"]);

    assert.deepEqual(server.status(), { healthy: true, store: "memory", window: "fixed", rules: 1 });
    const s = server.stats();
    assert.deepEqual([s.requests, s.ok, s.overLimit, s.unmatched], [4, 3, 1, 1]);
    assert.equal(s.decisionSeconds.count, 4);
    assert.ok(s.decisionSeconds.buckets.at(-1)!.count <= 4 && s.decisionSeconds.sum > 0);
    assert.ok(logs.includes("rate limit service listening"));
  });

  it("says which address it could not listen on", async () => {
    const first = await startRateLimitService({ port: 0, host: "127.0.0.1" });
    open.servers.push(first);
    await assert.rejects(startRateLimitService({ port: first.port, host: "127.0.0.1" }), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}`));
  });
});
