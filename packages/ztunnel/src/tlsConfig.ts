// TLS as HBONE wants it (istio-ambient.md §1.1): TLS 1.3 only, ztunnel's two AES-GCM suites, ALPN
// exactly "h2", workload certificates at both ends, the peer's SPIFFE URI SAN checked against the
// expected identities (client) or the trust domain (server). No SNI is sent: the client dials IPs.
import type { TLSSocket } from "node:tls";
import * as tls from "node:tls";
import { parseIdentity } from "./types.js";

/** ztunnel's suites (README: TLS13_AES_256_GCM_SHA384, TLS13_AES_128_GCM_SHA256). */
export const HBONE_CIPHERS = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256";
export const HBONE_ALPN = ["h2"];

/** A workload's key and chain (leaf first) and the roots its peers must chain to. */
export interface TlsMaterial {
  readonly certChain: readonly string[];
  readonly privateKeyPem: string;
  readonly trustBundlePem: string;
}

/** Options for `tls.createServer` / `http2.createSecureServer` / `server.setSecureContext` of an HBONE listener. */
export function serverTlsOptions(m: TlsMaterial): tls.TlsOptions {
  return {
    key: m.privateKeyPem, cert: m.certChain.join(""), ca: m.trustBundlePem,
    minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: HBONE_CIPHERS, ALPNProtocols: HBONE_ALPN,
    // A client certificate is required and must chain to the bundle; the trust domain is checked after.
    requestCert: true, rejectUnauthorized: true,
  };
}

/**
 * The client context of one source identity: built once and reused for every HBONE connection it
 * opens (perf-anchors §2.5: 1.3-1.55x more handshakes per second), rebuilt when the cert rotates.
 */
export function clientSecureContext(m: TlsMaterial): tls.SecureContext {
  return tls.createSecureContext({
    key: m.privateKeyPem, cert: m.certChain.join(""), ca: m.trustBundlePem,
    minVersion: "TLSv1.3", maxVersion: "TLSv1.3", ciphers: HBONE_CIPHERS,
  });
}

/** The first SPIFFE URI SAN of the peer certificate, as Node renders `subjectaltname`. */
export function sanIdentity(subjectAltName: string | undefined): string | undefined {
  for (const part of (subjectAltName ?? "").split(", ")) {
    if (part.startsWith("URI:spiffe://")) return part.slice(4);
  }
  return undefined;
}

/** The verified peer identity of a server-side socket (also set on resumed sessions). */
export function peerIdentity(socket: TLSSocket): string | undefined {
  return sanIdentity(socket.getPeerX509Certificate()?.subjectAltName);
}

/**
 * The server's check after the chain is verified: the client presents a SPIFFE identity in our
 * trust domain (ztunnel TrustDomainVerifier). Returns the reason to refuse, or undefined.
 */
export function checkClientIdentity(identity: string | undefined, trustDomain: string): string | undefined {
  if (identity === undefined) return "the client certificate has no SPIFFE URI SAN";
  const id = parseIdentity(identity);
  if (!id) return `the client certificate SAN ${identity} is not spiffe://<td>/ns/<ns>/sa/<sa>`;
  if (id.trustDomain !== trustDomain) return `the client certificate is in trust domain "${id.trustDomain}", expected "${trustDomain}"`;
  return undefined;
}

/** The client's check of the server: its SAN must be one of the expected identities (ztunnel `upstream_sans`). */
export function checkServerIdentity(identity: string | undefined, expected: readonly string[]): string | undefined {
  if (expected.includes(identity ?? "")) return undefined;
  return `peer certificate SAN is ${identity ?? "(none)"}, expected ${expected.length === 1 ? expected[0] : `one of ${expected.join(", ")}`}`;
}
