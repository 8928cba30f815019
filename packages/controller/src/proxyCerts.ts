/**
 * Certificates for the proxies the control plane configures itself (waypoints): issued by our CA,
 * kept per identity, renewed at half-life, served as the SDS secrets `default` and `ROOTCA`.
 */
import { issueForWaypoint, rotationDue, tlsCertificateSecret, validationContextSecret, type CertificateAuthority, type IssuedKeyPair } from "@waystation/pki";
import type { Secret } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";

export class ProxyCertificates {
  private readonly issued = new Map<string, IssuedKeyPair>();

  constructor(private readonly ca: CertificateAuthority, private readonly now: () => number = Date.now) {}

  /** Makes sure every identity has a current certificate; returns true if any was (re)issued. */
  async ensure(identities: Iterable<string>): Promise<boolean> {
    let changed = false;
    const wanted = new Set(identities);
    for (const id of wanted) {
      const have = this.issued.get(id);
      if (have && !rotationDue(have, this.now())) continue;
      this.issued.set(id, await issueForWaypoint(this.ca, id));
      changed = true;
    }
    for (const id of [...this.issued.keys()]) if (!wanted.has(id)) this.issued.delete(id);
    return changed;
  }

  /** The SDS secrets of a proxy with this identity (after ensure). */
  secretsFor(identity: string): Secret[] {
    const cert = this.issued.get(identity);
    const bundle = validationContextSecret(this.ca.trustBundle());
    return cert ? [bundle, tlsCertificateSecret(cert)] : [bundle];
  }
}
