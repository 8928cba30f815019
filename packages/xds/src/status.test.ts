import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { XdsStatus, type NackRecord } from "./status.js";
import { TypeUrl } from "./types.js";

describe("XdsStatus", () => {
  it("keeps a bounded ring of recent NACKs, oldest first, and counts repeats without listing them", () => {
    const seen: NackRecord[] = [];
    const st = new XdsStatus({ maxNacks: 3, now: () => 0, hooks: { onNack: (n) => seen.push(n) } });
    const rec = st.connect({ id: "s1", node: "n", group: undefined, variant: "sotw", peer: "p" });
    for (let i = 1; i <= 5; i++) st.nack(rec, TypeUrl.LDS, `v${i}`, `${i}`, `bad ${i}`, 3);
    st.nack(rec, TypeUrl.LDS, "v5", "5", "bad 5", 3);
    assert.deepEqual(st.recentNacks().map((n) => n.nonce), ["3", "4", "5"]);
    assert.equal(seen.length, 5);
    assert.equal(st.type(rec, TypeUrl.LDS).repeatedNacks, 1);
    assert.equal(st.syncz()[0]!.types.LDS!.lastNack!.message, "bad 5");
  });

  it("reports sync states and survives a throwing hook", () => {
    const st = new XdsStatus({ hooks: { onPush: () => { throw new Error("hook"); } } });
    const rec = st.connect({ id: "s1", node: "n", group: "g", variant: "delta", peer: "p" });
    st.type(rec, TypeUrl.CDS).desiredVersion = "v1";
    st.sent(rec, { type: TypeUrl.CDS, version: "v1", resources: 1, removed: 0, bytes: 10, durationMs: 1 }, "1");
    assert.equal(st.syncz()[0]!.types.CDS!.state, "STALE");
    st.ack(rec, TypeUrl.CDS, "v1", "1");
    assert.equal(st.syncz()[0]!.types.CDS!.state, "SYNCED");
    st.nack(rec, TypeUrl.CDS, "v1", "1", "no", 3);
    assert.equal(st.syncz()[0]!.types.CDS!.state, "NACKED");
    assert.equal(st.syncz()[0]!.group, "g");
    st.disconnect(rec);
    assert.deepEqual(st.syncz(), []);
  });
});
