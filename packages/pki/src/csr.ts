// Certificate signing requests: what the CA accepts (checkCsr) and what a client sends (createCsr).
// Istio's agents always send ECDSA P-256 with SHA-256, an empty subject and one URI SAN
// (istio-ambient.md §2, ztunnel `src/tls/csr.rs`); the CA holds requests to exactly that.
import { PkiError } from "./errors.js";
import { generalNames, generateP256, nodeCrypto, normalizePem, P256, splitPem, x509 } from "./certs.js";

/** A CSR that passed every check: its key, and the one identity it asks for. */
export interface CheckedCsr {
  readonly publicKey: x509.PublicKey;
  readonly identity: string;
}

/** Parses a PEM CSR and checks what the CA requires. Throws PkiError with the reason. */
export async function checkCsr(pem: string): Promise<CheckedCsr> {
  const blocks = splitPem(pem, "CERTIFICATE REQUEST");
  if (blocks.length !== 1) {
    const hint = blocks.length === 0 ? "expected one PEM block \"-----BEGIN CERTIFICATE REQUEST-----\"" : "send one CSR per request";
    throw new PkiError("InvalidCsr", `csr holds ${blocks.length} certificate requests`, hint);
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(blocks[0]!);
  } catch (e) {
    throw new PkiError("InvalidCsr", `csr does not decode: ${(e as Error).message}`);
  }
  const alg = csr.publicKey.algorithm as { name: string; namedCurve?: string };
  if (alg.name !== "ECDSA" || alg.namedCurve !== "P-256") {
    const what = alg.name === "ECDSA" ? `ECDSA ${alg.namedCurve ?? "(unknown curve)"}` : keyName(alg.name);
    throw new PkiError("InvalidCsr", `CSR key is ${what}; this CA signs only ECDSA P-256 keys`,
      "Istio's ztunnel and agents generate P-256 keys; regenerate the key with the P-256 curve");
  }
  const verified = await csr.verify(nodeCrypto).catch(() => false);
  if (!verified) throw new PkiError("InvalidCsr", "CSR signature does not verify with its own public key", "the CSR was altered or signed with another key");
  const names = generalNames(csr.extensions);
  const others = names.filter((n) => n.type !== "url");
  if (others.length > 0) {
    throw new PkiError("InvalidCsr", `CSR asks for ${others.map((n) => `${n.type.toUpperCase()} SAN ${n.value}`).join(", ")}`,
      "workload certificates carry exactly one URI SAN, the SPIFFE identity");
  }
  const uris = names.map((n) => n.value);
  if (uris.length !== 1) {
    throw new PkiError("InvalidCsr", uris.length === 0 ? "CSR has no URI SAN" : `CSR has ${uris.length} URI SANs (${uris.join(", ")})`,
      "put exactly one URI SAN, spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, in the CSR");
  }
  return { publicKey: csr.publicKey, identity: uris[0]! };
}

function keyName(name: string): string {
  if (name.startsWith("RSA")) return "RSA";
  if (name === "Ed25519" || name === "Ed448") return name;
  return name || "of an unknown type";
}

/** A new key and the CSR for it, as a client (ztunnel, tests) sends them. */
export interface KeyAndCsr {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  readonly csrPem: string;
}

/** Generates a P-256 key and a CSR with an empty subject and one critical URI SAN, like ztunnel. */
export async function createCsr(identity: string): Promise<KeyAndCsr> {
  const { keys, signingKey } = await generateP256();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: { ...P256, hash: "SHA-256" },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "url", value: identity }], true)],
  }, nodeCrypto);
  return { privateKeyPem: signingKey.pem, csrPem: normalizePem(csr.toString("pem")) };
}
