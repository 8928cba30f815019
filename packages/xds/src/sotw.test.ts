import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import type { DiscoveryResponse } from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { buildSnapshot, type SnapshotEntry } from "./snapshot.js";
import { RawAdsClient, namesOf, startAds, type AdsHarness, type SotwStream } from "./testing/adsClient.js";
import { edsCluster, listener, loadAssignment, routeConfig, secret } from "./testing/envoy.js";
import { eventually } from "./testing/wait.js";
import { TypeUrl } from "./types.js";

const base = (): SnapshotEntry[] => [
  edsCluster("c1"), edsCluster("c2"),
  loadAssignment("c1", [{ host: "10.1.0.1", port: 80 }]), loadAssignment("c2", [{ host: "10.1.0.2", port: 80 }]),
  listener("l1"), listener("l2"), routeConfig("r1", "c1"), routeConfig("r2", "c2"),
];

/** What an Envoy subscribes to here: CDS and LDS wildcard, EDS ["c1","missing"], RDS ["r2"]. */
const SUBS: Record<string, string[]> = { [TypeUrl.CDS]: [], [TypeUrl.EDS]: ["c1", "missing"], [TypeUrl.LDS]: ["*"], [TypeUrl.RDS]: ["r2"] };

/** Opens a stream for `node`, fetches the four types in Envoy's order and ACKs each; returns the responses. */
async function fetchAll(s: SotwStream, node: string): Promise<Map<string, DiscoveryResponse>> {
  const out = new Map<string, DiscoveryResponse>();
  for (const [typeUrl, resourceNames] of Object.entries(SUBS)) {
    s.send({ ...(out.size === 0 ? { node: { id: node } } : {}), typeUrl, resourceNames });
    const r = await s.next();
    assert.equal(r.typeUrl, typeUrl);
    out.set(typeUrl, r);
    ack(s, r);
  }
  return out;
}

function ack(s: SotwStream, r: DiscoveryResponse): void {
  s.send({ typeUrl: r.typeUrl, versionInfo: r.versionInfo, responseNonce: r.nonce, resourceNames: SUBS[r.typeUrl] ?? [] });
}

describe("SotW ADS", () => {
  let h: AdsHarness;
  let client: RawAdsClient;
  let n = 0;
  const nodeId = () => `sidecar~10.0.0.${++n}~app-${n}.default~default.svc.cluster.local`;
  before(async () => {
    h = await startAds({ server: { controlPlaneId: "waystation-test" } });
    client = new RawAdsClient(h.address);
  });
  after(async () => {
    client.close();
    await h.close();
  });

  it("initial fetch: CDS (legacy empty) and LDS (\"*\") wildcard, EDS and RDS by name", async () => {
    const node = nodeId();
    const snap = buildSnapshot(base());
    h.cache.setSnapshot(node, snap);
    const s = client.sotw();
    const got = await fetchAll(s, node);
    assert.deepEqual(namesOf(got.get(TypeUrl.CDS)!), ["c1", "c2"]);
    assert.deepEqual(namesOf(got.get(TypeUrl.EDS)!), ["c1"]);
    assert.deepEqual(namesOf(got.get(TypeUrl.LDS)!), ["l1", "l2"]);
    assert.deepEqual(namesOf(got.get(TypeUrl.RDS)!), ["r2"]);
    for (const [u, r] of got) assert.equal(r.versionInfo, snap.version(u));
    assert.equal(got.get(TypeUrl.CDS)!.controlPlane?.identifier, "waystation-test");
    assert.equal(new Set([...got.values()].map((r) => r.nonce)).size, 4);
    s.close();
  });

  it("ACK: nothing is resent and the stream shows SYNCED", async () => {
    const node = nodeId();
    h.cache.setSnapshot(node, buildSnapshot(base()));
    const s = client.sotw();
    await fetchAll(s, node);
    await s.none();
    await eventually(() => h.ads.syncz().some((e) => e.node === node && e.types.RDS?.state === "SYNCED"), "RDS synced");
    const e = h.ads.syncz().find((x) => x.node === node)!;
    assert.deepEqual(Object.values(e.types).map((t) => t.state), ["SYNCED", "SYNCED", "SYNCED", "SYNCED"]);
    s.close();
  });

  it("NACK: recorded with node, type, version, nonce and message; the same version is not resent", async () => {
    const node = nodeId();
    const snap = buildSnapshot(base());
    h.cache.setSnapshot(node, snap);
    const s = client.sotw();
    s.send({ node: { id: node }, typeUrl: TypeUrl.RDS, resourceNames: ["r2"] });
    const rds = await s.next();
    s.send({ typeUrl: TypeUrl.RDS, resourceNames: ["r2"], responseNonce: rds.nonce, errorDetail: { code: 3, message: "r2: bad route" } });
    await s.none();
    await eventually(() => h.ads.nacks().some((x) => x.node === node), "NACK recorded");
    const nack = h.ads.nacks().find((x) => x.node === node)!;
    assert.deepEqual({ type: nack.type, version: nack.version, nonce: nack.nonce, message: nack.message, code: nack.code },
      { type: "RDS", version: snap.version(TypeUrl.RDS), nonce: rds.nonce, message: "r2: bad route", code: 3 });
    assert.equal(h.ads.syncz().find((x) => x.node === node)!.types.RDS!.state, "NACKED");
    // Another type changes: RDS is still not resent.
    h.cache.setSnapshot(node, buildSnapshot([...base(), edsCluster("c9")]));
    await s.none();
    // RDS changes: the new version goes out.
    h.cache.setSnapshot(node, buildSnapshot([...base().slice(0, 7), routeConfig("r2", "c1")]));
    const again = await s.next();
    assert.deepEqual(namesOf(again), ["r2"]);
    assert.notEqual(again.versionInfo, rds.versionInfo);
    s.close();
  });

  it("update: only changed subscribed types are pushed, in the order CDS, EDS, LDS, RDS; LDS removal shrinks the full set", async () => {
    const node = nodeId();
    h.cache.setSnapshot(node, buildSnapshot(base()));
    const s = client.sotw();
    await fetchAll(s, node);
    // Changed: CDS (c3 added), EDS (c1 endpoints), LDS (l2 removed), RDS (r2 target), SDS (not subscribed).
    h.cache.setSnapshot(node, buildSnapshot([
      edsCluster("c1"), edsCluster("c2"), edsCluster("c3"),
      loadAssignment("c1", [{ host: "10.1.0.9", port: 80 }]), loadAssignment("c2", [{ host: "10.1.0.2", port: 80 }]),
      listener("l1"), routeConfig("r1", "c1"), routeConfig("r2", "c3"), secret("s"),
    ]));
    const got = [await s.next(), await s.next(), await s.next(), await s.next()];
    assert.deepEqual(got.map((r) => r.typeUrl), [TypeUrl.CDS, TypeUrl.EDS, TypeUrl.LDS, TypeUrl.RDS]);
    assert.deepEqual(got.map(namesOf), [["c1", "c2", "c3"], ["c1"], ["l1"], ["r2"]]);
    got.forEach((r) => ack(s, r));
    await s.none();
    // Only LDS changes: only LDS is pushed; an empty full set removes every listener.
    h.cache.setSnapshot(node, buildSnapshot([
      edsCluster("c1"), edsCluster("c2"), edsCluster("c3"),
      loadAssignment("c1", [{ host: "10.1.0.9", port: 80 }]), loadAssignment("c2", [{ host: "10.1.0.2", port: 80 }]),
      routeConfig("r1", "c1"), routeConfig("r2", "c3"), secret("s"),
    ]));
    const lds = await s.next();
    assert.equal(lds.typeUrl, TypeUrl.LDS);
    assert.deepEqual(lds.resources, []);
    await s.none();
    s.close();
  });

  it("a CDS push is followed by EDS even when endpoints did not change (cluster warming)", async () => {
    const node = nodeId();
    h.cache.setSnapshot(node, buildSnapshot(base()));
    const s = client.sotw();
    const got = await fetchAll(s, node);
    // c1 changes (same endpoints name, other config): CDS, then EDS at its unchanged version.
    h.cache.setSnapshot(node, buildSnapshot([edsCluster("c1", "c1"), ...base().slice(1)]));
    const cds = await s.next();
    const eds = await s.next();
    assert.deepEqual([cds.typeUrl, eds.typeUrl], [TypeUrl.CDS, TypeUrl.EDS]);
    assert.equal(eds.versionInfo, got.get(TypeUrl.EDS)!.versionInfo);
    assert.deepEqual(namesOf(eds), ["c1"]);
    ack(s, cds);
    ack(s, eds);
    await s.none();
    // A cluster is added, c1 is unchanged: CDS only, c1 needs no re-warming.
    h.cache.setSnapshot(node, buildSnapshot([edsCluster("c1", "c1"), ...base().slice(1), edsCluster("c3"), loadAssignment("c3", [])]));
    const added = await s.next();
    assert.deepEqual(namesOf(added), ["c1", "c2", "c3"]);
    ack(s, added);
    await s.none();
    s.close();
  });

  it("EDS and RDS carry only news: the changed resource alone, nothing for an unrelated change (still SYNCED)", async () => {
    const node = nodeId();
    h.cache.setSnapshot(node, buildSnapshot(base()));
    const s = client.sotw();
    // Subscribe to both route configurations.
    s.send({ node: { id: node }, typeUrl: TypeUrl.RDS, resourceNames: ["r1", "r2"] });
    const first = await s.next();
    assert.deepEqual(namesOf(first), ["r1", "r2"]);
    s.send({ typeUrl: TypeUrl.RDS, versionInfo: first.versionInfo, responseNonce: first.nonce, resourceNames: ["r1", "r2"] });
    await s.none();
    // r2 changes: only r2 is sent, at the new type version.
    const edited = [...base().filter((r) => !("name" in r && r.name === "r2")), routeConfig("r2", "c1")];
    h.cache.setSnapshot(node, buildSnapshot(edited));
    const second = await s.next();
    assert.deepEqual(namesOf(second), ["r2"]);
    s.send({ typeUrl: TypeUrl.RDS, versionInfo: second.versionInfo, responseNonce: second.nonce, resourceNames: ["r1", "r2"] });
    // A route configuration nobody here subscribes to appears: the RDS version changes, nothing is sent.
    const third = buildSnapshot([...edited, routeConfig("r3", "c1")]);
    h.cache.setSnapshot(node, third);
    await s.none();
    await eventually(() => h.ads.syncz().some((e) => e.node === node && e.types.RDS?.state === "SYNCED" && e.types.RDS.desired === third.version(TypeUrl.RDS)), "RDS synced at the new version");
    s.close();
  });

  it("answers a subscription change carried by an ACK, and ignores a request with a stale nonce", async () => {
    const node = nodeId();
    h.cache.setSnapshot(node, buildSnapshot(base()));
    const s = client.sotw();
    s.send({ node: { id: node }, typeUrl: TypeUrl.EDS, resourceNames: ["c1"] });
    const first = await s.next();
    assert.deepEqual(namesOf(first), ["c1"]);
    // A new version (c1's endpoints changed) goes out while the client asks for c2 with the old
    // nonce: stale, ignored.
    h.cache.setSnapshot(node, buildSnapshot([...base().filter((r) => !("clusterName" in r && r.clusterName === "c1")), loadAssignment("c1", [{ host: "10.1.0.9", port: 80 }])]));
    const second = await s.next();
    assert.deepEqual(namesOf(second), ["c1"]);
    s.send({ typeUrl: TypeUrl.EDS, resourceNames: ["c1", "c2"], versionInfo: first.versionInfo, responseNonce: first.nonce });
    await s.none();
    // The ACK of the latest response carries the new names: what the client lacks (c2) is sent.
    s.send({ typeUrl: TypeUrl.EDS, resourceNames: ["c1", "c2"], versionInfo: second.versionInfo, responseNonce: second.nonce });
    const third = await s.next();
    assert.deepEqual(namesOf(third), ["c2"]);
    assert.equal(third.versionInfo, second.versionInfo);
    // Unsubscribing from everything needs no response.
    s.send({ typeUrl: TypeUrl.EDS, resourceNames: [], versionInfo: third.versionInfo, responseNonce: third.nonce });
    await s.none();
    s.close();
  });

  it("waits for a snapshot when the node has none yet", async () => {
    const node = nodeId();
    const s = client.sotw();
    s.send({ node: { id: node }, typeUrl: TypeUrl.LDS });
    await s.none();
    h.cache.setSnapshot(node, buildSnapshot([listener("late")]));
    assert.deepEqual(namesOf(await s.next()), ["late"]);
    s.close();
  });

  it("rejects a stream whose first request has no node", async () => {
    const s = client.sotw();
    s.send({ typeUrl: TypeUrl.LDS });
    const st = await s.status;
    assert.equal(st.code, grpc.status.INVALID_ARGUMENT);
    assert.match(st.details, /node\.id/);
  });
});
