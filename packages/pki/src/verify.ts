// Checking a certificate chain against a trust bundle with node:crypto, as a peer would: each
// certificate issued (name and signature) by the next, every one within its validity, and the
// last one issued by (or equal to) a root of the bundle. Used by the CA client, ztunnel and tests.
import { X509Certificate } from "node:crypto";
import { splitPem } from "./certs.js";

/** The outcome of verifyChain: the leaf's URI SAN on success, the reason otherwise. */
export type ChainVerdict =
  | { readonly ok: true; readonly identity: string | undefined; readonly root: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Verifies `chain` (PEMs, leaf first; a trailing root is allowed) against the roots in `bundlePem`
 * at time `now`.
 */
export function verifyChain(chain: readonly string[], bundlePem: string, now: Date): ChainVerdict {
  if (chain.length === 0) return { ok: false, reason: "empty certificate chain" };
  const roots = splitPem(bundlePem).map((p) => new X509Certificate(p));
  if (roots.length === 0) return { ok: false, reason: "the trust bundle holds no certificate" };
  const certs = chain.map((p) => new X509Certificate(p));
  for (const [i, c] of certs.entries()) {
    const from = new Date(c.validFrom), to = new Date(c.validTo);
    if (now < from) return { ok: false, reason: `certificate ${i} is not valid before ${from.toISOString()}` };
    if (now > to) return { ok: false, reason: `certificate ${i} expired at ${to.toISOString()}` };
    if (i > 0 && !c.ca) return { ok: false, reason: `certificate ${i} is not a CA but certificate ${i - 1} names it as issuer` };
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!certs[i]!.checkIssued(certs[i + 1]!) || !certs[i]!.verify(certs[i + 1]!.publicKey)) {
      return { ok: false, reason: `certificate ${i} is not issued by certificate ${i + 1}` };
    }
  }
  const last = certs[certs.length - 1]!;
  const root = roots.find((r) => r.raw.equals(last.raw)) ?? roots.find((r) => last.checkIssued(r) && last.verify(r.publicKey));
  if (!root) return { ok: false, reason: "the chain does not lead to a root of the trust bundle" };
  return { ok: true, identity: uriSan(certs[0]!), root: root.toString() };
}

/** The first URI SAN of a certificate, as node:crypto prints it (`URI:spiffe://...`). */
export function uriSan(cert: X509Certificate): string | undefined {
  for (const part of (cert.subjectAltName ?? "").split(", ")) {
    if (part.startsWith("URI:")) return part.slice(4);
  }
  return undefined;
}
