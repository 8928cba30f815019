/**
 * DestinationRule `tls` -> the TLS socket a waypoint uses to originate TLS to the destination
 * (Istio `buildWaypointTLSContext` / `constructUpstreamTLS`). It goes INSIDE the internal_upstream
 * wrapper of the inbound-vip cluster (serviceCluster.ts): for a mesh endpoint the TLS bytes then
 * travel inside HBONE, for an external endpoint (egress) straight to it.
 *
 * - DISABLE, or no tls: plaintext (raw_buffer).
 * - ISTIO_MUTUAL: ignored; a waypoint always reaches mesh workloads over HBONE (mTLS with its own
 *   identity), so nothing is added (a condition says so, see index.ts).
 * - SIMPLE / MUTUAL: TLS 1.2-1.3; `sni` as given, else Envoy's auto_sni from the Host header (HTTP
 *   clusters); `subjectAltNames` as typed SAN matchers, else auto_san_validation against the
 *   Host header when neither sni nor SANs are given (Istio `setAutoSniAndAutoSanValidation`).
 *   Istio's behaviour is kept as is: with an explicit `sni` and no SANs only the chain is verified.
 * - Certificates as file paths (caCertificates, clientCertificate, privateKey, caCrl) are read by
 *   Envoy itself (Istio's agent would serve them over SDS; a stock Envoy has no agent). No
 *   caCertificates means the system trust store (Istio's "system"), a file path in the Envoy image.
 * - credentialName: SDS secrets named like Istio's (`<name>` for the client certificate,
 *   `<name>-cacert` for the CA). Waystation does not serve those yet, so the snapshot validator
 *   will refuse the reference until something does; a condition says so.
 * - insecureSkipVerify: an empty validation context (no CA, no SAN check).
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TransportSocket } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { UpstreamTlsContextSchema, type CommonTlsContextSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { SubjectAltNameMatcher_SanType, TlsParameters_TlsProtocol } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { parseIp, type ClientTLSSettings } from "@waystation/api";
import { sdsSecret, transportSocket } from "../envoy/build.js";

/** Where the Envoy image keeps the system CA bundle (Debian/Ubuntu; the envoyproxy/envoy image is Ubuntu). */
export const defaultSystemCaPath = "/etc/ssl/certs/ca-certificates.crt";

/** Istio's suffix for the CA part of a credentialName secret. */
export const caSecretSuffix = "-cacert";

type CommonInit = MessageInitShape<typeof CommonTlsContextSchema>;
type Validation = CommonInit["validationContextType"];
type Certificates = Pick<CommonInit, "tlsCertificates" | "tlsCertificateSdsSecretConfigs">;

export interface TlsOriginationContext {
  /** The cluster speaks HTTP/2 upstream: advertise h2 in ALPN. */
  h2: boolean;
  /** The cluster serves an HTTP chain, so Host-header based auto SNI / SAN checks mean something. */
  http: boolean;
  systemCaPath: string;
}

export interface TlsPlan {
  /** The TLS socket to put inside internal_upstream. */
  socket: TransportSocket;
  autoSni: boolean;
  autoSanValidation: boolean;
  /** SDS secrets the socket refers to (credentialName), which must be served. */
  sdsSecrets: string[];
}

/** The TLS origination for these settings, or undefined for plaintext (DISABLE, ISTIO_MUTUAL, none). */
export function tlsOriginationPlan(tls: ClientTLSSettings | undefined, ctx: TlsOriginationContext): TlsPlan | undefined {
  if (!tls || (tls.mode !== "SIMPLE" && tls.mode !== "MUTUAL")) return undefined;
  const mutual = tls.mode === "MUTUAL";
  const skipVerify = tls.insecureSkipVerify === true;
  const sans = (tls.subjectAltNames ?? []).map((san) => ({ sanType: sanType(san), matcher: { matchPattern: { case: "exact" as const, value: san } } }));
  const sdsSecrets: string[] = [];
  let certificates: Certificates = {};
  let validation: Validation;
  if (tls.credentialName) {
    if (mutual) {
      sdsSecrets.push(tls.credentialName);
      certificates = { tlsCertificateSdsSecretConfigs: [sdsSecret(tls.credentialName)] };
    }
    if (skipVerify) {
      validation = { case: "validationContext", value: {} };
    } else {
      sdsSecrets.push(tls.credentialName + caSecretSuffix);
      validation = { case: "combinedValidationContext", value: {
        defaultValidationContext: { matchTypedSubjectAltNames: sans },
        validationContextSdsSecretConfig: sdsSecret(tls.credentialName + caSecretSuffix),
      } };
    }
  } else {
    if (mutual && tls.clientCertificate && tls.privateKey) {
      certificates = { tlsCertificates: [{ certificateChain: file(tls.clientCertificate), privateKey: file(tls.privateKey) }] };
    }
    validation = skipVerify
      ? { case: "validationContext", value: {} }
      : { case: "validationContext", value: {
        trustedCa: file(tls.caCertificates || ctx.systemCaPath),
        matchTypedSubjectAltNames: sans,
        ...(tls.caCrl ? { crl: file(tls.caCrl) } : {}),
      } };
  }
  const autoSni = ctx.http && !tls.sni;
  return {
    socket: transportSocket("envoy.transport_sockets.tls", UpstreamTlsContextSchema, {
      sni: tls.sni ?? "",
      commonTlsContext: commonContext(validation, certificates, ctx.h2),
    }),
    autoSni,
    autoSanValidation: autoSni && sans.length === 0 && !skipVerify,
    sdsSecrets,
  };
}

function commonContext(validation: Validation, certificates: Certificates, h2: boolean): CommonInit {
  return {
    tlsParams: { tlsMinimumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_2, tlsMaximumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_3 },
    ...certificates,
    validationContextType: validation,
    ...(h2 ? { alpnProtocols: ["h2"] } : {}),
  };
}

function file(filename: string) {
  return { specifier: { case: "filename" as const, value: filename } };
}

/** The SAN type Envoy must compare against: a URI (spiffe://...), an IP, an e-mail, else a DNS name. */
export function sanType(san: string): SubjectAltNameMatcher_SanType {
  if (san.includes("://")) return SubjectAltNameMatcher_SanType.URI;
  if (parseIp(san)) return SubjectAltNameMatcher_SanType.IP_ADDRESS;
  if (san.includes("@")) return SubjectAltNameMatcher_SanType.EMAIL;
  return SubjectAltNameMatcher_SanType.DNS;
}
