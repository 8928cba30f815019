import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RateLimitResponse_Code as Code, RateLimitResponse_RateLimit_Unit as Unit, type RateLimitResponse } from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { RateLimiter, type WindowKind } from "./limiter.js";
import { MemoryStore } from "./memoryStore.js";
import type { CounterStore } from "./store.js";
import { descriptor, rateLimitPolicy, request } from "./testing.js";

const svc = "reviews.bookinfo.svc.cluster.local";
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0); // on a whole hour: every window starts here

/** A limiter over a memory store with a clock the test moves. */
function setup(rules: Record<string, unknown>[], spec: Record<string, unknown> = {}, window: WindowKind = "fixed", store: CounterStore = new MemoryStore()) {
  const clock = { t: T0 };
  const limiter = new RateLimiter({ store, window, now: () => clock.t });
  limiter.setPolicies([rateLimitPolicy("bookinfo", "p", { targetRefs: [{ group: "", kind: "Service", name: "reviews" }], ...spec, global: { ...(spec.global as object), rules } })]);
  return { limiter, clock };
}

const codes = (r: RateLimitResponse) => [Code[r.overallCode], ...r.statuses.map((s) => Code[s.code])].join(" ");
async function run(l: RateLimiter, d: { key: string; value: string }[], n: number, hits = 0): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(Code[(await l.shouldRateLimit(request([d], hits))).overallCode]!);
  return out;
}
const limit = (requests: number, unit = "minute") => ({ requests, unit });

describe("rate limit service decisions (memory counters)", () => {
  it("limits one header value and leaves other values alone", async () => {
    const { limiter } = setup([{ name: "free", descriptor: [{ header: { name: "x-plan", value: "free" } }], limit: limit(2) }]);
    assert.deepEqual(await run(limiter, descriptor("bookinfo/p/free", svc, ["header.x-plan", "free"]), 3), ["OK", "OK", "OVER_LIMIT"]);
    const paid = await limiter.shouldRateLimit(request([descriptor("bookinfo/p/free", svc, ["header.x-plan", "paid"])]));
    assert.equal(codes(paid), "OK OK");
    assert.equal(paid.statuses[0]!.currentLimit, undefined, "no limit applies to another value");
    assert.equal(limiter.stats().unmatched, 1);
  });

  it("keeps one counter per distinct value, and per service", async () => {
    const { limiter } = setup([{ name: "per-user", descriptor: [{ header: { name: "x-user-id" } }], limit: limit(2) }]);
    const d = (user: string, host = svc) => descriptor("bookinfo/p/per-user", host, ["header.x-user-id", user]);
    assert.deepEqual(await run(limiter, d("alice"), 3), ["OK", "OK", "OVER_LIMIT"]);
    assert.deepEqual(await run(limiter, d("bob"), 2), ["OK", "OK"]);
    assert.deepEqual(await run(limiter, d("alice", "ratings.bookinfo.svc.cluster.local"), 1), ["OK"]);
    const r = await limiter.shouldRateLimit(request([d("bob")]));
    assert.deepEqual(r.statuses[0]!.currentLimit, { $typeName: "envoy.service.ratelimit.v3.RateLimitResponse.RateLimit", name: "bookinfo/p/per-user", requestsPerUnit: 2, unit: Unit.MINUTE });
    assert.deepEqual(limiter.stats().rules, { "bookinfo/p/per-user": { hits: 7, overLimit: 2, shadowOverLimit: 0 } });
  });

  it("counts paths without their query string, and only the configured path when it has a value", async () => {
    const { limiter } = setup([
      { name: "any-path", descriptor: [{ path: {} }], limit: limit(2) },
      { name: "export", descriptor: [{ path: { value: "/export" } }], limit: limit(1) },
    ]);
    const any = (p: string) => descriptor("bookinfo/p/any-path", svc, ["path", p]);
    assert.deepEqual([...await run(limiter, any("/a?x=1"), 1), ...await run(limiter, any("/a?y=2"), 2)], ["OK", "OK", "OVER_LIMIT"]);
    assert.deepEqual(await run(limiter, any("/b"), 1), ["OK"]);
    assert.deepEqual(await run(limiter, descriptor("bookinfo/p/export", svc, ["path", "/export"]), 2), ["OK", "OVER_LIMIT"]);
    assert.deepEqual(await run(limiter, descriptor("bookinfo/p/export", svc, ["path", "/other"]), 1), ["OK"]);
  });

  it("limits by caller identity, in either principal spelling", async () => {
    const { limiter } = setup([
      { name: "cart", descriptor: [{ sourcePrincipal: { value: "cluster.local/ns/shop/sa/cart" } }], limit: limit(1) },
      { name: "each", descriptor: [{ sourcePrincipal: {} }, { path: { value: "/export" } }], limit: limit(1, "hour") },
    ]);
    const cart = "spiffe://cluster.local/ns/shop/sa/cart";
    assert.deepEqual(await run(limiter, descriptor("bookinfo/p/cart", svc, ["source.principal", cart]), 2), ["OK", "OVER_LIMIT"]);
    const each = (who: string) => descriptor("bookinfo/p/each", svc, ["source.principal", who], ["path", "/export"]);
    assert.deepEqual([...await run(limiter, each(cart), 2), ...await run(limiter, each("spiffe://cluster.local/ns/shop/sa/web"), 1)], ["OK", "OVER_LIMIT", "OK"]);
  });

  it("limits a client address range and each client address", async () => {
    const { limiter } = setup([
      { name: "office", descriptor: [{ remoteAddress: { value: "10.1.0.0/16" } }], limit: limit(2) },
      { name: "per-ip", descriptor: [{ remoteAddress: {} }], limit: limit(1) },
      { name: "v6", descriptor: [{ remoteAddress: { value: "2001:db8::/32" } }], limit: limit(1) },
    ]);
    const office = (masked: string) => descriptor("bookinfo/p/office", svc, ["masked_remote_address", masked]);
    assert.deepEqual(await run(limiter, office("10.1.0.0/16"), 3), ["OK", "OK", "OVER_LIMIT"]);
    assert.deepEqual(await run(limiter, office("10.2.0.0/16"), 1), ["OK"], "another range is not this rule's");
    assert.equal(limiter.stats().unmatched, 1);
    const ip = (a: string) => descriptor("bookinfo/p/per-ip", svc, ["remote_address", a]);
    assert.deepEqual([...await run(limiter, ip("10.1.2.3"), 2), ...await run(limiter, ip("10.1.2.4"), 1)], ["OK", "OVER_LIMIT", "OK"]);
    // Envoy's IPv6 spelling may differ from the policy's; both are canonicalised.
    assert.deepEqual(await run(limiter, descriptor("bookinfo/p/v6", svc, ["masked_remote_address", "2001:0db8:0000::/32"]), 2), ["OK", "OVER_LIMIT"]);
  });

  it("answers shadow rules with OK, without a limit, and counts what they would have rejected", async () => {
    const { limiter } = setup([{ name: "dry", limit: limit(1, "second") }], { shadow: true });
    const r = await Promise.all([1, 2, 3].map(() => limiter.shouldRateLimit(request([descriptor("bookinfo/p/dry", svc)]))));
    assert.deepEqual(r.map(codes), ["OK OK", "OK OK", "OK OK"]);
    assert.equal(r[2]!.statuses[0]!.currentLimit, undefined);
    assert.deepEqual(limiter.stats().rules["bookinfo/p/dry"], { hits: 3, overLimit: 0, shadowOverLimit: 2 });
  });

  it("resets at the window boundary of each unit and reports the time until then", async () => {
    const { limiter, clock } = setup([
      { name: "s", limit: limit(1, "second") }, { name: "m", limit: limit(1, "minute") }, { name: "h", limit: limit(1, "hour") },
    ]);
    const all = ["s", "m", "h"].map((u) => descriptor(`bookinfo/p/${u}`, svc));
    clock.t = T0 + 400;
    let r = await limiter.shouldRateLimit(request(all));
    assert.equal(codes(r), "OK OK OK OK");
    assert.deepEqual(r.statuses.map((s) => [s.limitRemaining, Number(s.durationUntilReset!.seconds) * 1000 + s.durationUntilReset!.nanos / 1e6]), [[0, 600], [0, 59_600], [0, 3_599_600]]);
    assert.deepEqual(r.statuses.map((s) => s.currentLimit!.unit), [Unit.SECOND, Unit.MINUTE, Unit.HOUR]);
    clock.t = T0 + 999;
    assert.equal(codes(await limiter.shouldRateLimit(request(all))), "OVER_LIMIT OVER_LIMIT OVER_LIMIT OVER_LIMIT");
    clock.t = T0 + 1000;
    assert.equal(codes(await limiter.shouldRateLimit(request(all))), "OVER_LIMIT OK OVER_LIMIT OVER_LIMIT");
    clock.t = T0 + 60_000;
    assert.equal(codes(await limiter.shouldRateLimit(request(all))), "OVER_LIMIT OK OK OVER_LIMIT");
    clock.t = T0 + 3_600_000;
    r = await limiter.shouldRateLimit(request(all));
    assert.equal(codes(r), "OK OK OK OK");
  });

  it("honours hits_addend", async () => {
    const { limiter } = setup([{ name: "bytes", limit: limit(5) }]);
    const d = descriptor("bookinfo/p/bytes", svc);
    assert.deepEqual(await run(limiter, d, 2, 3), ["OK", "OVER_LIMIT"]);
    assert.equal(limiter.stats().rules["bookinfo/p/bytes"]!.hits, 6);
  });

  it("estimates a sliding window from the previous and current windows", async () => {
    const { limiter, clock } = setup([{ name: "w", limit: limit(10) }], {}, "sliding");
    const d = descriptor("bookinfo/p/w", svc);
    clock.t = T0 + 30_000;
    assert.deepEqual(await run(limiter, d, 10), Array(10).fill("OK"));
    // 15 s into the next minute, 3/4 of the previous window still counts: 7.5 + 1 <= 10, 7.5 + 3 > 10.
    clock.t = T0 + 75_000;
    const r = await Promise.all([0, 1, 2].map(() => limiter.shouldRateLimit(request([d]))));
    assert.deepEqual(r.map((x) => Code[x.overallCode]), ["OK", "OK", "OVER_LIMIT"]);
    assert.equal(r[0]!.statuses[0]!.limitRemaining, 1);
    clock.t = T0 + 120_000;
    assert.deepEqual(await run(limiter, d, 1), ["OK"], "two windows later the old hits are gone");
  });

  it("ignores descriptors that name no loaded rule, malformed descriptors, and other domains", async () => {
    const { limiter } = setup([{ name: "r", descriptor: [{ header: { name: "x-a" } }], limit: limit(1) }]);
    const cases = [
      [{ key: "other", value: "x" }],
      descriptor("bookinfo/p/unknown", svc, ["header.x-a", "1"]),
      descriptor("bookinfo/p/r", svc),
      descriptor("bookinfo/p/r", svc, ["header.x-b", "1"]),
      descriptor("bookinfo/p/r", svc, ["header.x-a", ""]),
    ];
    for (const d of cases) assert.equal(codes(await limiter.shouldRateLimit(request([d]))), "OK OK", JSON.stringify(d));
    const foreign = await limiter.shouldRateLimit(request([descriptor("bookinfo/p/r", svc, ["header.x-a", "1"])], 0, "other-domain"));
    assert.equal(codes(foreign), "OK OK");
    assert.equal(limiter.stats().unmatched, cases.length + 1);
  });

  it("answers OVER_LIMIT if any descriptor is over, with a status for each", async () => {
    const { limiter } = setup([{ name: "one", limit: limit(1) }, { name: "many", limit: limit(100) }]);
    await limiter.shouldRateLimit(request([descriptor("bookinfo/p/one", svc)]));
    const r = await limiter.shouldRateLimit(request([descriptor("bookinfo/p/many", svc), descriptor("bookinfo/p/one", svc), [{ key: "x", value: "y" }]]));
    assert.equal(codes(r), "OVER_LIMIT OK OVER_LIMIT OK");
    assert.deepEqual(r.statuses.map((s) => s.limitRemaining), [99, 0, 0]);
  });

  it("replaces the limits on setPolicies, keeping stats of rules that stay", async () => {
    const { limiter } = setup([{ name: "a", limit: limit(1) }]);
    await limiter.shouldRateLimit(request([descriptor("bookinfo/p/a", svc)]));
    const next = rateLimitPolicy("bookinfo", "p", { targetRefs: [], global: { rules: [{ name: "a", limit: limit(1) }, { name: "b", limit: limit(1) }] } });
    assert.deepEqual(limiter.setPolicies([next]), { rules: 2 });
    assert.deepEqual(Object.keys(limiter.stats().rules), ["bookinfo/p/a", "bookinfo/p/b"]);
    assert.equal(limiter.stats().rules["bookinfo/p/a"]!.hits, 1);
    limiter.setPolicies([]);
    assert.equal(codes(await limiter.shouldRateLimit(request([descriptor("bookinfo/p/a", svc)]))), "OK OK");
    assert.equal(limiter.status().rules, 0);
  });

  it("applies each policy's failureMode when the counter store fails, and reports it", async () => {
    const broken: CounterStore = {
      kind: "redis",
      hit: () => Promise.reject(new Error("connection refused")),
      health: () => ({ healthy: false, lastError: { message: "connection refused", at: T0 } }),
      close: () => Promise.resolve(),
    };
    const clock = { t: T0 };
    const limiter = new RateLimiter({ store: broken, now: () => clock.t });
    const pol = (name: string, failureMode: string, shadow = false) =>
      rateLimitPolicy("bookinfo", name, { targetRefs: [], shadow, global: { failureMode, rules: [{ name: "r", limit: limit(1) }] } });
    limiter.setPolicies([pol("open", "open"), pol("closed", "closed"), pol("dry", "closed", true)]);
    const d = (p: string) => descriptor(`bookinfo/${p}/r`, svc);
    assert.equal(codes(await limiter.shouldRateLimit(request([d("open")]))), "OK OK");
    assert.equal(codes(await limiter.shouldRateLimit(request([d("closed")]))), "OVER_LIMIT OVER_LIMIT");
    assert.equal(codes(await limiter.shouldRateLimit(request([d("dry")]))), "OK OK", "a dry run never rejects");
    const s = limiter.stats();
    assert.deepEqual([s.storeErrors, s.failedOpen, s.failedClosed], [3, 2, 1]);
    assert.deepEqual(limiter.status(), { healthy: false, lastError: { message: "connection refused", at: T0 }, store: "redis", window: "fixed", rules: 3 });
  });
});

describe("memory counter store", () => {
  it("sweeps counters of past windows and stays under its bound", async () => {
    const store = new MemoryStore({ maxCounters: 3 });
    const hit = (key: string, t: number) => store.hitNow([{ key, window: Math.floor(t / 1000), windowMs: 1000, hits: 1, previous: false }], t);
    hit("a", T0); hit("b", T0); hit("c", T0);
    assert.equal(store.size, 3);
    hit("d", T0 + 10);
    assert.equal(store.size, 1, "the full store evicted the soonest-expiring counters");
    assert.equal(store.evictions, 3);
    hit("e", T0 + 5000);
    assert.equal(store.size, 1, "d's window has passed: swept");
    assert.deepEqual(hit("e", T0 + 5001), [{ count: 2, previous: 0 }]);
    await store.close();
    assert.equal(store.size, 0);
  });
});
