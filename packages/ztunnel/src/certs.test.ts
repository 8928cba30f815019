import { test } from "node:test";
import assert from "node:assert/strict";
import { CertificateAuthority } from "@waystation/pki";
import { CertManager, type CertificateSource } from "./certs.js";

const SLEEP = "spiffe://cluster.local/ns/default/sa/sleep";

/** Renewal timers are unref'd (a ztunnel has listeners to keep it alive); a test needs a handle of its own. */
function keepAlive(t: { after: (fn: () => void) => void }): void {
  const h = setInterval(() => {}, 1000);
  t.after(() => clearInterval(h));
}

test("certificates: fetched once, renewed at half-life, announced; the bundle comes from the chain", async (t) => {
  const ca = await CertificateAuthority.start({});
  let fetches = 0;
  const source: CertificateSource = { fetch: (identity) => { fetches++; return ca.issueKeyPair({ identity, ttlSeconds: 2 }); } };
  const certs = new CertManager({ source });
  t.after(() => certs.close());
  keepAlive(t);
  const [a, b] = await Promise.all([certs.get(SLEEP), certs.get(SLEEP)]);
  assert.equal(a, b, "concurrent callers share one fetch");
  assert.equal(fetches, 1);
  assert.equal(certs.trustBundle(), ca.trustBundle().pem());
  const changed = new Promise<string | undefined>((r) => certs.onChange(r));
  // Issued with whole-second times: not_before + 1 s is at most a second away.
  assert.equal(await changed, SLEEP);
  const renewed = certs.current(SLEEP)!;
  assert.notEqual(renewed.serial, a.serial);
  assert.equal(certs.dump()[0]?.identity, SLEEP);
});

test("certificates: a failed fetch is retried with backoff; retain() forgets identities no longer local", async (t) => {
  const ca = await CertificateAuthority.start({});
  let calls = 0;
  const source: CertificateSource = {
    fetch: (identity) => (++calls === 1 ? Promise.reject(new Error("CA unavailable")) : ca.issueKeyPair({ identity })),
  };
  const certs = new CertManager({ source, retryMs: 20, trustBundlePem: ca.trustBundle().pem() });
  t.after(() => certs.close());
  keepAlive(t);
  const got = new Promise<string | undefined>((r) => certs.onChange(r));
  await assert.rejects(certs.get(SLEEP), /CA unavailable/);
  assert.equal(await got, SLEEP, "the retry succeeded without a caller asking");
  assert.ok(certs.current(SLEEP));
  await certs.retain([]);
  assert.equal(certs.current(SLEEP), undefined);
});
