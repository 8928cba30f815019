/**
 * The TLS settings of HBONE, both directions (istio-ambient.md §1.1): TLS 1.3 only, ALPN h2, the
 * proxy's own certificate and the trust bundle over SDS, and a peer certificate whose URI SAN lies
 * under our trust domain.
 */
import { create } from "@bufbuild/protobuf";
import { CommonTlsContextSchema, type CommonTlsContext } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { SubjectAltNameMatcher_SanType, TlsParameters_TlsProtocol } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { sdsSecret, secretNames } from "../envoy/build.js";

export function hboneTlsContext(trustDomain: string, extraSanPrefixes: readonly string[] = []): CommonTlsContext {
  const prefixes = [`spiffe://${trustDomain}/`, ...extraSanPrefixes];
  return create(CommonTlsContextSchema, {
    tlsParams: { tlsMinimumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_3, tlsMaximumProtocolVersion: TlsParameters_TlsProtocol.TLSv1_3 },
    alpnProtocols: ["h2"],
    tlsCertificateSdsSecretConfigs: [sdsSecret(secretNames.workloadCert)],
    validationContextType: {
      case: "combinedValidationContext",
      value: {
        defaultValidationContext: {
          matchTypedSubjectAltNames: prefixes.map((p) => ({
            sanType: SubjectAltNameMatcher_SanType.URI,
            matcher: { matchPattern: { case: "prefix" as const, value: p } },
          })),
        },
        validationContextSdsSecretConfig: sdsSecret(secretNames.rootCa),
      },
    },
  });
}
