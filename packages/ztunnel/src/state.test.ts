import { test } from "node:test";
import assert from "node:assert/strict";
import { MeshState, type StateChange } from "./state.js";
import { serviceDefaults, workloadDefaults } from "./types.js";

test("state: indexes by uid, IP, VIP, hostname and endpoints; removal by xDS name", () => {
  const s = new MeshState();
  const changes: StateChange[] = [];
  s.onChange((c) => changes.push(c));
  s.batch(() => {
    s.upsertWorkload(workloadDefaults({ uid: "a", name: "a", namespace: "ns", addresses: ["10.0.0.1"], node: "n1", services: { "ns/svc.ns.svc.cluster.local": [{ servicePort: 80, targetPort: 8080 }] } }));
    s.upsertWorkload(workloadDefaults({ uid: "b", name: "b", namespace: "ns", addresses: ["10.0.0.2"], node: "n2" }));
    s.upsertService(serviceDefaults({ name: "svc", namespace: "ns", hostname: "svc.ns.svc.cluster.local", vips: ["10.96.0.1"] }));
  });
  assert.equal(changes.length, 1, "one notification per batch");
  assert.deepEqual(changes[0], { workloads: true, services: true, policies: false });
  assert.equal(s.workloadByIp("10.0.0.1")?.uid, "a");
  assert.equal(s.serviceByVip("10.96.0.1")?.name, "svc");
  assert.deepEqual(s.endpoints("ns/svc.ns.svc.cluster.local").map((w) => w.uid), ["a"]);
  assert.deepEqual(s.workloadsOnNode("n1").map((w) => w.uid), ["a"]);
  assert.equal(s.servicesByHostname("svc.ns.svc.cluster.local")[0]?.namespace, "ns");

  // An update that moves the workload out of the service and to a new IP.
  s.upsertWorkload(workloadDefaults({ uid: "a", name: "a", namespace: "ns", addresses: ["10.0.0.3"] }));
  assert.equal(s.workloadByIp("10.0.0.1"), undefined);
  assert.equal(s.workloadByIp("10.0.0.3")?.uid, "a");
  assert.deepEqual(s.endpoints("ns/svc.ns.svc.cluster.local"), []);

  assert.equal(s.removeAddress("ns/svc.ns.svc.cluster.local"), true);
  assert.equal(s.serviceByVip("10.96.0.1"), undefined);
  assert.equal(s.removeAddress("b"), true);
  assert.equal(s.removeAddress("b"), false);
  assert.deepEqual(s.names(), { addresses: ["a"], policies: [] });
});

test("state: two workloads on one IP (a pod being replaced): removing one keeps the other findable", () => {
  const s = new MeshState();
  s.upsertWorkload(workloadDefaults({ uid: "old", name: "p", namespace: "ns", addresses: ["10.0.0.1"] }));
  s.upsertWorkload(workloadDefaults({ uid: "new", name: "p", namespace: "ns", addresses: ["10.0.0.1"] }));
  assert.equal(s.workloadByIp("10.0.0.1")?.uid, "new");
  s.removeAddress("new");
  assert.equal(s.workloadByIp("10.0.0.1")?.uid, "old");
});
