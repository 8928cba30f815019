/**
 * Proxyless gRPC end to end: the real control plane serves examples/grpc, real @grpc/grpc-js-xds
 * clients dial xds:///echo.grpc-demo.svc.cluster.local:7070, and real gRPC servers answer. The
 * VirtualService (examples/grpc/routes.yaml) drives what the clients do: weighted subsets, header
 * matches, retries, fault injection, timeouts; edits are followed without a restart; a removed
 * service's calls fail as gRPC specifies; and no client ever NACKs.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { status } from "@grpc/grpc-js";
import { eventually, FLAKY_FAILURES, GrpcMesh, startBackend, type Backend, type Outcome, type XdsClient } from "./harness.js";

const ECHO = "echo.grpc-demo.svc.cluster.local:7070";
const LEGACY = "legacy.grpc-demo.svc.cluster.local:7071";
const node = (name: string) => `sidecar~127.0.0.1~${name}.grpc-demo~grpc-demo.svc.cluster.local`;

/**
 * Bounds for the count of one side of a weighted split: mean +- 5 standard deviations of the
 * binomial, so a correct split falls outside with probability < 6e-7.
 */
function fiveSigma(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [Math.ceil(n * p - 5 * sd), Math.floor(n * p + 5 * sd)];
}

const N = 1000;

function codeOf(o: Outcome): string {
  return o.ok ? `OK (${o.value})` : `${status[o.code]}: ${o.details}`;
}

describe("proxyless gRPC clients against the control plane", () => {
  let v1: Backend, v2: Backend;
  let mesh: GrpcMesh;
  let echo: XdsClient;

  before(async () => {
    [v1, v2] = await Promise.all([startBackend("v1"), startBackend("v2")]);
    mesh = await GrpcMesh.start({ "echo-v1-0": v1.port, "echo-v2-0": v2.port, "legacy-0": v1.port });
    echo = mesh.client(ECHO, node("client"));
    // The first call waits for LDS -> RDS -> CDS -> EDS.
    const first = await echo.call("whoAmI", { "end-user": "jason" });
    assert.ok(first.ok, codeOf(first));
  });
  after(async () => {
    await mesh?.close();
    v1?.close();
    v2?.close();
  });

  it("splits calls 80/20 across DestinationRule subsets (within 5 sigma)", async () => {
    const counts = await echo.tally(N);
    const [lo, hi] = fiveSigma(N, 0.8);
    assert.equal((counts.v1 ?? 0) + (counts.v2 ?? 0), N, JSON.stringify(counts));
    assert.ok(counts.v1! >= lo && counts.v1! <= hi, `v1 got ${counts.v1}/${N}, want ${lo}..${hi}: ${JSON.stringify(counts)}`);
    console.log(`80/20 split over ${N} calls: ${JSON.stringify(counts)} (bounds for v1 ${lo}..${hi})`);
  });

  it("routes by header: end-user: jason always reaches v2", async () => {
    assert.deepEqual(await echo.tally(200, { "end-user": "jason" }), { v2: 200 });
  });

  it("keeps each user on one pod with the DestinationRule's consistent hash, and spreads users over pods", async () => {
    const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const round = () => Promise.all(users.map(async (u) => {
      const o = await echo.call("whoAmI", { "x-user": u });
      assert.ok(o.ok, codeOf(o));
      return o.value;
    }));
    // grpc-js-xds 1.14.1 ring hash: a pick that lands on an IDLE endpoint starts its connection and
    // queues, and the queued call can wait for an unrelated picker update (seen: 1 to 5+ s). Warm up
    // with short deadlines until every user's call goes through at once, i.e. both pods are READY.
    await eventually(async () => (await Promise.all(users.map((u) => echo.call("whoAmI", { "x-user": u }, 1000)))).every((o) => o.ok) || undefined,
      "both pods of the ring connected", 20_000);
    const first = await round();
    for (let i = 0; i < 4; i++) assert.deepEqual(await round(), first, "every user answered by the same pod again");
    // Both pods own part of the ring: all 40 users on one pod would have probability ~1e-12.
    assert.deepEqual([...new Set(first)].sort(), ["v1", "v2"]);
    console.log(`consistent hash: users per pod ${JSON.stringify({ v1: first.filter((x) => x === "v1").length, v2: first.filter((x) => x === "v2").length })}`);
  });

  it("retries UNAVAILABLE as the route says, and not when the route disables retries", async () => {
    const ok = await echo.call("flaky", { "x-call-id": "retried" });
    assert.ok(ok.ok, codeOf(ok));
    assert.equal(v1.flakyAttempts.get("retried"), FLAKY_FAILURES + 1, "three retries after the first attempt");

    const off = await echo.call("flaky", { "x-call-id": "once", "x-retry": "off" });
    assert.equal(off.ok ? "OK" : status[off.code], "UNAVAILABLE", codeOf(off));
    assert.equal(v1.flakyAttempts.get("once"), 1);
  });

  it("injects faults: aborts with the gRPC status, or the gRPC code of the HTTP status, and delays", async () => {
    const grpcAbort = await echo.call("whoAmI", { "x-fault": "abort-grpc" });
    assert.equal(grpcAbort.ok ? "OK" : status[grpcAbort.code], "PERMISSION_DENIED", codeOf(grpcAbort));
    const httpAbort = await echo.call("whoAmI", { "x-fault": "abort-http" });
    assert.equal(httpAbort.ok ? "OK" : status[httpAbort.code], "UNAVAILABLE", codeOf(httpAbort)); // HTTP 503

    const delayed = await echo.call("whoAmI", { "x-fault": "delay" });
    assert.ok(delayed.ok, codeOf(delayed));
    assert.ok(delayed.ms >= 400, `a 500 ms delay took ${delayed.ms.toFixed(0)} ms`);
    console.log(`fault delay 500 ms: call took ${delayed.ms.toFixed(0)} ms`);
  });

  it("applies the route timeout as max_stream_duration", async () => {
    const o = await echo.call("whoAmI", { "x-fault": "timeout" });
    assert.equal(o.ok ? "OK" : status[o.code], "DEADLINE_EXCEEDED", codeOf(o));
    assert.ok(o.ms < 1500, `the 300 ms timeout cut a 2 s delay, took ${o.ms.toFixed(0)} ms`);
  });

  it("fails calls that routes cannot serve, never sending them elsewhere", async () => {
    const moved = await echo.call("whoAmI", { "x-moved": "true" });
    assert.equal(moved.ok ? "OK" : status[moved.code], "UNKNOWN", codeOf(moved)); // redirect: HTTP 301
    const canary = await echo.call("whoAmI", { "x-canary": "true" });
    assert.equal(canary.ok ? "OK" : status[canary.code], "UNKNOWN", codeOf(canary)); // unknown subset: HTTP 500
    // Rewrite, mirror and CORS were dropped: the route itself still works.
    assert.deepEqual(await echo.tally(20, { "x-legacy": "true" }), { v1: 20 });

    const st = await mesh.monitor<{ conditions: { resource: string; reason: string; message: string }[] }>("/debug/status");
    const mine = st.conditions.filter((c) => c.resource === "VirtualService grpc-demo/echo" && c.message.includes("proxyless gRPC clients"));
    assert.ok(mine.some((c) => c.reason === "BackendNotServed" && c.message.includes(`subset "canary"`)), JSON.stringify(mine, null, 1));
    assert.ok(mine.some((c) => c.message.includes("cannot follow redirects")), JSON.stringify(mine, null, 1));
  });

  it("follows an edit of the VirtualService without a restart", async () => {
    await mesh.edit("routes.yaml", (t) => t.replace("subset: v1 }\n          weight: 80", "subset: v1 }\n          weight: 20")
      .replace("subset: v2 }\n          weight: 20", "subset: v2 }\n          weight: 80"));
    const start = Date.now();
    // Under the old split, 50 or more v2 answers out of 100 has probability ~1e-11.
    await eventually(async () => ((await echo.tally(100)).v2 ?? 0) >= 50 || undefined, "the 20/80 split");
    const took = Date.now() - start;
    const counts = await echo.tally(N);
    const [lo, hi] = fiveSigma(N, 0.8);
    assert.ok(counts.v2! >= lo && counts.v2! <= hi, `v2 got ${counts.v2}/${N}, want ${lo}..${hi}: ${JSON.stringify(counts)}`);
    console.log(`20/80 split after the edit (seen after ${took} ms): ${JSON.stringify(counts)} (bounds for v2 ${lo}..${hi})`);
  });

  it("fails calls with UNAVAILABLE once the service (its listener) is removed", async () => {
    const legacy = mesh.client(LEGACY, node("legacy-client"));
    const ok = await legacy.call("whoAmI");
    assert.ok(ok.ok, codeOf(ok));
    await mesh.remove("legacy.yaml");
    const failed = await eventually(async () => {
      const o = await legacy.call("whoAmI", {}, 2000);
      return o.ok ? undefined : o;
    }, "calls to the removed service to fail");
    assert.equal(failed.ok ? "OK" : status[failed.code], "UNAVAILABLE", codeOf(failed));
    console.log(`after removing the listener: ${codeOf(failed)}`);
  });

  it("was ACKed by every client: no NACKs, every type in sync", async () => {
    assert.deepEqual(await mesh.monitor("/debug/nacks"), []);
    const syncz = await mesh.monitor<{ node: string; types: Record<string, { state: string }> }[]>("/debug/syncz");
    const client = syncz.find((x) => x.node === node("client"));
    assert.ok(client, JSON.stringify(syncz));
    for (const t of ["LDS", "RDS", "CDS", "EDS"]) assert.equal(client.types[t]?.state, "SYNCED", `${t}: ${JSON.stringify(client.types)}`);
  });
});
