// The CA's files: Istio's plugged-in certificates (`cacerts` layout, read-only) and our own state
// directory, where a self-signed root is kept so a restarted control plane signs with the same root.
import { X509Certificate } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PkiError } from "./errors.js";
import { importSigningKey, keyMatchesCertificate, parseCertificate, splitPem, toPem, x509, type SigningKey } from "./certs.js";

/** File names of Istio's plugged-in CA certificates (`istio:security/pkg/pki/ca`, `cacerts` secret). */
export const PluggedFiles = {
  cert: "ca-cert.pem",
  key: "ca-key.pem",
  root: "root-cert.pem",
  chain: "cert-chain.pem",
} as const;

/** File names in the state directory. */
export const StateFiles = {
  rootCert: "root-cert.pem",
  rootKey: "root-key.pem",
  retiring: "retiring-roots.pem",
} as const;

/** A signing certificate, its key, and its chain up to and including the root. */
export interface Signer {
  readonly cert: x509.X509Certificate;
  readonly key: SigningKey;
  /** PEMs from the signing certificate to the root, the root last (one element when the signer is the root). */
  readonly chain: readonly string[];
}

/** What plugged-in files give: the signer and every root of root-cert.pem. */
export interface PluggedCa {
  readonly signer: Signer;
  readonly roots: readonly string[];
}

/**
 * Loads Istio's plugged-in layout from `dir`: `ca-cert.pem` + `ca-key.pem` (required; the signing
 * certificate, root or intermediate), `root-cert.pem` (the root(s); optional when ca-cert.pem is a
 * self-signed root) and `cert-chain.pem` (ca-cert.pem's chain up to the root; optional). Checks that
 * the key matches, that the signer may sign certificates, and that the chain links up to a root of
 * root-cert.pem. Returns undefined when `dir` has no ca-cert.pem.
 */
export async function loadPluggedCa(dir: string, now: Date): Promise<PluggedCa | undefined> {
  const certText = await readOptional(join(dir, PluggedFiles.cert));
  if (certText === undefined) return undefined;
  const where = (f: string) => join(dir, f);
  const keyText = await readOptional(where(PluggedFiles.key));
  if (keyText === undefined) throw new PkiError("InvalidCa", `${where(PluggedFiles.cert)} is present but ${PluggedFiles.key} is not`, "plugged-in CA certificates need the signing key beside the certificate");
  const cert = parseCertificate(certText, where(PluggedFiles.cert));
  const key = await importSigningKey(keyText, where(PluggedFiles.key));
  if (!keyMatchesCertificate(keyText, cert)) {
    throw new PkiError("InvalidCa", `${where(PluggedFiles.key)} does not belong to ${where(PluggedFiles.cert)}`, "the public keys differ");
  }
  checkSigningCert(cert, where(PluggedFiles.cert), now);
  const certPem = toPem(cert);
  const rootText = await readOptional(where(PluggedFiles.root));
  const selfSigned = isSelfIssued(certPem);
  let roots = rootText === undefined ? [] : splitPem(rootText);
  if (roots.length === 0) {
    if (!selfSigned) throw new PkiError("InvalidCa", `${where(PluggedFiles.root)} is missing or empty`, `${PluggedFiles.cert} is an intermediate, so the root it chains to must be given`);
    roots = [certPem];
  }
  const chainText = await readOptional(where(PluggedFiles.chain));
  let chain = chainText === undefined ? [] : splitPem(chainText);
  if (chain[0] !== certPem) chain = [certPem, ...chain];
  const last = chain[chain.length - 1]!;
  if (!isSelfIssued(last)) {
    const issuer = roots.find((r) => issuedBy(last, r));
    if (!issuer) {
      throw new PkiError("InvalidCa", `the chain of ${where(PluggedFiles.cert)} does not reach a root of ${where(PluggedFiles.root)}`,
        `${PluggedFiles.chain} should hold ${PluggedFiles.cert}'s chain up to the root`);
    }
    chain.push(issuer);
  } else if (!roots.includes(last)) {
    throw new PkiError("InvalidCa", `the chain of ${where(PluggedFiles.cert)} ends at a root that is not in ${where(PluggedFiles.root)}`);
  }
  for (let i = 0; i + 1 < chain.length; i++) {
    if (!issuedBy(chain[i]!, chain[i + 1]!)) {
      throw new PkiError("InvalidCa", `${where(PluggedFiles.chain)}: certificate ${i} is not issued by certificate ${i + 1}`, "list the chain leaf-most first, the root last");
    }
  }
  return { signer: { cert, key, chain }, roots };
}

/** The self-signed root state kept in the state directory. */
export interface RootState {
  readonly rootCertPem: string;
  readonly rootKeyPem: string;
  /** Roots of earlier generations still trusted (a rotation in its overlap). */
  readonly retiring: readonly string[];
}

/** Reads the state directory; undefined when it holds no root yet. */
export async function readRootState(dir: string): Promise<RootState | undefined> {
  const cert = await readOptional(join(dir, StateFiles.rootCert));
  const key = await readOptional(join(dir, StateFiles.rootKey));
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined || key === undefined) {
    const [has, lacks] = cert === undefined ? [StateFiles.rootKey, StateFiles.rootCert] : [StateFiles.rootCert, StateFiles.rootKey];
    throw new PkiError("InvalidCa", `state directory ${dir} has ${has} but not ${lacks}`, "restore the missing file, or remove both to make a new root (every proxy must then fetch new certificates)");
  }
  const retiring = splitPem((await readOptional(join(dir, StateFiles.retiring))) ?? "");
  return { rootCertPem: cert, rootKeyPem: key, retiring };
}

/** Writes the state directory; each file atomically (temp file + rename), the key readable by its owner only. */
export async function writeRootState(dir: string, state: RootState): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await writeAtomic(join(dir, StateFiles.rootKey), state.rootKeyPem, 0o600);
  await writeAtomic(join(dir, StateFiles.rootCert), state.rootCertPem, 0o644);
  if (state.retiring.length > 0) await writeAtomic(join(dir, StateFiles.retiring), state.retiring.join(""), 0o644);
  else await rm(join(dir, StateFiles.retiring), { force: true });
}

/** Checks a certificate that is to sign others: CA:true, keyCertSign, within its validity. */
export function checkSigningCert(cert: x509.X509Certificate, source: string, now: Date): void {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new PkiError("InvalidCa", `${source} is not a CA certificate (basicConstraints CA:true missing)`);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new PkiError("InvalidCa", `${source} may not sign certificates (keyUsage lacks keyCertSign)`);
  }
  if (cert.notAfter.getTime() <= now.getTime()) {
    throw new PkiError("InvalidCa", `${source} expired at ${cert.notAfter.toISOString()}`, "rotate the CA certificate");
  }
  if (cert.notBefore.getTime() > now.getTime()) {
    throw new PkiError("InvalidCa", `${source} is not valid before ${cert.notBefore.toISOString()}`, "check the clock of this host");
  }
}

/** Whether `childPem` names `issuerPem` as its issuer and carries its signature. */
export function issuedBy(childPem: string, issuerPem: string): boolean {
  const child = new X509Certificate(childPem);
  const issuer = new X509Certificate(issuerPem);
  return child.checkIssued(issuer) && child.verify(issuer.publicKey);
}

function isSelfIssued(pem: string): boolean {
  return issuedBy(pem, pem);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new PkiError("InvalidCa", `cannot read ${path}: ${(e as Error).message}`);
  }
}

async function writeAtomic(path: string, text: string, mode: number): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
