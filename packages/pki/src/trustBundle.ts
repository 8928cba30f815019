// The trust bundle: the roots every proxy trusts (SDS `ROOTCA`, ztunnel's root-cert.pem).
//
// Root rotation is make-before-break, in two steps the operator (or an automatic rotator) takes:
//   1. rotateRoot(): a new root signs every new leaf; the bundle carries new and old roots, so
//      peers holding old leaves and peers holding new leaves still verify each other;
//   2. finishRotation(): once every old leaf has been replaced (one leaf lifetime, 24 h by
//      default, or sooner as proxies refresh at half-life), the old roots leave the bundle.
// The bundle is a value; CertificateAuthority (ca.ts) holds the current one and persists it.
import { X509Certificate } from "node:crypto";

/** The roots proxies trust: the active root(s) first, then roots retiring after a rotation. */
export class TrustBundle {
  /** PEM roots that sign new leaves (normally one; several when the operator's root-cert.pem holds several). */
  readonly active: readonly string[];
  /** PEM roots of the previous generation, trusted until finishRotation(). */
  readonly retiring: readonly string[];

  constructor(active: readonly string[], retiring: readonly string[] = []) {
    this.active = [...active];
    this.retiring = retiring.filter((r) => !active.includes(r));
  }

  /** Every trusted root, active first. */
  get roots(): readonly string[] {
    return [...this.active, ...this.retiring];
  }

  /** Whether a rotation is in its overlap period. */
  get rotating(): boolean {
    return this.retiring.length > 0;
  }

  /** The bundle as one PEM text (what `ROOTCA` and root-cert.pem hold). */
  pem(): string {
    return this.roots.join("");
  }

  /** The bundle after a new root takes over: the current roots become retiring ones. */
  rotatedTo(newRoot: string): TrustBundle {
    return new TrustBundle([newRoot], [...this.active, ...this.retiring]);
  }

  /** The bundle with the retiring roots dropped. */
  withoutRetiring(): TrustBundle {
    return new TrustBundle(this.active);
  }

  /** SHA-256 fingerprints of the roots, active first: for logs and status output. */
  fingerprints(): string[] {
    return this.roots.map(fingerprint);
  }
}

/** The SHA-256 fingerprint of a PEM certificate, as `AA:BB:...`. */
export function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}
