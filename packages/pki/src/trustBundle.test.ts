import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertificateAuthority } from "./ca.js";
import { createCsr } from "./csr.js";
import { TrustBundle } from "./trustBundle.js";
import { verifyChain } from "./verify.js";

const ID = "spiffe://cluster.local/ns/default/sa/reviews";
const HOUR = 3_600_000;

test("TrustBundle: rotation keeps old roots until it is finished", () => {
  const b = new TrustBundle(["A"]);
  assert.equal(b.rotating, false);
  const r = b.rotatedTo("B");
  assert.deepEqual(r.roots, ["B", "A"]);
  assert.equal(r.rotating, true);
  assert.equal(r.pem(), "BA");
  assert.deepEqual(r.rotatedTo("C").roots, ["C", "B", "A"], "a second rotation keeps every retiring root");
  assert.deepEqual(r.withoutRetiring().roots, ["B"]);
});

test("root rotation: overlap, then the old root is dropped", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "pki-rot-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let now = Date.parse("2030-01-01T00:00:00Z");
  const clock = () => now;
  const ca = await CertificateAuthority.start({ stateDir: dir, clock });
  const changes: TrustBundle[] = [];
  ca.onBundleChange((b) => changes.push(b));
  const oldRoot = ca.trustBundle().active[0]!;
  const { csrPem } = await createCsr(ID);
  const oldLeaf = await ca.sign({ csrPem, identity: ID });

  now += HOUR;
  const overlap = await ca.rotateRoot();
  assert.equal(overlap.roots.length, 2, "old and new roots during the overlap");
  assert.notEqual(overlap.active[0], oldRoot);
  assert.deepEqual(overlap.retiring, [oldRoot]);
  const newLeaf = await ca.sign({ csrPem, identity: ID });
  assert.equal(newLeaf.certChain[newLeaf.certChain.length - 1], overlap.active[0], "new leaves chain to the new root");
  const at = new Date(now + 1000);
  assert.ok(verifyChain(newLeaf.certChain, overlap.pem(), at).ok, "new leaf verifies against the bundle");
  assert.ok(verifyChain(oldLeaf.certChain, overlap.pem(), at).ok, "old leaf still verifies during the overlap");
  assert.ok(verifyChain(oldLeaf.certChain.slice(0, 1), overlap.pem(), at).ok, "even without its root attached");

  const restarted = await CertificateAuthority.start({ stateDir: dir, clock });
  assert.deepEqual(restarted.trustBundle().roots, overlap.roots, "the overlap survives a restart");

  now += HOUR;
  const done = await ca.finishRotation();
  assert.deepEqual(done.roots, [overlap.active[0]]);
  assert.ok(verifyChain(newLeaf.certChain, done.pem(), new Date(now)).ok);
  assert.deepEqual(verifyChain(oldLeaf.certChain.slice(0, 1), done.pem(), new Date(now)), { ok: false, reason: "the chain does not lead to a root of the trust bundle" });
  await assert.rejects(stat(join(dir, "retiring-roots.pem")), /ENOENT/);
  assert.deepEqual((await CertificateAuthority.start({ stateDir: dir, clock })).trustBundle().roots, done.roots);
  assert.deepEqual(changes.map((b) => b.roots.length), [2, 1], "listeners saw both changes");
});

test("finishRotation without a rotation changes nothing", async () => {
  const ca = await CertificateAuthority.start();
  const before = ca.trustBundle();
  assert.equal(await ca.finishRotation(), before);
});
