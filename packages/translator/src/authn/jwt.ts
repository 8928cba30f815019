/**
 * RequestAuthentication -> Envoy's jwt_authn HTTP filter (and the clusters it fetches key sets
 * from), with Istio's semantics (pilot/pkg/security/authn/policy_applier.go
 * `convertToEnvoyJwtConfig`; istio-ambient.md §6.4):
 *
 * - every jwtRule of every RequestAuthentication that applies becomes one provider; the rules
 *   are merged into ONE filter config, sorted by issuer as Istio sorts them;
 * - a request with a token that fails validation is rejected with 401; a request WITHOUT a token
 *   passes, and AuthorizationPolicy decides (`requestPrincipals: ["*"]` makes a token mandatory).
 *   Istio's requirement, kept exactly:
 *     one provider P:     requires_any [P, allow_missing]
 *     providers P1..Pn:   requires_any [P1, ..., Pn, requires_all [any[P1, allow_missing], ..., any[Pn, allow_missing]]]
 *   `allow_missing` (not `allow_missing_or_failed`) is what rejects a bad token: Envoy's
 *   requires_any treats "no token" as missing but a token with an unknown issuer, a bad
 *   signature, a wrong audience or an expired `exp` as a failure. The inner AND demands that
 *   every token present be valid for its provider; the outer OR lets a valid token through
 *   when several providers read the same location (where the other providers see a foreign
 *   issuer and would fail the AND);
 * - every provider writes the validated payload to dynamic metadata
 *   `envoy.filters.http.jwt_authn` / `payload` (`payload_in_metadata`, from
 *   {@link jwtPayloadMetadata}), where the RBAC filter's requestPrincipals / claims matchers
 *   read it; `scope` and `permission` are split at spaces into lists there, as Istio does, so a
 *   `claims[scope]` condition matches one scope of an OAuth `"scope": "read write"`;
 * - `clear_route_cache: true`, as Istio sets it on every proxy but sidecars: the filter can
 *   change headers (claim_to_headers, token removal) after ext_authz has already picked a route;
 * - `bypass_cors_preflight: true` and the rule `prefix: "/"`, as Istio.
 *
 * Key sets: `jwks` is inlined (`local_jwks`). A `jwksUri` is fetched by Envoy (`remote_jwks`,
 * cache 5 min, timeout `timeout` or 5 s, as Istio's Envoy-fetch mode) through a cluster this file
 * generates: `outbound|<port>||<host>`, LOGICAL_DNS (STATIC for an IP literal), TLS with SNI and
 * the host checked against the certificate's SANs for https. Istio's default instead has istiod
 * fetch the key set and inline it; Waystation's translator is pure and does no I/O, so the proxy
 * fetches. A rule whose key set cannot be used (no jwks / jwksUri: Istio would fetch the issuer's
 * OpenID discovery document, which we do not; a jwksUri with credentials or port 0) gets a key
 * set whose only key has no known private key, so its tokens are rejected (fail closed, as
 * Istio's "fake JWKS"), while requests without a token still pass.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { LoadedResource, JwtRule, RequestAuthenticationSpec } from "@waystation/api";
import { parseDurationMs } from "@waystation/api";
import type { Condition, MeshModel } from "@waystation/model";
import { ClusterSchema, Cluster_DiscoveryType, Cluster_DnsLookupFamily, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import {
  JwtAuthenticationSchema, type JwtProviderSchema, type JwtRequirementSchema,
} from "@waystation/proto/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { SubjectAltNameMatcher_SanType } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { UpstreamTlsContextSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { jwtPayloadMetadata } from "../authz/principals.js";
import { Report } from "../authz/options.js";
import { httpFilter, millis, seconds, transportSocket } from "../envoy/build.js";
import { outboundName } from "../names.js";
import { modeForPort, peerAuthenticationFor } from "./peer.js";

type ProviderInit = MessageInitShape<typeof JwtProviderSchema>;
type RequirementInit = MessageInitShape<typeof JwtRequirementSchema>;

/** Names and Istio's defaults. */
export const jwtNames = {
  /** The filter's name; also the dynamic-metadata namespace RBAC reads the payload from. */
  httpFilter: jwtPayloadMetadata.filter,
  /** Key id of the key set used when a rule's real key set cannot be used. */
  unusableKid: "waystation-no-usable-jwks",
} as const;

export const jwtDefaults = {
  /** How long Envoy waits for the key set (Istio: 5 s unless jwtRules[].timeout). */
  fetchTimeoutMs: 5000,
  /** How long Envoy keeps a fetched key set (Istio: 5 min). */
  cacheDurationSeconds: 300,
  /** Claims split at spaces into lists in the metadata payload (Istio's defaults). */
  spaceDelimitedClaims: ["permission", "scope"],
  /** connect_timeout of JWKS clusters (Istio's mesh default). */
  connectTimeoutSeconds: 10,
  /** CA bundle https key sets are verified against. */
  systemCaPath: "/etc/ssl/certs/ca-certificates.crt",
} as const;

/**
 * A JSON Web Key Set whose single RSA public key was generated for Waystation with its private
 * key discarded: no token verifies against it. Used for rules whose key set cannot be used.
 */
export const unusableJwks = JSON.stringify({
  keys: [{
    kty: "RSA", alg: "RS256", use: "sig", kid: jwtNames.unusableKid, e: "AQAB",
    n: "oqtgoMF8MhjRfnO00tHhfoKUaFjCB_DLVu9gL400z-MnEveaAjBWaxlpUInFcH07uTLcON_fvADFCxroOeC2IMVH4DRwHaTRSTFVCnCoIgZnVFOQJOIs8tla0FcOEGGhygTtdFidSWC"
      + "LcsFxV4n5CC19uXNzpYfjHVNMXmn4F2L33UphsNTi9_yKm8B3YY8LEXOt1C-Y6siD4RTlwdfmbebFWirTXOz-F_Yp4WNpxyxSqv1mMQWqvDP8n66-j_G75jGjjPqFPfssAtL8LdHDSljBjp9FsU4z"
      + "MaASDoziCrz1ruk3jXypl6n_h212CPsM0kPLt4ao_3fQgYg_79sCzQ",
  }],
});

/** Options of the JWT translator. */
export interface JwtOptions {
  /** CA bundle for https key sets; default {@link jwtDefaults.systemCaPath}. */
  systemCaPath?: string;
  /** connect_timeout of the JWKS clusters; default 10 s. */
  connectTimeoutSeconds?: number;
  /**
   * The mesh, to recognise a jwksUri that points at a mesh service whose workloads require
   * mutual TLS (the waypoint fetches outside HBONE, so ztunnel would reject the fetch).
   */
  model?: MeshModel;
}

/** The jwt_authn filter of one chain, the clusters it fetches key sets from, and conditions. */
export interface JwtAuthn {
  /** undefined when no jwtRules apply. */
  filter?: HttpFilter;
  /** One per distinct jwksUri host and port, sorted by name; the same name always has the same content. */
  clusters: Cluster[];
  conditions: Condition[];
}

/**
 * The provider name of `spec.jwtRules[rule]` of a RequestAuthentication. Istio numbers merged
 * rules (`origins-<i>`); naming the policy instead keeps names stable when other policies come
 * and go and shows in a config dump which RequestAuthentication a provider came from. Brackets
 * cannot occur in Kubernetes names, so the name is unambiguous (as the RBAC policy names).
 */
export function jwtProviderName(namespace: string, name: string, rule: number): string {
  return `origins-ns[${namespace}]-policy[${name}]-rule[${rule}]`;
}

/** Where a jwksUri points, or why it cannot be used. */
export type JwksTarget =
  | { host: string; port: number; tls: boolean; ip: boolean; cluster: string }
  | { error: string };

/** Parses a jwksUri into the host and port Envoy connects to and the cluster's name. */
export function jwksTarget(uri: string): JwksTarget {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return { error: `${JSON.stringify(uri)} is not a URL` };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { error: `${JSON.stringify(uri)} is not an http:// or https:// URL` };
  if (url.username || url.password) {
    return { error: `${JSON.stringify(uri)} carries credentials, which Envoy would send as part of the host name; serve the key set without them` };
  }
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  if (!host) return { error: `${JSON.stringify(uri)} names no host` };
  const tls = url.protocol === "https:";
  const port = url.port === "" ? (tls ? 443 : 80) : Number(url.port);
  if (port === 0) return { error: `${JSON.stringify(uri)} names port 0, which cannot be connected to` };
  const ip = host.includes(":") || /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
  return { host, port, tls, ip, cluster: outboundName(host, port) };
}

interface Rule { policy: LoadedResource; index: number; rule: JwtRule; provider: string }

const specOf = (p: LoadedResource) => (p.object.spec ?? {}) as RequestAuthenticationSpec;
const at = (r: Rule, field: string) => `spec.jwtRules[${r.index}].${field}`;

/** All rules of `policies`, by issuer (stable: policies in namespace/name order, then rule order). */
function collect(policies: readonly LoadedResource[]): Rule[] {
  const sorted = [...policies].sort((a, b) => (`${a.key.namespace}/${a.key.name}` < `${b.key.namespace}/${b.key.name}` ? -1 : 1));
  const rules = sorted.flatMap((policy) => (specOf(policy).jwtRules ?? []).map((rule, index) =>
    ({ policy, index, rule, provider: jwtProviderName(policy.key.namespace, policy.key.name, index) })));
  return rules.map((r, i) => [r, i] as const).sort(([a, i], [b, j]) => (a.rule.issuer < b.rule.issuer ? -1 : a.rule.issuer > b.rule.issuer ? 1 : i - j)).map(([r]) => r);
}

const local = (inline: string) => ({ case: "localJwks" as const, value: { specifier: { case: "inlineString" as const, value: inline } } });

/** A pseudo-header cannot be added to a request by jwt_authn. */
function headerProblem(name: string): string | undefined {
  return name.startsWith(":") ? `${JSON.stringify(name)} is an HTTP/2 pseudo-header, which jwt_authn cannot add; the header is not written` : undefined;
}

/** The JWKS cluster for a parsed jwksUri. */
function jwksCluster(t: Extract<JwksTarget, { host: string }>, options: JwtOptions): Cluster {
  const tlsSocket = t.tls ? {
    transportSocket: transportSocket("envoy.transport_sockets.tls", UpstreamTlsContextSchema, {
      // SNI must be a host name (RFC 6066), never an IP literal.
      sni: t.ip ? "" : t.host,
      commonTlsContext: {
        validationContextType: {
          case: "validationContext",
          value: {
            trustedCa: { specifier: { case: "filename", value: options.systemCaPath ?? jwtDefaults.systemCaPath } },
            // Envoy checks only the chain unless told which name to expect; a DNS matcher also
            // accepts a wildcard SAN (*.example.com) covering the host, as RFC 6125 says.
            matchTypedSubjectAltNames: [{
              sanType: t.ip ? SubjectAltNameMatcher_SanType.IP_ADDRESS : SubjectAltNameMatcher_SanType.DNS,
              matcher: { matchPattern: { case: "exact", value: t.host } },
            }],
          },
        },
      },
    }),
  } : {};
  return create(ClusterSchema, {
    name: t.cluster,
    connectTimeout: seconds(options.connectTimeoutSeconds ?? jwtDefaults.connectTimeoutSeconds),
    clusterDiscoveryType: { case: "type", value: t.ip ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.LOGICAL_DNS },
    ...(t.ip ? {} : { dnsLookupFamily: Cluster_DnsLookupFamily.V4_PREFERRED }),
    loadAssignment: {
      clusterName: t.cluster,
      endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: t.host, portSpecifier: { case: "portValue", value: t.port } } } } } } }] }],
    },
    ...tlsSocket,
  });
}

/**
 * When the key set is served by a mesh service: whether its workloads require mutual TLS on the
 * port, which the waypoint's direct (non-HBONE) fetch cannot satisfy.
 */
function strictMeshHost(t: Extract<JwksTarget, { host: string }>, model: MeshModel | undefined): string | undefined {
  if (!model) return undefined;
  const svc = model.services.find((s) => !s.external && s.hostname === t.host);
  const port = svc?.ports.find((p) => p.port === t.port);
  if (!svc || !port) return undefined;
  const strict = model.workloads.filter((w) => w.services.includes(svc.hostname) && w.waypointOf === undefined).filter((w) => {
    const target = typeof port.targetPort === "number" ? port.targetPort : w.namedPorts[port.targetPort] ?? port.port;
    return modeForPort(peerAuthenticationFor(model, w), target) === "STRICT";
  });
  return strict.length === 0 ? undefined : strict.map((w) => `${w.namespace}/${w.name}`).sort().join(", ");
}

/** One provider (and its JWKS cluster, if any) for a rule; problems go to `report`. */
function provider(r: Rule, options: JwtOptions, report: Report, clusters: Map<string, Cluster>): ProviderInit {
  const { rule, policy } = r;
  let jwks: ProviderInit["jwksSourceSpecifier"];
  const failClosed = (reason: string, message: string) => {
    report.add(policy, "False", reason, `${message}; tokens from issuer ${JSON.stringify(rule.issuer)} are rejected until that is fixed (requests without a token still pass)`);
    return local(unusableJwks);
  };
  if (rule.jwks !== undefined) {
    jwks = local(rule.jwks);
  } else if (rule.jwksUri === undefined) {
    jwks = failClosed("MissingJwks", `${at(r, "jwksUri")}: neither jwksUri nor jwks is set. Istio would look the key set up in the issuer's OpenID discovery document, which Waystation does not fetch: set jwksUri or jwks`);
  } else {
    const t = jwksTarget(rule.jwksUri);
    if ("error" in t) {
      jwks = failClosed("InvalidJwksUri", `${at(r, "jwksUri")}: ${t.error}`);
    } else {
      if (!clusters.has(t.cluster)) clusters.set(t.cluster, jwksCluster(t, options));
      jwks = {
        case: "remoteJwks",
        value: {
          httpUri: {
            uri: rule.jwksUri,
            httpUpstreamType: { case: "cluster", value: t.cluster },
            timeout: millis(rule.timeout === undefined ? jwtDefaults.fetchTimeoutMs : parseDurationMs(rule.timeout) ?? jwtDefaults.fetchTimeoutMs),
          },
          cacheDuration: seconds(jwtDefaults.cacheDurationSeconds),
        },
      };
      if (!t.tls) {
        report.add(policy, "True", "InsecureJwksUri", `${at(r, "jwksUri")}: the key set is fetched over plain HTTP, so anyone on the path can substitute keys and forge tokens; serve it over https`);
      }
      const strict = strictMeshHost(t, options.model);
      if (strict) {
        report.add(policy, "False", "JwksUnreachable", `${at(r, "jwksUri")}: ${t.host}:${t.port} is a mesh service whose workloads (${strict}) require mutual TLS, `
          + "but the waypoint fetches key sets directly, not through HBONE, so ztunnel rejects the fetch and every token from this issuer fails. "
          + "Give the key set inline (jwks) or make that port PERMISSIVE");
      }
    }
  }
  const payloadHeader = rule.outputPayloadToHeader;
  const payloadProblem = payloadHeader === undefined ? undefined : headerProblem(payloadHeader);
  if (payloadProblem) report.add(policy, "True", "UnsupportedValue", `${at(r, "outputPayloadToHeader")}: ${payloadProblem}`);
  const claimToHeaders = (rule.outputClaimToHeaders ?? []).flatMap((c, i) => {
    const problem = headerProblem(c.header);
    if (problem) {
      report.add(policy, "True", "UnsupportedValue", `${at(r, `outputClaimToHeaders[${i}].header`)}: ${problem}`);
      return [];
    }
    return [{ headerName: c.header, claimName: c.claim }];
  });
  return {
    issuer: rule.issuer,
    audiences: rule.audiences ?? [],
    forward: rule.forwardOriginalToken ?? false,
    ...(payloadHeader !== undefined && !payloadProblem ? { forwardPayloadHeader: payloadHeader } : {}),
    payloadInMetadata: jwtPayloadMetadata.key,
    normalizePayloadInMetadata: { spaceDelimitedClaims: [...jwtDefaults.spaceDelimitedClaims] },
    clearRouteCache: true,
    claimToHeaders,
    fromHeaders: (rule.fromHeaders ?? []).map((h) => ({ name: h.name, valuePrefix: h.prefix ?? "" })),
    fromParams: rule.fromParams ?? [],
    fromCookies: rule.fromCookies ?? [],
    jwksSourceSpecifier: jwks,
  };
}

const byName = (name: string): RequirementInit => ({ requiresType: { case: "providerName", value: name } });
const anyOf = (requirements: RequirementInit[]): RequirementInit => ({ requiresType: { case: "requiresAny", value: { requirements } } });
const allowMissing: RequirementInit = { requiresType: { case: "allowMissing", value: {} } };

/** Istio's requirement over the providers `names` (see the file comment). */
export function jwtRequirement(names: readonly string[]): RequirementInit {
  const inner = names.map((n) => anyOf([byName(n), allowMissing]));
  if (inner.length === 1) return inner[0]!;
  return anyOf([...names.map(byName), { requiresType: { case: "requiresAll", value: { requirements: inner } } }]);
}

/**
 * The jwt_authn filter enforcing the jwtRules of `policies` (RequestAuthentications that apply
 * to one service at one waypoint), the JWKS clusters it needs, and conditions. No filter when the
 * policies have no jwtRules. `report` lets a caller share one condition collector.
 */
export function jwtAuthnFilter(policies: readonly LoadedResource[], options: JwtOptions = {}, report = new Report()): JwtAuthn {
  const rules = collect(policies);
  if (rules.length === 0) return { clusters: [], conditions: report.conditions() };
  const clusters = new Map<string, Cluster>();
  const providers = Object.fromEntries(rules.map((r) => [r.provider, provider(r, options, report, clusters)]));
  const filter = httpFilter(jwtNames.httpFilter, JwtAuthenticationSchema, {
    providers,
    rules: [{ match: { pathSpecifier: { case: "prefix", value: "/" } }, requirementType: { case: "requires", value: jwtRequirement(rules.map((r) => r.provider)) } }],
    bypassCorsPreflight: true,
  });
  return {
    filter,
    clusters: [...clusters.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    conditions: report.conditions(),
  };
}
