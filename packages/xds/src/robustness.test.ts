import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { buildSnapshot } from "./snapshot.js";
import { RawAdsClient, namesOf, startAds, type AdsHarness } from "./testing/adsClient.js";
import { listener, workloadAddress } from "./testing/envoy.js";
import { eventually } from "./testing/wait.js";
import { TypeUrl, type Logger } from "./types.js";

const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
const logger: Logger = {
  debug: (msg, fields) => logs.push({ level: "debug", msg, fields }),
  info: (msg, fields) => logs.push({ level: "info", msg, fields }),
  warn: (msg, fields) => logs.push({ level: "warn", msg, fields }),
  error: (msg, fields) => logs.push({ level: "error", msg, fields }),
};

describe("ADS robustness", () => {
  let h: AdsHarness;
  let client: RawAdsClient;
  before(async () => {
    h = await startAds({ status: { maxNacks: 10, logger }, server: { logger }, cache: { logger } });
    client = new RawAdsClient(h.address);
  });
  after(async () => {
    client.close();
    await h.close();
  });

  it("garbage bytes end only that stream; a healthy stream on the same connection keeps getting pushes", async () => {
    h.cache.setSnapshot("good", buildSnapshot([listener("a")]));
    const good = client.sotw();
    good.send({ node: { id: "good" }, typeUrl: TypeUrl.LDS });
    const first = await good.next();
    good.send({ typeUrl: TypeUrl.LDS, versionInfo: first.versionInfo, responseNonce: first.nonce });

    const bad = client.rawSotw();
    bad.send(Buffer.from([0x0f, 0xff, 0xff, 0x00])); // field 1 with wire type 7: not protobuf
    const st = await bad.status;
    assert.equal(st.code, grpc.status.INTERNAL);

    // A garbage stream that got past its first request is cleaned up too.
    const bad2 = client.rawSotw();
    bad2.send(Buffer.from([0x12, 0x03, 0x0a, 0x01, 0x78])); // node { id: "x" }
    await eventually(() => h.ads.streamCount === 2, "second stream open");
    bad2.send(Buffer.from([0xff]));
    assert.equal((await bad2.status).code, grpc.status.INTERNAL);
    await eventually(() => h.ads.streamCount === 1 && h.cache.watchCount === 1, "bad streams released");

    h.cache.setSnapshot("good", buildSnapshot([listener("a"), listener("b")]));
    assert.deepEqual(namesOf(await good.next()), ["a", "b"]);
    good.close();
    await eventually(() => h.ads.streamCount === 0, "all closed");
  });

  it("an unknown type URL is logged once and answered with nothing; the stream stays usable", async () => {
    h.cache.setSnapshot("unk", buildSnapshot([listener("a")]));
    const s = client.sotw();
    const weird = "type.googleapis.com/envoy.service.runtime.v3.Runtime";
    s.send({ node: { id: "unk" }, typeUrl: weird, resourceNames: ["rt"] });
    s.send({ typeUrl: weird, resourceNames: ["rt"] });
    await s.none();
    assert.equal(logs.filter((l) => l.level === "warn" && l.fields?.typeUrl === weird).length, 1);
    s.send({ typeUrl: TypeUrl.LDS });
    assert.deepEqual(namesOf(await s.next()), ["a"]);
    s.close();
  });

  it("a client that disconnects mid-stream releases its watch and status; others are unaffected", async () => {
    h.cache.setSnapshot("n1", buildSnapshot([listener("a")]));
    const s1 = client.sotw();
    const s2 = client.delta();
    s1.send({ node: { id: "n1" }, typeUrl: TypeUrl.LDS });
    s2.send({ node: { id: "n1" }, typeUrl: TypeUrl.LDS });
    await s1.next();
    await s2.next();
    assert.equal(h.ads.syncz().filter((e) => e.node === "n1").length, 2);
    s1.call.cancel(); // no half-close: a dropped connection
    await eventually(() => h.ads.syncz().filter((e) => e.node === "n1").length === 1 && h.cache.watchCount === 1, "s1 released");
    h.cache.setSnapshot("n1", buildSnapshot([listener("a"), listener("b")]));
    assert.deepEqual((await s2.next()).resources.map((r) => r.name), ["b"]);
    s2.close();
    await eventually(() => h.ads.streamCount === 0, "all closed");
  });

  it("a NACK storm neither loops nor grows memory: no resends, a bounded NACK ring, repeats only counted", async () => {
    const node = "storm";
    h.cache.setSnapshot(node, buildSnapshot([listener("v0")]));
    const s = client.sotw();
    s.send({ node: { id: node }, typeUrl: TypeUrl.LDS });
    let last = await s.next();
    const nack = (nonce: string) => s.send({ typeUrl: TypeUrl.LDS, responseNonce: nonce, errorDetail: { code: 3, message: `rejected ${nonce}` } });
    const recorded = () => h.ads.nacks().filter((x) => x.node === node).at(-1)?.nonce;
    nack(last.nonce);
    for (let i = 1; i <= 30; i++) {
      // Wait for the NACK to land first: a NACK overtaken by a newer response carries a stale nonce
      // and is ignored, as the protocol asks.
      await eventually(() => recorded() === last.nonce, `NACK ${i - 1} recorded`);
      h.cache.setSnapshot(node, buildSnapshot([listener(`v${i}`)]));
      last = await s.next();
      assert.deepEqual(namesOf(last), [`v${i}`]);
      nack(last.nonce);
    }
    for (let i = 0; i < 500; i++) nack(last.nonce); // the same NACK, again and again
    await s.none(300);
    assert.equal(s.received.length, 31); // one per version; none in answer to a NACK
    await eventually(() => h.ads.status.openStreams().some((r) => r.node === node && (r.types.get(TypeUrl.LDS)?.repeatedNacks ?? 0) === 500), "repeats counted");
    const nacks = h.ads.nacks();
    assert.equal(nacks.length, 10);
    assert.equal(nacks.at(-1)!.nonce, last.nonce);
    assert.equal(logs.filter((l) => l.msg === "xds: NACK" && l.fields?.node === node).length, 31);
    s.close();
  });

  it("delta: a request with a stale nonce records no ACK but its subscription change is honored", async () => {
    h.cache.setSnapshot("dz", buildSnapshot([workloadAddress("w1"), workloadAddress("w2")]));
    const s = client.delta();
    s.send({ node: { id: "dz" }, typeUrl: TypeUrl.Address, resourceNamesSubscribe: ["w1"] });
    const r1 = await s.next();
    s.send({ typeUrl: TypeUrl.Address, responseNonce: "no-such-nonce", resourceNamesSubscribe: ["w2"] });
    const r2 = await s.next();
    assert.deepEqual(r2.resources.map((r) => r.name), ["w2"]);
    assert.equal(h.ads.syncz().find((e) => e.node === "dz")!.types.Address!.acked, "");
    s.send({ typeUrl: TypeUrl.Address, responseNonce: r2.nonce });
    await eventually(() => h.ads.syncz().find((e) => e.node === "dz")!.types.Address!.state === "SYNCED", "acked");
    assert.notEqual(r1.nonce, r2.nonce);
    s.close();
  });

  it("a client that stops reading gets pushes coalesced: the newest version once its buffer drains", async () => {
    const big = (i: number) => buildSnapshot([listener("big", `${i}:${"x".repeat(200_000)}`)]);
    h.cache.setSnapshot("slow", big(0));
    const s = client.sotw();
    s.send({ node: { id: "slow" }, typeUrl: TypeUrl.LDS });
    await s.next();
    s.call.pause();
    for (let i = 1; i <= 60; i++) h.cache.setSnapshot("slow", big(i));
    const latest = h.cache.get("slow")!.version(TypeUrl.LDS);
    s.call.resume();
    await eventually(() => s.received.at(-1)?.versionInfo === latest, "newest version delivered", 5000);
    assert.ok(s.received.length < 30, `expected coalescing, got ${s.received.length} responses`);
    s.close();
  });

  it("node groups: replicas share the group snapshot; config_dump shows what a node resolves to", async () => {
    const shared = buildSnapshot([listener("shared")]);
    const g = await startAds({ cache: { nodeGroup: (n) => (n.id.startsWith("waypoint~") ? "group:gw" : undefined) } });
    const c = new RawAdsClient(g.address);
    g.cache.setSnapshot("group:gw", shared);
    const sotw = c.sotw();
    const delta = c.delta();
    sotw.send({ node: { id: "waypoint~1" }, typeUrl: TypeUrl.LDS });
    delta.send({ node: { id: "waypoint~2" }, typeUrl: TypeUrl.LDS });
    assert.deepEqual(namesOf(await sotw.next()), ["shared"]);
    assert.deepEqual((await delta.next()).resources.map((r) => r.name), ["shared"]);
    const dump = g.ads.configDump("waypoint~2");
    assert.equal(dump.snapshot, shared);
    assert.equal(dump.streams[0]!.group, "group:gw");
    sotw.close();
    delta.close();
    c.close();
    await g.close();
  });
});
