import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { NodeSchema } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { SnapshotCache, type SnapshotWatcher } from "./cache.js";
import { buildSnapshot, type Snapshot } from "./snapshot.js";
import { edsCluster, listener, routeConfig } from "./testing/envoy.js";
import { PUSH_ORDER, TypeUrl } from "./types.js";

function recorder(types: readonly string[] = PUSH_ORDER): SnapshotWatcher & { calls: { snap: Snapshot; changed: readonly string[] }[] } {
  const calls: { snap: Snapshot; changed: readonly string[] }[] = [];
  return { types: new Set(types), calls, onSnapshot: (snap, changed) => calls.push({ snap, changed }) };
}

describe("SnapshotCache", () => {
  it("refuses a snapshot that fails the check; the previous one keeps serving and the refusal is recorded", () => {
    const cache = new SnapshotCache({
      check: (s) => (s.get(TypeUrl.RDS)!.items.some((r) => r.name === "bad") ? ["route bad: cluster missing"] : []),
      now: () => 42,
    });
    const good = buildSnapshot([listener("l")]);
    assert.deepEqual(cache.setSnapshot("n1", good), { ok: true, changed: PUSH_ORDER });
    const w = recorder();
    cache.watch({ id: "n1" }, w);
    const res = cache.setSnapshot("n1", buildSnapshot([listener("l"), routeConfig("bad", "x")]));
    assert.deepEqual(res, { ok: false, errors: ["route bad: cluster missing"] });
    assert.equal(cache.resolve({ id: "n1" }), good);
    assert.equal(w.calls.length, 0);
    assert.equal(cache.refusals().length, 1);
    assert.deepEqual(cache.refusals()[0]!.errors, ["route bad: cluster missing"]);
    assert.equal(cache.refusals()[0]!.time, 42);
    // A later good snapshot clears the refusal.
    assert.equal(cache.setSnapshot("n1", buildSnapshot([listener("l2")])).ok, true);
    assert.deepEqual(cache.refusals(), []);
  });

  it("treats a throwing check as a refusal", () => {
    const cache = new SnapshotCache({ check: () => { throw new Error("boom"); } });
    const r = cache.setSnapshot("n", buildSnapshot([]));
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.errors[0]! : "", /boom/);
  });

  it("notifies only for changed types the watcher subscribes to", () => {
    const cache = new SnapshotCache();
    cache.setSnapshot("n", buildSnapshot([listener("l"), edsCluster("c")]));
    const lds = recorder([TypeUrl.LDS]);
    const cds = recorder([TypeUrl.CDS]);
    cache.watch({ id: "n" }, lds);
    cache.watch({ id: "n" }, cds);
    cache.setSnapshot("n", buildSnapshot([listener("l2"), edsCluster("c")]));
    cache.setSnapshot("n", buildSnapshot([listener("l2"), edsCluster("c")])); // same content: nobody
    assert.deepEqual(lds.calls.map((c) => c.changed), [[TypeUrl.LDS]]);
    assert.equal(cds.calls.length, 0);
  });

  it("falls back to the node group, shares one snapshot object, and prefers an exact snapshot", () => {
    const cache = new SnapshotCache({ nodeGroup: (n) => (n.id.startsWith("waypoint~") ? "gw/default/wp" : undefined) });
    const key = cache.nodeKey(create(NodeSchema, { id: "waypoint~10.0.0.1~wp-1.default~default.svc.cluster.local" }));
    assert.equal(key.group, "gw/default/wp");
    assert.equal(cache.nodeKey(create(NodeSchema, { id: "ztunnel~x" })).group, undefined);
    const watchers = Array.from({ length: 1000 }, (_, i) => {
      const w = recorder();
      cache.watch({ id: `waypoint~${i}`, group: "gw/default/wp" }, w);
      return w;
    });
    const shared = buildSnapshot([listener("main")]);
    cache.setSnapshot("gw/default/wp", shared);
    assert.ok(watchers.every((w) => w.calls.length === 1 && w.calls[0]!.snap === shared));
    assert.equal(cache.resolve({ id: "waypoint~7", group: "gw/default/wp" }), shared);

    // An exact snapshot for one replica wins over the group; group changes no longer reach it.
    const own = buildSnapshot([listener("own")]);
    cache.setSnapshot("waypoint~7", own);
    assert.deepEqual(watchers[7]!.calls.map((c) => c.changed), [PUSH_ORDER, [TypeUrl.LDS]]);
    cache.setSnapshot("gw/default/wp", buildSnapshot([listener("main2")]));
    assert.equal(watchers[7]!.calls.length, 2);
    assert.equal(watchers[8]!.calls.length, 2);
    assert.equal(cache.resolve({ id: "waypoint~7", group: "gw/default/wp" }), own);
  });

  it("stops notifying after cancel", () => {
    const cache = new SnapshotCache();
    const w = recorder();
    const cancel = cache.watch({ id: "n", group: "g" }, w);
    assert.equal(cache.watchCount, 1);
    cancel();
    assert.equal(cache.watchCount, 0);
    cache.setSnapshot("n", buildSnapshot([]));
    cache.setSnapshot("g", buildSnapshot([]));
    assert.equal(w.calls.length, 0);
  });

  it("regroup: a node that resolved to nothing moves to the group it belongs to now; one with a snapshot stays", () => {
    const groups = new Map<string, string>();
    const cache = new SnapshotCache({ nodeGroup: (n) => groups.get(n.id) });
    const orphan = create(NodeSchema, { id: "waypoint~1" });
    const served = create(NodeSchema, { id: "waypoint~2" });
    const wo = { ...recorder(), keys: [] as (string | undefined)[] };
    wo.onRegroup = (k) => wo.keys.push(k.group);
    const ws = recorder();
    const cancel = cache.watch(cache.nodeKey(orphan), wo, orphan);
    cache.setSnapshot("old", buildSnapshot([listener("old")]));
    groups.set("waypoint~2", "old");
    cache.watch(cache.nodeKey(served), ws, served);

    // The waypoint appears: both nodes now map to "new", which has a snapshot.
    groups.set("waypoint~1", "new");
    groups.set("waypoint~2", "new");
    const snap = buildSnapshot([listener("l")]);
    cache.setSnapshot("new", snap);
    assert.equal(wo.calls.length, 0, "not watching the new group yet");
    assert.equal(cache.regroup(), 1);
    assert.deepEqual(wo.keys, ["new"]);
    assert.equal(wo.calls.length, 1);
    assert.equal(wo.calls[0]!.snap, snap);
    assert.equal(ws.calls.length, 0, "a node with a snapshot keeps it");
    assert.equal(cache.regroup(), 0, "idempotent");
    // The moved watch follows its new group, and cancels cleanly from there.
    cache.setSnapshot("new", buildSnapshot([listener("l2")]));
    assert.equal(wo.calls.length, 2);
    cancel();
    assert.equal(cache.watchCount, 1);
  });
});
