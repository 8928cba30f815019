// SDS secrets for Envoy (waypoints, sidecars, ingress), named as Istio's agent names them: `default`
// is the proxy's own key and chain, `ROOTCA` the trust bundle. The control plane issues waypoint
// keys itself (issueForWaypoint) and serves both secrets over ADS; the builders are pure.
import { create } from "@bufbuild/protobuf";
import { SecretSchema, type Secret } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { CertificateAuthority, IssuedKeyPair } from "./ca.js";
import { parseSpiffeId } from "./spiffe.js";
import type { TrustBundle } from "./trustBundle.js";

export { rotationDue, rotationTime, type Validity } from "./rotation.js";

/** Istio's SDS resource names (`istio:pkg/security` `WorkloadKeyCertResourceName`, `RootCertReqResourceName`). */
export const SdsNames = { default: "default", rootCa: "ROOTCA" } as const;

/** A key and its certificate chain, leaf first. */
export interface KeyAndChain {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
  readonly certChain: readonly string[];
}

/** A `tls_certificate` Secret: the chain (leaf first, as one PEM text) and the key, inline. */
export function tlsCertificateSecret(key: KeyAndChain, name: string = SdsNames.default): Secret {
  return create(SecretSchema, {
    name,
    type: {
      case: "tlsCertificate",
      value: {
        certificateChain: { specifier: { case: "inlineString", value: key.certChain.join("") } },
        privateKey: { specifier: { case: "inlineString", value: key.privateKeyPem } },
      },
    },
  });
}

/** A `validation_context` Secret carrying the trust bundle as `trusted_ca`. */
export function validationContextSecret(bundle: TrustBundle | string, name: string = SdsNames.rootCa): Secret {
  const pem = typeof bundle === "string" ? bundle : bundle.pem();
  return create(SecretSchema, {
    name,
    type: { case: "validationContext", value: { trustedCa: { specifier: { case: "inlineString", value: pem } } } },
  });
}

/** Both secrets a proxy needs, sorted by name: `ROOTCA` then `default`. */
export function proxySecrets(key: KeyAndChain, bundle: TrustBundle | string): Secret[] {
  return [validationContextSecret(bundle), tlsCertificateSecret(key)];
}

/**
 * Generates a key pair and a certificate for a waypoint's identity
 * (`spiffe://<td>/ns/<ns>/sa/<waypoint service account>`), to serve as its `default` secret. Renew
 * it when rotationDue(cert, now) says so and push the new secret.
 */
export async function issueForWaypoint(ca: CertificateAuthority, identity: string, opts: { ttlSeconds?: number } = {}): Promise<IssuedKeyPair> {
  parseSpiffeId(identity);
  return ca.issueKeyPair(opts.ttlSeconds === undefined ? { identity } : { identity, ttlSeconds: opts.ttlSeconds });
}
