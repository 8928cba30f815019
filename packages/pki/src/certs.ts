// Key and certificate primitives on @peculiar/x509 with Node's WebCrypto (toolchain.md: node:crypto
// can verify but not sign certificates). Everything here is stateless; ca.ts holds the state.
import "reflect-metadata"; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it first
import * as x509 from "@peculiar/x509";
import { createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from "node:crypto";
import { PkiError } from "./errors.js";

// WebCrypto types by their DOM names (the project compiles without the DOM lib).
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;

/** Node's WebCrypto, typed as the DOM `Crypto` the x509 library expects. */
export const nodeCrypto: webcrypto.Crypto = webcrypto;
// Some x509 code paths (verify, thumbprints) only use the process-wide provider; set it once.
if (!x509.cryptoProvider.has(x509.CryptoProvider.DEFAULT)) x509.cryptoProvider.set(nodeCrypto);

/** ECDSA over P-256: the only leaf key type (ztunnel `src/tls/csr.rs`), and our own roots' key. */
export const P256: webcrypto.EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };

/** A private key ready to sign certificates, with the algorithm to sign with. */
export interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly signingAlgorithm: Algorithm | EcdsaParams;
  /** The key as PKCS#8 PEM (what the state directory and SDS hold). */
  readonly pem: string;
}

/** A fresh ECDSA P-256 key pair, with the private key as PKCS#8 PEM. */
export async function generateP256(): Promise<{ keys: CryptoKeyPair; signingKey: SigningKey }> {
  const keys = (await nodeCrypto.subtle.generateKey(P256, true, ["sign", "verify"])) as CryptoKeyPair;
  const der = await nodeCrypto.subtle.exportKey("pkcs8", keys.privateKey);
  const pem = x509.PemConverter.encode(der, "PRIVATE KEY");
  return { keys, signingKey: { privateKey: keys.privateKey, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" }, pem: normalizePem(pem) } };
}

/**
 * Imports a private key PEM of any common encoding (PKCS#8, SEC1 "EC PRIVATE KEY", PKCS#1 RSA), so
 * operators can plug in the `ca-key.pem` their own tooling wrote. EC keys sign with the SHA size of
 * their curve; RSA keys with RSASSA-PKCS1-v1_5 / SHA-256.
 */
export async function importSigningKey(pem: string, source: string): Promise<SigningKey> {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (e) {
    throw new PkiError("InvalidCa", `${source}: not a private key PEM: ${(e as Error).message}`);
  }
  const der = key.export({ format: "der", type: "pkcs8" });
  const pkcs8Pem = normalizePem(x509.PemConverter.encode(der, "PRIVATE KEY"));
  if (key.asymmetricKeyType === "ec") {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    const named = curve === "prime256v1" ? "P-256" : curve === "secp384r1" ? "P-384" : curve === "secp521r1" ? "P-521" : undefined;
    if (!named) throw new PkiError("InvalidCa", `${source}: unsupported EC curve ${curve}`, "use P-256, P-384 or P-521");
    const hash = named === "P-256" ? "SHA-256" : named === "P-384" ? "SHA-384" : "SHA-512";
    const privateKey = await nodeCrypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: named }, false, ["sign"]);
    return { privateKey, signingAlgorithm: { name: "ECDSA", hash }, pem: pkcs8Pem };
  }
  if (key.asymmetricKeyType === "rsa") {
    const alg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    const privateKey = await nodeCrypto.subtle.importKey("pkcs8", der, alg, false, ["sign"]);
    return { privateKey, signingAlgorithm: alg, pem: pkcs8Pem };
  }
  throw new PkiError("InvalidCa", `${source}: unsupported key type ${key.asymmetricKeyType}`, "use an ECDSA or RSA key");
}

/** Whether the private key PEM belongs to the certificate (same SubjectPublicKeyInfo). */
export function keyMatchesCertificate(keyPem: string, cert: x509.X509Certificate): boolean {
  const fromKey = createPublicKey(createPrivateKey(keyPem)).export({ format: "der", type: "spki" });
  return Buffer.from(cert.publicKey.rawData).equals(fromKey);
}

/** Every PEM block with the given label in `text`, each normalised to LF line ends and one trailing newline. */
export function splitPem(text: string, label = "CERTIFICATE"): string[] {
  const out: string[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (const m of text.matchAll(re)) {
    if (m[1] === label) out.push(normalizePem(m[0]));
  }
  return out;
}

/** LF line ends, base64 in 64-column lines, one trailing newline. */
export function normalizePem(pem: string): string {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) return pem;
  const body = m[2]!.replace(/\s+/g, "");
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${m[1]}-----\n${lines.join("\n")}\n-----END ${m[1]}-----\n`;
}

/** Parses one certificate PEM (the first CERTIFICATE block). */
export function parseCertificate(pem: string, source: string): x509.X509Certificate {
  const block = splitPem(pem)[0];
  if (!block) throw new PkiError("InvalidCa", `${source}: no CERTIFICATE PEM block`);
  try {
    return new x509.X509Certificate(block);
  } catch (e) {
    throw new PkiError("InvalidCa", `${source}: unreadable certificate: ${(e as Error).message}`);
  }
}

/** The certificate as normalised PEM. */
export function toPem(cert: x509.X509Certificate): string {
  return normalizePem(cert.toString("pem"));
}

/**
 * A random positive serial of 128 bits (RFC 5280 §4.1.2.2 allows up to 20 octets; CA/B forum asks
 * for at least 64 random bits), as hex. The top bit is cleared so the DER INTEGER stays positive
 * without a padding byte, and the first byte is non-zero so the encoding is minimal.
 */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString("hex");
}

/** What a self-signed root needs. */
export interface RootParams {
  readonly keys: CryptoKeyPair;
  readonly trustDomain: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * A self-signed root: subject `O=<trust domain>, CN=waystation root <issued at>` (the CN tells two
 * roots apart during a rotation), CA:true, keyCertSign + cRLSign, with a subject key identifier so
 * leaves can name their issuer by key even while two roots share an organisation.
 */
export async function createRootCertificate(p: RootParams): Promise<x509.X509Certificate> {
  const stamp = p.notBefore.toISOString().replace(/\.\d+Z$/, "Z");
  return x509.X509CertificateGenerator.createSelfSigned({
    name: [{ O: [p.trustDomain] }, { CN: [`waystation root ${stamp}`] }],
    keys: p.keys,
    serialNumber: randomSerial(),
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(p.keys.publicKey, false, nodeCrypto),
    ],
  }, nodeCrypto);
}

/** What a leaf needs: the subject key, its names and lifetime, and who signs it. */
export interface LeafParams {
  readonly publicKey: x509.PublicKey | CryptoKey;
  readonly issuer: x509.X509Certificate;
  readonly signingKey: SigningKey;
  /** URI SANs: exactly one SPIFFE identity for workloads. */
  readonly uris: readonly string[];
  /** DNS SANs: only the control plane's own serving certificate has them. */
  readonly dnsNames?: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * A workload leaf as Istio issues it: empty subject, so the SAN extension is critical (RFC 5280
 * §4.2.1.6), CA:false, digitalSignature + keyEncipherment, serverAuth + clientAuth, a random serial,
 * and the issuer's key identifier.
 */
export async function createLeafCertificate(p: LeafParams): Promise<x509.X509Certificate> {
  const names: x509.JsonGeneralName[] = [
    ...p.uris.map((value) => ({ type: "url" as const, value })),
    ...(p.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension(names, true),
  ];
  const issuerSki = p.issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  extensions.push(issuerSki
    ? new x509.AuthorityKeyIdentifierExtension(issuerSki.keyId)
    : await x509.AuthorityKeyIdentifierExtension.create(p.issuer.publicKey, false, nodeCrypto));
  return x509.X509CertificateGenerator.create({
    subject: new x509.Name([]),
    // The issuer's subject as its DER bytes, so chain building matches byte for byte even for
    // plugged-in certificates written by other tools (PrintableString vs UTF8String).
    issuer: new x509.Name(p.issuer.subjectName.toArrayBuffer()),
    publicKey: p.publicKey,
    signingKey: p.signingKey.privateKey,
    signingAlgorithm: p.signingKey.signingAlgorithm,
    serialNumber: randomSerial(),
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    extensions,
  }, nodeCrypto);
}

/** The URI SANs of a certificate or CSR extension list. */
export function uriSans(ext: x509.Extension[] | x509.Extension | null): string[] {
  return generalNames(ext).filter((n) => n.type === "url").map((n) => n.value);
}

/** Every SAN entry of the SubjectAlternativeName extension(s) in the list. */
export function generalNames(ext: x509.Extension[] | x509.Extension | null): x509.JsonGeneralName[] {
  const list = ext === null ? [] : Array.isArray(ext) ? ext : [ext];
  const out: x509.JsonGeneralName[] = [];
  for (const e of list) {
    if (e.type !== "2.5.29.17") continue;
    out.push(...new x509.SubjectAlternativeNameExtension(e.rawData).names.toJSON());
  }
  return out;
}

export { x509 };
