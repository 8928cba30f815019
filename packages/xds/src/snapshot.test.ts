import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { StatusSchema } from "@waystation/proto/google/rpc/status_pb.js";
import { SnapshotError, buildSnapshot, changedTypes } from "./snapshot.js";
import { edsCluster, listener, loadAssignment, routeConfig, workloadAddress, authorization } from "./testing/envoy.js";
import { PUSH_ORDER, TypeUrl } from "./types.js";

describe("buildSnapshot", () => {
  it("sorts by name, versions by content, and is independent of input order", () => {
    const a = buildSnapshot([listener("b"), listener("a"), edsCluster("c1")]);
    const b = buildSnapshot([edsCluster("c1"), listener("a"), listener("b")]);
    assert.deepEqual(a.get(TypeUrl.LDS)!.items.map((r) => r.name), ["a", "b"]);
    assert.deepEqual(a.versions(), b.versions());
    assert.match(a.version(TypeUrl.LDS), /^[0-9a-f]{16}$/);
    assert.equal(a.get(TypeUrl.LDS)!.get("a")!.version, b.get(TypeUrl.LDS)!.get("a")!.version);
  });

  it("has a stable version for known content (restart-safe) and for every served type", () => {
    const s = buildSnapshot([]);
    // sha256 of nothing: the same on every run and every machine.
    assert.equal(s.version(TypeUrl.CDS), "e3b0c44298fc1c14");
    for (const u of PUSH_ORDER) assert.equal(s.get(u)!.items.length, 0);
    assert.equal(s.get("type.googleapis.com/nope"), undefined);
  });

  it("changes only the versions of changed types", () => {
    const s1 = buildSnapshot([listener("l"), routeConfig("r", "c"), edsCluster("c")]);
    const s2 = buildSnapshot([listener("l"), routeConfig("r", "d"), edsCluster("c")]);
    assert.deepEqual(changedTypes(s1, s2), [TypeUrl.RDS]);
    assert.deepEqual(changedTypes(undefined, s2), [...PUSH_ORDER]);
    assert.deepEqual(changedTypes(s2, s2), []);
  });

  it("frames names and bytes so different splits never collide", () => {
    const s1 = buildSnapshot([listener("ab", "x")]);
    const s2 = buildSnapshot([listener("a", "bx")]);
    assert.notEqual(s1.version(TypeUrl.LDS), s2.version(TypeUrl.LDS));
  });

  it("derives names for every type, or takes an explicit one", () => {
    const s = buildSnapshot([loadAssignment("cla", []), workloadAddress("Kubernetes//Pod/default/p"), authorization("ns", "allow"),
      { name: "explicit", message: listener("ignored") }]);
    assert.deepEqual(s.get(TypeUrl.EDS)!.items.map((r) => r.name), ["cla"]);
    assert.deepEqual(s.get(TypeUrl.Address)!.items.map((r) => r.name), ["Kubernetes//Pod/default/p"]);
    assert.deepEqual(s.get(TypeUrl.Authorization)!.items.map((r) => r.name), ["ns/allow"]);
    assert.deepEqual(s.get(TypeUrl.LDS)!.items.map((r) => r.name), ["explicit"]);
    assert.equal(s.messagesByTypeUrl()[TypeUrl.Authorization]![0]!.$typeName, "istio.security.Authorization");
  });

  it("refuses duplicates, empty names and types it does not serve", () => {
    assert.throws(() => buildSnapshot([listener("a"), listener("a")]), SnapshotError);
    assert.throws(() => buildSnapshot([listener("")]), /without a name/);
    assert.throws(() => buildSnapshot([create(StatusSchema)]), /google.rpc.Status is not a type/);
  });

  it("encodes a message object once: a later snapshot reusing it shares its encoding", () => {
    const kept = listener("a");
    const first = buildSnapshot([kept, listener("b")]);
    const second = buildSnapshot([kept, listener("b")]);
    assert.equal(second.get(TypeUrl.LDS)!.get("a"), first.get(TypeUrl.LDS)!.get("a"), "same message: same encoded resource");
    assert.notEqual(second.get(TypeUrl.LDS)!.get("b"), first.get(TypeUrl.LDS)!.get("b"), "new message: encoded again");
    assert.equal(second.get(TypeUrl.LDS)!.get("b")!.version, first.get(TypeUrl.LDS)!.get("b")!.version, "same content, same version");
    const renamed = buildSnapshot([{ name: "a2", message: kept }]);
    assert.equal(renamed.get(TypeUrl.LDS)!.get("a2")!.name, "a2", "an explicit other name is not taken from the memo");
  });
});
