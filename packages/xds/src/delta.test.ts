import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DeltaDiscoveryResponse } from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { buildSnapshot, type Snapshot } from "./snapshot.js";
import { RawAdsClient, startAds, type AdsHarness, type DeltaStream } from "./testing/adsClient.js";
import { authorization, edsCluster, loadAssignment, workloadAddress } from "./testing/envoy.js";
import { eventually } from "./testing/wait.js";
import { TypeUrl } from "./types.js";

const names = (r: DeltaDiscoveryResponse) => r.resources.map((x) => x.name);
const versions = (r: DeltaDiscoveryResponse) => Object.fromEntries(r.resources.map((x) => [x.name, x.version]));
const ack = (s: DeltaStream, r: DeltaDiscoveryResponse) => s.send({ typeUrl: r.typeUrl, responseNonce: r.nonce });
const resVersion = (snap: Snapshot, url: string, name: string) => snap.get(url)!.get(name)!.version;

describe("Delta ADS", () => {
  let h: AdsHarness;
  let client: RawAdsClient;
  let n = 0;
  const nodeId = () => `ztunnel~10.0.0.${++n}~ztunnel-${n}.istio-system~istio-system.svc.cluster.local`;
  before(async () => {
    h = await startAds();
    client = new RawAdsClient(h.address);
  });
  after(async () => {
    client.close();
    await h.close();
  });

  it("initial wildcard, then add, update (new version) and removal via removed_resources", async () => {
    const node = nodeId();
    const s1 = buildSnapshot([workloadAddress("w1"), workloadAddress("w2"), authorization("ns", "p1")]);
    h.cache.setSnapshot(node, s1);
    const s = client.delta();
    // ztunnel's opening: empty subscribe lists mean wildcard.
    s.send({ node: { id: node }, typeUrl: TypeUrl.Address });
    const a = await s.next();
    assert.deepEqual(names(a), ["w1", "w2"]);
    assert.deepEqual(versions(a), { w1: resVersion(s1, TypeUrl.Address, "w1"), w2: resVersion(s1, TypeUrl.Address, "w2") });
    assert.equal(a.systemVersionInfo, s1.version(TypeUrl.Address));
    assert.deepEqual(a.removedResources, []);
    ack(s, a);
    s.send({ typeUrl: TypeUrl.Authorization });
    const z = await s.next();
    assert.deepEqual(names(z), ["ns/p1"]);
    ack(s, z);

    // Add w3: only w3 is sent.
    h.cache.setSnapshot(node, buildSnapshot([workloadAddress("w1"), workloadAddress("w2"), workloadAddress("w3"), authorization("ns", "p1")]));
    const add = await s.next();
    assert.deepEqual(names(add), ["w3"]);
    ack(s, add);
    // Update w2: only w2, with a new version.
    const s3 = buildSnapshot([workloadAddress("w1"), workloadAddress("w2", "renamed"), workloadAddress("w3"), authorization("ns", "p1")]);
    h.cache.setSnapshot(node, s3);
    const upd = await s.next();
    assert.deepEqual(names(upd), ["w2"]);
    assert.notEqual(upd.resources[0]!.version, a.resources[1]!.version);
    assert.equal(upd.resources[0]!.version, resVersion(s3, TypeUrl.Address, "w2"));
    ack(s, upd);
    // Remove w1 and the policy: removed_resources, in push order (Address before Authorization).
    h.cache.setSnapshot(node, buildSnapshot([workloadAddress("w2", "renamed"), workloadAddress("w3")]));
    const rmA = await s.next();
    const rmZ = await s.next();
    assert.deepEqual([rmA.typeUrl, rmA.resources.length, rmA.removedResources], [TypeUrl.Address, 0, ["w1"]]);
    assert.deepEqual([rmZ.typeUrl, rmZ.removedResources], [TypeUrl.Authorization, ["ns/p1"]]);
    ack(s, rmA);
    ack(s, rmZ);
    await s.none();
    await eventually(() => h.ads.syncz().find((e) => e.node === node)?.types.Authorization?.state === "SYNCED", "synced");
    s.close();
  });

  it("NACK: recorded against the response's nonce and version; rejected resources are not resent", async () => {
    const node = nodeId();
    const snap = buildSnapshot([workloadAddress("w1")]);
    h.cache.setSnapshot(node, snap);
    const s = client.delta();
    s.send({ node: { id: node }, typeUrl: TypeUrl.Address });
    const a = await s.next();
    s.send({ typeUrl: TypeUrl.Address, responseNonce: a.nonce, errorDetail: { code: 3, message: "w1: bad address" } });
    await s.none();
    await eventually(() => h.ads.nacks().some((x) => x.node === node), "NACK recorded");
    const nack = h.ads.nacks().find((x) => x.node === node)!;
    assert.deepEqual([nack.type, nack.version, nack.nonce, nack.message], ["Address", snap.version(TypeUrl.Address), a.nonce, "w1: bad address"]);
    // Adding w2 sends only w2, not the rejected w1 again.
    h.cache.setSnapshot(node, buildSnapshot([workloadAddress("w1"), workloadAddress("w2")]));
    assert.deepEqual(names(await s.next()), ["w2"]);
    s.close();
  });

  it("named subscriptions: subscribe, unknown name answered as removed, unsubscribe, resubscribe", async () => {
    const node = nodeId();
    const eds = (c1: string) => [edsCluster("c1"), loadAssignment("c1", [{ host: c1, port: 80 }]), loadAssignment("c2", [{ host: "10.0.0.2", port: 80 }])];
    h.cache.setSnapshot(node, buildSnapshot(eds("10.0.0.1")));
    const s = client.delta();
    s.send({ node: { id: node }, typeUrl: TypeUrl.EDS, resourceNamesSubscribe: ["c1"] });
    const r1 = await s.next();
    assert.deepEqual([names(r1), r1.removedResources], [["c1"], []]);
    ack(s, r1);
    s.send({ typeUrl: TypeUrl.EDS, resourceNamesSubscribe: ["c2", "nope"] });
    const r2 = await s.next();
    assert.deepEqual([names(r2), r2.removedResources], [["c2"], ["nope"]]);
    ack(s, r2);
    // Unsubscribe c1: no response needed, and its changes no longer reach the client.
    s.send({ typeUrl: TypeUrl.EDS, resourceNamesUnsubscribe: ["c1"] });
    await s.none();
    h.cache.setSnapshot(node, buildSnapshot(eds("10.0.0.9")));
    await s.none();
    // Resubscribe c1: sent although the server thinks nothing changed for it since.
    s.send({ typeUrl: TypeUrl.EDS, resourceNamesSubscribe: ["c1"] });
    const r3 = await s.next();
    assert.deepEqual(names(r3), ["c1"]);
    // Re-subscribing to a name the client holds still answers it ("Subscribing to Resources").
    ack(s, r3);
    s.send({ typeUrl: TypeUrl.EDS, resourceNamesSubscribe: ["c2"] });
    assert.deepEqual(names(await s.next()), ["c2"]);
    s.close();
  });

  it("a CDS push resends the ClusterLoadAssignments of the clusters it updated (cluster warming)", async () => {
    const node = nodeId();
    const cla = [loadAssignment("c1", [{ host: "10.0.0.1", port: 80 }]), loadAssignment("c2", [{ host: "10.0.0.2", port: 80 }])];
    h.cache.setSnapshot(node, buildSnapshot([edsCluster("c1"), edsCluster("c2"), ...cla]));
    const s = client.delta();
    s.send({ node: { id: node }, typeUrl: TypeUrl.CDS });
    const c = await s.next();
    ack(s, c);
    s.send({ typeUrl: TypeUrl.EDS, resourceNamesSubscribe: ["c1", "c2"] });
    const e = await s.next();
    ack(s, e);
    // Only c2's cluster changes: CDS [c2], then EDS [c2] unchanged, not c1.
    h.cache.setSnapshot(node, buildSnapshot([edsCluster("c1"), edsCluster("c2", "c2"), ...cla]));
    const c2 = await s.next();
    const e2 = await s.next();
    assert.deepEqual([c2.typeUrl, names(c2)], [TypeUrl.CDS, ["c2"]]);
    assert.deepEqual([e2.typeUrl, names(e2), e2.removedResources], [TypeUrl.EDS, ["c2"], []]);
    assert.equal(e2.resources[0]!.version, e.resources[1]!.version);
    s.close();
  });

  it("reconnect with initial_resource_versions: sends only what differs, removes what the server lacks", async () => {
    const node = nodeId();
    const snap = buildSnapshot([workloadAddress("w1"), workloadAddress("w2"), workloadAddress("w3")]);
    h.cache.setSnapshot(node, snap);
    const s = client.delta();
    s.send({
      node: { id: node }, typeUrl: TypeUrl.Address,
      initialResourceVersions: { w1: resVersion(snap, TypeUrl.Address, "w1"), w2: "stale", gone: "x" },
    });
    const r = await s.next();
    assert.deepEqual(names(r), ["w2", "w3"]);
    assert.deepEqual(r.removedResources, ["gone"]);
    ack(s, r);
    // Nothing differs: the first request of a type is still answered (ztunnel waits for it).
    s.send({ typeUrl: TypeUrl.Authorization, initialResourceVersions: {} });
    const z = await s.next();
    assert.deepEqual([z.resources.length, z.removedResources.length], [0, 0]);
    s.close();

    // ztunnel ignores versions and sends "": everything is sent again, nothing removed.
    const s2 = client.delta();
    s2.send({ node: { id: node }, typeUrl: TypeUrl.Address, initialResourceVersions: { w1: "", w2: "" } });
    const r2 = await s2.next();
    assert.deepEqual([names(r2), r2.removedResources], [["w1", "w2", "w3"], []]);
    s2.close();
  });

  it("wildcard with \"*\", on-demand opening (subscribe and unsubscribe \"*\"), and the wildcard-plus-name unsubscribe rule", async () => {
    const node = nodeId();
    h.cache.setSnapshot(node, buildSnapshot([workloadAddress("w1"), workloadAddress("w2")]));
    const s = client.delta();
    // ztunnel on-demand: "*" subscribed and unsubscribed in the first request = nothing, answered empty.
    s.send({ node: { id: node }, typeUrl: TypeUrl.Address, resourceNamesSubscribe: ["*"], resourceNamesUnsubscribe: ["*"] });
    const r0 = await s.next();
    assert.deepEqual([r0.resources.length, r0.removedResources.length], [0, 0]);
    ack(s, r0);
    s.send({ typeUrl: TypeUrl.Address, resourceNamesSubscribe: ["w1"] });
    const r1 = await s.next();
    assert.deepEqual(names(r1), ["w1"]);
    ack(s, r1);
    // Adding "*": the rest is sent, not w1 again.
    s.send({ typeUrl: TypeUrl.Address, resourceNamesSubscribe: ["*"] });
    const r2 = await s.next();
    assert.deepEqual(names(r2), ["w2"]);
    ack(s, r2);
    // With "*" plus w1, unsubscribing w1 must answer w1 (still covered by the wildcard).
    s.send({ typeUrl: TypeUrl.Address, resourceNamesUnsubscribe: ["w1"] });
    const r3 = await s.next();
    assert.deepEqual(names(r3), ["w1"]);
    s.close();
  });
});
