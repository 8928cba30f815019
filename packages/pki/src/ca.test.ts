import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync, X509Certificate, type webcrypto } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CertificateAuthority, Lifetimes } from "./ca.js";
import { generateP256, nodeCrypto, randomSerial, toPem, x509 } from "./certs.js";
import { createCsr } from "./csr.js";
import { isPkiError } from "./errors.js";
import { verifyChain } from "./verify.js";

const ID = "spiffe://cluster.local/ns/default/sa/reviews";
const T0 = Date.parse("2030-01-01T00:00:00Z");

async function tmp(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pki-ca-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A CSR with any key and SAN list, to feed the CA what Istio's agents never send. */
async function csrWith(keys: webcrypto.CryptoKeyPair | webcrypto.CryptoKey, alg: webcrypto.EcdsaParams | webcrypto.Algorithm, names: x509.JsonGeneralName[]): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: keys as webcrypto.CryptoKeyPair, signingAlgorithm: alg,
    extensions: names.length ? [new x509.SubjectAlternativeNameExtension(names, true)] : [],
  }, nodeCrypto);
  return csr.toString("pem");
}

test("issues a leaf that verifies, with Istio's shape", async () => {
  const ca = await CertificateAuthority.start({ clock: () => T0 });
  const { csrPem } = await createCsr(ID);
  const issued = await ca.sign({ csrPem, identity: ID });
  assert.equal(issued.certChain.length, 2, "leaf + root");
  for (const pem of issued.certChain) assert.equal((pem.match(/BEGIN CERTIFICATE/g) ?? []).length, 1, "one PEM per element");
  assert.equal(issued.certChain[1], ca.trustBundle().active[0], "root last");

  const leaf = new X509Certificate(issued.certChain[0]!);
  const root = new X509Certificate(issued.certChain[1]!);
  assert.ok(leaf.checkIssued(root) && leaf.verify(root.publicKey));
  assert.deepEqual(verifyChain(issued.certChain, ca.trustBundle().pem(), new Date(T0 + 1000)), { ok: true, identity: ID, root: root.toString() });
  assert.equal(leaf.subjectAltName, `URI:${ID}`, "exactly one SAN, the identity");
  assert.equal(leaf.subject, undefined, "empty subject");
  assert.equal(leaf.ca, false);
  assert.equal(leaf.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
  assert.deepEqual([...(leaf.keyUsage ?? [])].sort(), ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"], "serverAuth + clientAuth");
  const px = new x509.X509Certificate(issued.certChain[0]!);
  assert.equal(px.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  assert.equal(px.getExtension(x509.SubjectAlternativeNameExtension)?.critical, true, "SAN critical with an empty subject");
  assert.equal(new Date(leaf.validFrom).getTime(), T0);
  assert.equal(new Date(leaf.validTo).getTime() - T0, Lifetimes.defaultLeafSeconds * 1000, "24 h default");

  assert.equal(root.ca, true);
  assert.equal(new Date(root.validTo).getTime() - T0, 3650 * 86_400_000, "10-year root");
  const rx = new x509.X509Certificate(issued.certChain[1]!);
  assert.ok((rx.getExtension(x509.KeyUsagesExtension)!.usages & x509.KeyUsageFlags.keyCertSign) !== 0);
  assert.equal(rx.getExtension(x509.BasicConstraintsExtension)?.critical, true);

  const again = await ca.sign({ csrPem, identity: ID });
  assert.notEqual(again.serial, issued.serial, "random serials");
});

test("honours validity_duration up to the 90-day cap", async () => {
  const ca = await CertificateAuthority.start({ clock: () => T0 });
  const { csrPem } = await createCsr(ID);
  const hour = await ca.sign({ csrPem, identity: ID, ttlSeconds: 3600 });
  assert.equal(hour.notAfter.getTime() - T0, 3600_000);
  const year = await ca.sign({ csrPem, identity: ID, ttlSeconds: 365 * 86_400 });
  assert.equal(year.notAfter.getTime() - T0, 90 * 86_400_000);
  const zero = await ca.sign({ csrPem, identity: ID, ttlSeconds: 0 });
  assert.equal(zero.notAfter.getTime() - T0, 86_400_000);
});

test("no leaf outlives its root", async () => {
  const ca = await CertificateAuthority.start({ clock: () => T0, rootTtlSeconds: 3600 });
  const { csrPem } = await createCsr(ID);
  const issued = await ca.sign({ csrPem, identity: ID });
  assert.equal(issued.notAfter.getTime(), T0 + 3600_000);
});

test("rejects CSRs Istio's CA would not sign", async (t) => {
  const ca = await CertificateAuthority.start();
  const rejects = async (csrPem: string, kind: string, message: RegExp, identity = ID) => {
    await assert.rejects(ca.sign({ csrPem, identity }), (e: unknown) => isPkiError(e) && e.kind === kind && message.test(e.message));
  };
  await t.test("a SAN other than the authorised identity", async () => {
    const { csrPem } = await createCsr("spiffe://cluster.local/ns/default/sa/other");
    await rejects(csrPem, "PermissionDenied", /^certificate SAN is spiffe:\/\/cluster.local\/ns\/default\/sa\/other, expected spiffe:\/\/cluster.local\/ns\/default\/sa\/reviews/);
  });
  await t.test("an RSA key", async () => {
    const rsa = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) };
    const keys = await nodeCrypto.subtle.generateKey(rsa, true, ["sign", "verify"]);
    await rejects(await csrWith(keys, rsa, [{ type: "url", value: ID }]), "InvalidCsr", /CSR key is RSA; this CA signs only ECDSA P-256 keys/);
  });
  await t.test("another curve", async () => {
    const alg = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" };
    const keys = await nodeCrypto.subtle.generateKey(alg, true, ["sign", "verify"]);
    await rejects(await csrWith(keys, alg, [{ type: "url", value: ID }]), "InvalidCsr", /CSR key is ECDSA P-384/);
  });
  await t.test("a signature that does not verify", async () => {
    const { csrPem } = await createCsr("spiffe://cluster.local/ns/default/sa/reviewx");
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
    const at = der.indexOf(Buffer.from("reviewx"));
    der.write("reviews", at); // same length: still decodes, but the signature no longer matches
    const tampered = x509.PemConverter.encode(der, "CERTIFICATE REQUEST");
    await rejects(tampered, "InvalidCsr", /CSR signature does not verify/);
  });
  await t.test("no SAN, two SANs, a DNS SAN", async () => {
    const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
    const { keys } = await generateP256();
    await rejects(await csrWith(keys, alg, []), "InvalidCsr", /CSR has no URI SAN/);
    await rejects(await csrWith(keys, alg, [{ type: "url", value: ID }, { type: "url", value: `${ID}2` }]), "InvalidCsr", /CSR has 2 URI SANs/);
    await rejects(await csrWith(keys, alg, [{ type: "url", value: ID }, { type: "dns", value: "evil.example" }]), "InvalidCsr", /DNS SAN evil.example/);
  });
  await t.test("not a CSR", async () => {
    await rejects("hello", "InvalidCsr", /csr holds 0 certificate requests/);
  });
  await t.test("an identity in another trust domain", async () => {
    const other = "spiffe://example.org/ns/default/sa/reviews";
    const { csrPem } = await createCsr(other);
    await rejects(csrPem, "PermissionDenied", /trust domain "example.org"; this CA issues for "cluster.local"/, other);
  });
});

test("keeps its root across restarts in the state directory", async (t) => {
  const dir = await tmp(t);
  const first = await CertificateAuthority.start({ stateDir: dir });
  const second = await CertificateAuthority.start({ stateDir: dir });
  assert.equal(second.trustBundle().pem(), first.trustBundle().pem());
  assert.equal((await stat(join(dir, "root-key.pem"))).mode & 0o777, 0o600);
  const { csrPem } = await createCsr(ID);
  const issued = await second.sign({ csrPem, identity: ID });
  assert.ok(verifyChain(issued.certChain, first.trustBundle().pem(), new Date()).ok, "leaves of the restarted CA verify against the first root");
});

test("refuses a state directory with a root but no key", async (t) => {
  const dir = await tmp(t);
  await CertificateAuthority.start({ stateDir: dir });
  await rm(join(dir, "root-key.pem"));
  await assert.rejects(CertificateAuthority.start({ stateDir: dir }), /has root-cert.pem but not root-key.pem/);
});

/** An operator's CA: a root and an intermediate, written in Istio's plugged-in layout. */
async function pluggedLayout(dir: string, keyFormat: "pkcs8" | "sec1" | "rsa"): Promise<{ root: string; intermediate: string }> {
  const rootKeys = (await generateP256()).keys;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: "O=Example Corp, CN=Example Root CA", keys: rootKeys, serialNumber: randomSerial(),
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 365 * 86_400_000), signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as never,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey, false, nodeCrypto)],
  }, nodeCrypto);
  let keyPem: string;
  let publicKey: x509.PublicKey;
  if (keyFormat === "rsa") {
    const kp = generateKeyPairSync("rsa", { modulusLength: 2048 });
    keyPem = kp.privateKey.export({ format: "pem", type: "pkcs1" }) as string;
    publicKey = new x509.PublicKey(kp.publicKey.export({ format: "der", type: "spki" }));
  } else {
    const kp = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    keyPem = kp.privateKey.export({ format: "pem", type: keyFormat }) as string;
    publicKey = new x509.PublicKey(kp.publicKey.export({ format: "der", type: "spki" }));
  }
  const inter = await x509.X509CertificateGenerator.create({
    subject: "O=Example Corp, CN=Mesh Intermediate", issuer: root.subjectName, publicKey, signingKey: rootKeys.privateKey,
    serialNumber: randomSerial(), notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 180 * 86_400_000),
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as never,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  }, nodeCrypto);
  await writeFile(join(dir, "ca-cert.pem"), inter.toString("pem"));
  await writeFile(join(dir, "ca-key.pem"), keyPem);
  await writeFile(join(dir, "root-cert.pem"), root.toString("pem"));
  await writeFile(join(dir, "cert-chain.pem"), inter.toString("pem") + "\n" + root.toString("pem"));
  return { root: toPem(root), intermediate: toPem(inter) };
}

for (const format of ["pkcs8", "sec1", "rsa"] as const) {
  test(`signs with plugged-in intermediate certificates (${format} key)`, async (t) => {
    const dir = await tmp(t);
    const { root, intermediate } = await pluggedLayout(dir, format);
    const ca = await CertificateAuthority.start({ pluggedCertsDir: dir, stateDir: join(dir, "state") });
    assert.equal(ca.mode, "plugged");
    assert.deepEqual(ca.trustBundle().roots, [root]);
    const { csrPem } = await createCsr(ID);
    const issued = await ca.sign({ csrPem, identity: ID });
    assert.deepEqual(issued.certChain.slice(1), [intermediate, root], "leaf, intermediate, root last");
    assert.deepEqual(verifyChain(issued.certChain, ca.trustBundle().pem(), new Date()).ok, true);
    await assert.rejects(ca.rotateRoot(), /cannot rotate the root: the CA signs with plugged-in certificates/);
  });
}

test("plugged-in certificates: a key of another certificate is refused", async (t) => {
  const dir = await tmp(t);
  await pluggedLayout(dir, "pkcs8");
  const other = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  await writeFile(join(dir, "ca-key.pem"), other);
  await assert.rejects(CertificateAuthority.start({ pluggedCertsDir: dir }), /ca-key.pem does not belong to .*ca-cert.pem/);
});

test("plugged-in certificates: an intermediate without its root is refused", async (t) => {
  const dir = await tmp(t);
  await pluggedLayout(dir, "pkcs8");
  await rm(join(dir, "root-cert.pem"));
  await writeFile(join(dir, "cert-chain.pem"), await readFile(join(dir, "ca-cert.pem"), "utf8"));
  await assert.rejects(CertificateAuthority.start({ pluggedCertsDir: dir }), /root-cert.pem is missing or empty/);
});

test("an empty plugged-in directory falls back to the self-signed root", async (t) => {
  const dir = await tmp(t);
  const ca = await CertificateAuthority.start({ pluggedCertsDir: dir });
  assert.equal(ca.mode, "self-signed");
});
