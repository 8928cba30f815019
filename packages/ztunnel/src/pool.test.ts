import { test } from "node:test";
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import type { ClientHttp2Session } from "node:http2";
import { HbonePool, type PoolKey } from "./pool.js";

/** Enough of a ClientHttp2Session for the pool: settings, close/destroy, events. */
class FakeSession extends EventEmitter {
  closed = false;
  destroyed = false;
  constructor(readonly remoteSettings: { maxConcurrentStreams?: number }) { super(); }
  close(): void { this.closed = true; this.emit("close"); }
  destroy(): void { this.destroyed = true; this.emit("close"); }
}

const key = (dst = "10.0.0.3"): PoolKey => ({ srcIdentity: "spiffe://td/ns/a/sa/s", srcIp: "10.0.0.2", dstIdentities: ["spiffe://td/ns/a/sa/d"], dst: { host: dst, port: 15008 } });

test("pool: concurrent acquires share a session up to the stream limit (min of ours and the peer's)", async () => {
  const opened: FakeSession[] = [];
  const pool = new HbonePool({
    maxStreamsPerSession: 100,
    connect: async () => { await new Promise((r) => setTimeout(r, 5)); const s = new FakeSession({ maxConcurrentStreams: 60 }); opened.push(s); return s as unknown as ClientHttp2Session; },
  });
  const leases = await Promise.all(Array.from({ length: 130 }, () => pool.acquire(key())));
  assert.equal(opened.length, 3, "60 streams per session (the peer's SETTINGS) for 130 flows");
  assert.equal(leases.filter((l) => l.fresh).length, 3);
  assert.deepEqual(Object.values(pool.stats().byKey), [{ sessions: 3, streams: 130 }]);
  await pool.acquire(key("10.0.0.4"));
  assert.equal(opened.length, 4, "another destination, another session");
  pool.close();
  assert.ok(opened.every((s) => s.destroyed));
});

test("pool: idle sessions close after the timeout; drained ones when their last stream ends; failures propagate", async () => {
  const opened: FakeSession[] = [];
  let fail = false;
  const pool = new HbonePool({
    idleTimeoutMs: 20,
    connect: async () => { if (fail) throw new Error("refused"); const s = new FakeSession({}); opened.push(s); return s as unknown as ClientHttp2Session; },
  });
  const l1 = await pool.acquire(key());
  l1.release();
  l1.release(); // twice is harmless
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(opened[0]!.closed, true, "idle release");
  const l2 = await pool.acquire(key());
  const l3 = await pool.acquire(key());
  assert.equal(opened.length, 2);
  pool.drainIdentity(key().srcIdentity);
  const l4 = await pool.acquire(key());
  assert.equal(opened.length, 3, "a drained session takes no new stream");
  l2.release();
  assert.equal(opened[1]!.closed, false, "still one stream on it");
  l3.release();
  assert.equal(opened[1]!.closed, true, "closed with its last stream");
  l4.release();
  fail = true;
  await assert.rejects(pool.acquire(key("10.0.0.9")), /refused/);
  pool.close();
});
