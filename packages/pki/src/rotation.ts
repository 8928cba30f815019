// When to renew a certificate: at half its lifetime, as ztunnel does (`src/tls/certificate.rs`
// `refresh_at`: not_before + ½·validity), so a failed renewal has the other half to be retried.
import { X509Certificate } from "node:crypto";
import { splitPem } from "./certs.js";

/** A certificate's validity window; a PEM (or chain, leaf first) is read for it. */
export type Validity = { readonly notBefore: Date; readonly notAfter: Date } | string;

/** The instant (ms since the epoch) at which `cert` is due for renewal: not_before + ½·validity. */
export function rotationTime(cert: Validity): number {
  const { notBefore, notAfter } = validityOf(cert);
  return notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) / 2;
}

/** Whether `cert` is due for renewal at `now` (ms since the epoch, or a Date). */
export function rotationDue(cert: Validity, now: number | Date): boolean {
  return (typeof now === "number" ? now : now.getTime()) >= rotationTime(cert);
}

function validityOf(cert: Validity): { notBefore: Date; notAfter: Date } {
  if (typeof cert !== "string") return cert;
  const leaf = splitPem(cert)[0];
  if (!leaf) throw new Error("rotationDue: no CERTIFICATE PEM block");
  const c = new X509Certificate(leaf);
  return { notBefore: new Date(c.validFrom), notAfter: new Date(c.validTo) };
}
