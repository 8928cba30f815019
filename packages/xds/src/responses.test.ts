import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { toBinary } from "@bufbuild/protobuf";
import { DeltaDiscoveryResponseSchema, DiscoveryResponseSchema } from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { PreEncoded } from "./grpcService.js";
import { ResponseCache, type SharedResponse } from "./responses.js";
import { buildSnapshot } from "./snapshot.js";
import { RawAdsClient, startAds, type AdsHarness } from "./testing/adsClient.js";
import { edsCluster, loadAssignment, workloadAddress } from "./testing/envoy.js";
import { TypeUrl } from "./types.js";

const fake = (cache: ResponseCache): SharedResponse => {
  const nonce = cache.nonce();
  return { encoded: new PreEncoded(new Uint8Array([1])), nonce, version: "v", items: [], removed: 0, bytes: 0 };
};

describe("ResponseCache", () => {
  it("builds once per (resources, base, key); another base or key builds again", () => {
    const cache = new ResponseCache();
    const res = buildSnapshot([edsCluster("c1")]).get(TypeUrl.CDS)!;
    const base1 = {};
    let builds = 0;
    const build = () => { builds++; return fake(cache); };
    const a = cache.get(res, base1, "*", build);
    assert.equal(cache.get(res, base1, "*", build), a);
    assert.equal(builds, 1);
    assert.notEqual(cache.get(res, {}, "*", build), a);
    assert.notEqual(cache.get(res, base1, "c1", build), a);
    assert.equal(builds, 3);
  });

  it("keeps a bounded number of variants; beyond it every call builds (still correct, not cached)", () => {
    const cache = new ResponseCache();
    const res = buildSnapshot([edsCluster("c1")]).get(TypeUrl.CDS)!;
    const base = {};
    for (let i = 0; i < 200; i++) cache.get(res, base, `k${i}`, () => fake(cache));
    let builds = 0;
    cache.get(res, base, "k199", () => { builds++; return fake(cache); });
    cache.get(res, base, "k199", () => { builds++; return fake(cache); });
    assert.equal(builds, 2);
    cache.get(res, base, "k0", () => { builds++; return fake(cache); });
    assert.equal(builds, 2, "early keys stay cached");
  });

  it("nonces are unique over the whole server", () => {
    const cache = new ResponseCache();
    const seen = new Set(Array.from({ length: 1000 }, () => cache.nonce()));
    assert.equal(seen.size, 1000);
  });
});

describe("responses shared between streams", () => {
  let h: AdsHarness;
  let client: RawAdsClient;
  const group = "group:gw";
  before(async () => {
    h = await startAds({ cache: { nodeGroup: (n) => (n.id.startsWith("waypoint~") ? group : undefined) } });
    client = new RawAdsClient(h.address);
  });
  after(async () => {
    client.close();
    await h.close();
  });

  it("SotW: replicas get one encoding (same nonce and bytes); the EDS re-warm after CDS is shared too and never repeats a stream's nonce", async () => {
    h.cache.setSnapshot(group, buildSnapshot([edsCluster("c1"), loadAssignment("c1", [{ host: "10.0.0.1", port: 80 }])]));
    const streams = [client.sotw(), client.sotw(), client.sotw()];
    const cds = await Promise.all(streams.map(async (s, i) => {
      s.send({ node: { id: `waypoint~10.0.0.${i}~wp-${i}.ns~ns.svc.cluster.local` }, typeUrl: TypeUrl.CDS });
      return s.next();
    }));
    assert.equal(new Set(cds.map((r) => r.nonce)).size, 1);
    const bytes = cds.map((r) => Buffer.from(toBinary(DiscoveryResponseSchema, r)).toString("base64"));
    assert.equal(new Set(bytes).size, 1);
    const eds = await Promise.all(streams.map(async (s, i) => {
      s.send({ typeUrl: TypeUrl.CDS, versionInfo: cds[i]!.versionInfo, responseNonce: cds[i]!.nonce });
      s.send({ typeUrl: TypeUrl.EDS, resourceNames: ["c1"] });
      return s.next();
    }));
    assert.equal(new Set(eds.map((r) => r.nonce)).size, 1);
    streams.forEach((s, i) => s.send({ typeUrl: TypeUrl.EDS, resourceNames: ["c1"], versionInfo: eds[i]!.versionInfo, responseNonce: eds[i]!.nonce }));

    // c1's cluster changes (endpoints unchanged): each stream gets CDS, then EDS c1 again (warming),
    // with a nonce it has not had before, the same on every stream.
    h.cache.setSnapshot(group, buildSnapshot([edsCluster("c1", "c1"), loadAssignment("c1", [{ host: "10.0.0.1", port: 80 }])]));
    const after = await Promise.all(streams.map(async (s) => [await s.next(), await s.next()] as const));
    for (const [i, [c, e]] of after.entries()) {
      assert.equal(c.typeUrl, TypeUrl.CDS);
      assert.equal(e.typeUrl, TypeUrl.EDS);
      assert.equal(e.versionInfo, eds[i]!.versionInfo, "EDS content unchanged");
      assert.notEqual(e.nonce, eds[i]!.nonce, "a re-sent response has a fresh nonce");
    }
    assert.equal(new Set(after.map(([c]) => c.nonce)).size, 1);
    assert.equal(new Set(after.map(([, e]) => e.nonce)).size, 1);
    for (const s of streams) s.close();
  });

  it("Delta: fresh replicas share a response; a reconnect with initial_resource_versions gets its own", async () => {
    const snap = buildSnapshot([workloadAddress("w1"), workloadAddress("w2")]);
    h.cache.setSnapshot(group, snap);
    const open = (i: number, initial?: Record<string, string>) => {
      const s = client.delta();
      s.send({ node: { id: `waypoint~10.0.1.${i}~wp-${i}.ns~ns.svc.cluster.local` }, typeUrl: TypeUrl.Address, ...(initial ? { initialResourceVersions: initial } : {}) });
      return s;
    };
    const [a, b] = [open(1), open(2)];
    const [ra, rb] = [await a.next(), await b.next()];
    assert.equal(ra.nonce, rb.nonce);
    assert.equal(Buffer.from(toBinary(DeltaDiscoveryResponseSchema, ra)).toString("hex"), Buffer.from(toBinary(DeltaDiscoveryResponseSchema, rb)).toString("hex"));
    assert.deepEqual(ra.resources.map((r) => r.name), ["w1", "w2"]);

    const w1 = snap.get(TypeUrl.Address)!.get("w1")!.version;
    const c = open(3, { w1 });
    const rc = await c.next();
    assert.notEqual(rc.nonce, ra.nonce);
    assert.deepEqual(rc.resources.map((r) => r.name), ["w2"], "only what the reconnecting client lacks");
    for (const s of [a, b, c]) s.close();
  });
});
