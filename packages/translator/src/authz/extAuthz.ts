/**
 * CUSTOM authorization: Envoy's ext_authz filter pointed at a MeshConfig extension provider.
 *
 * Istio's structure (pilot/pkg/security/authz/builder/extauthz.go), which we keep: a shadow RBAC
 * filter holds the CUSTOM rules (action DENY, names prefixed `istio-ext-authz-`) and, when one
 * matches, writes the policy name into dynamic metadata under
 * `<shadow_rules_stat_prefix>shadow_effective_policy_id`; ext_authz's `filter_enabled_metadata`
 * tests that key, so only requests the CUSTOM rules select are sent to the provider.
 */
import { create } from "@bufbuild/protobuf";
import { ApiVersion } from "@waystation/proto/envoy/config/core/v3/config_source_pb.js";
import type { Filter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { ExtAuthzSchema as HttpExtAuthzSchema } from "@waystation/proto/envoy/extensions/filters/http/ext_authz/v3/ext_authz_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { ExtAuthzSchema as NetworkExtAuthzSchema } from "@waystation/proto/envoy/extensions/filters/network/ext_authz/v3/ext_authz_pb.js";
import { GrpcServiceSchema } from "@waystation/proto/envoy/config/core/v3/grpc_service_pb.js";
import { StatusCode } from "@waystation/proto/envoy/type/v3/http_status_pb.js";
import { httpFilter, millis, networkFilter } from "../envoy/build.js";
import { outboundName } from "../names.js";
import { metadata, prefix, stringValue, wildcard } from "./matchers.js";
import type { ExtAuthzBody, ExtAuthzGrpcProvider, ExtAuthzHttpProvider, ExtensionProvider } from "./options.js";

/** Names Istio uses to tie the shadow RBAC filter to ext_authz. */
export const extAuthzNames = {
  /** Prefix of CUSTOM policy names in the shadow RBAC. */
  policyPrefix: "istio-ext-authz-",
  /** shadow_rules_stat_prefix of the shadow RBAC; Envoy also prefixes its metadata keys with it. */
  shadowStatPrefix: "istio_ext_authz_",
  httpFilter: "envoy.filters.http.ext_authz",
  networkFilter: "envoy.filters.network.ext_authz",
} as const;

/** A provider checked and resolved to the cluster Envoy calls. */
export interface ResolvedProvider {
  name: string;
  kind: "http" | "grpc";
  /** Host name of the authorization service. */
  hostname: string;
  port: number;
  /** outbound|<port>||<hostname>: the cluster the waypoint must also carry. */
  cluster: string;
  timeoutMs?: number;
  failOpen: boolean;
  statusOnError?: StatusCode;
  http?: ExtAuthzHttpProvider;
  grpc?: ExtAuthzGrpcProvider;
}

const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** A Go-style duration ("1.5s", "250ms", "1m30s") in milliseconds, or undefined if malformed. */
export function parseDuration(d: string): number | undefined {
  const parts = [...d.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== d) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
}

/** Checks a provider as istiod does and resolves its cluster; the error says what to fix. */
export function resolveProvider(p: ExtensionProvider): { provider: ResolvedProvider } | { error: string } {
  const kinds = [p.envoyExtAuthzHttp ? "envoyExtAuthzHttp" : "", p.envoyExtAuthzGrpc ? "envoyExtAuthzGrpc" : ""].filter(Boolean);
  if (kinds.length !== 1) return { error: `extension provider "${p.name}" must set exactly one of envoyExtAuthzHttp and envoyExtAuthzGrpc` };
  const c = (p.envoyExtAuthzHttp ?? p.envoyExtAuthzGrpc)!;
  const hostname = c.service.includes("/") ? c.service.slice(c.service.indexOf("/") + 1) : c.service;
  if (!hostname) return { error: `extension provider "${p.name}": service must name the authorization service's host` };
  if (!Number.isInteger(c.port) || c.port < 1 || c.port > 65535) return { error: `extension provider "${p.name}": port must be 1-65535, not ${c.port}` };
  const timeoutMs = c.timeout === undefined ? undefined : parseDuration(c.timeout);
  if (c.timeout !== undefined && timeoutMs === undefined) return { error: `extension provider "${p.name}": timeout "${c.timeout}" is not a duration such as "0.5s"` };
  const code = c.statusOnError === undefined ? undefined : Number(c.statusOnError);
  if (code !== undefined && (!Number.isInteger(code) || code === 0 || StatusCode[code] === undefined)) {
    return { error: `extension provider "${p.name}": statusOnError "${c.statusOnError}" is not an HTTP status code Envoy knows` };
  }
  if (p.envoyExtAuthzHttp?.pathPrefix && !p.envoyExtAuthzHttp.pathPrefix.startsWith("/")) {
    return { error: `extension provider "${p.name}": pathPrefix must begin with "/", not "${p.envoyExtAuthzHttp.pathPrefix}"` };
  }
  const provider: ResolvedProvider = {
    name: p.name, kind: p.envoyExtAuthzHttp ? "http" : "grpc", hostname, port: c.port, cluster: outboundName(hostname, c.port),
    failOpen: c.failOpen ?? false,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    ...(code === undefined ? {} : { statusOnError: code as StatusCode }),
    ...(p.envoyExtAuthzHttp ? { http: p.envoyExtAuthzHttp } : {}),
    ...(p.envoyExtAuthzGrpc ? { grpc: p.envoyExtAuthzGrpc } : {}),
  };
  return { provider };
}

const enabledBy = (rbacFilter: string) =>
  metadata(rbacFilter, [`${extAuthzNames.shadowStatPrefix}shadow_effective_policy_id`], stringValue(prefix(extAuthzNames.policyPrefix.slice(0, -1))));

/** Header names (Istio wildcards allowed), compared case-insensitively as header names are. */
const headerList = (hs: readonly string[] | undefined) =>
  (hs && hs.length > 0 ? { patterns: hs.map((h) => ({ ...wildcard(h), ignoreCase: h !== "*" })) } : undefined);

const body = (b: ExtAuthzBody | undefined) => b && {
  maxRequestBytes: b.maxRequestBytes ?? 0, allowPartialMessage: b.allowPartialMessage ?? false, packAsBytes: b.packAsBytes ?? false,
};

function grpcService(p: ResolvedProvider) {
  return create(GrpcServiceSchema, {
    // gRPC rejects "|" in :authority, and ext_authz would send the cluster name there (Istio's workaround).
    targetSpecifier: { case: "envoyGrpc", value: { clusterName: p.cluster, authority: p.cluster.replaceAll("|", "_.") } },
    ...(p.timeoutMs === undefined ? {} : { timeout: millis(p.timeoutMs) }),
  });
}

/** The HTTP ext_authz filter for a resolved provider; it only runs for requests the shadow RBAC marked. */
export function extAuthzHttpFilter(p: ResolvedProvider): HttpFilter {
  const h = p.http;
  const added = Object.entries(h?.includeAdditionalHeadersInCheck ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ key, value }));
  const response = h && (h.headersToUpstreamOnAllow?.length || h.headersToDownstreamOnDeny?.length || h.headersToDownstreamOnAllow?.length) ? {
    allowedUpstreamHeaders: headerList(h.headersToUpstreamOnAllow),
    allowedClientHeaders: headerList(h.headersToDownstreamOnDeny),
    allowedClientHeadersOnSuccess: headerList(h.headersToDownstreamOnAllow),
  } : undefined;
  const withBody = body(p.http?.includeRequestBodyInCheck ?? p.grpc?.includeRequestBodyInCheck);
  return httpFilter(extAuthzNames.httpFilter, HttpExtAuthzSchema, {
    services: h ? {
      case: "httpService",
      value: {
        serverUri: {
          uri: `http://${p.hostname}`,
          httpUpstreamType: { case: "cluster", value: p.cluster },
          // Required by Envoy; Istio's default is large so a DestinationRule timeout governs.
          timeout: millis(p.timeoutMs ?? 600_000),
        },
        pathPrefix: h.pathPrefix ?? "",
        ...(added.length > 0 ? { authorizationRequest: { headersToAdd: added } } : {}),
        ...(response ? { authorizationResponse: response } : {}),
      },
    } : { case: "grpcService", value: grpcService(p) },
    transportApiVersion: ApiVersion.V3,
    failureModeAllow: p.failOpen,
    ...(p.statusOnError === undefined ? {} : { statusOnError: { code: p.statusOnError } }),
    filterEnabledMetadata: enabledBy("envoy.filters.http.rbac"),
    ...(headerList(h?.includeRequestHeadersInCheck) ? { allowedHeaders: headerList(h?.includeRequestHeadersInCheck) } : {}),
    ...(withBody ? { withRequestBody: withBody } : {}),
  });
}

/** The network ext_authz filter; only a gRPC provider can check a TCP connection. */
export function extAuthzNetworkFilter(p: ResolvedProvider): Filter | undefined {
  if (p.kind !== "grpc") return undefined;
  return networkFilter(extAuthzNames.networkFilter, NetworkExtAuthzSchema, {
    statPrefix: "tcp.",
    grpcService: grpcService(p),
    failureModeAllow: p.failOpen,
    transportApiVersion: ApiVersion.V3,
    filterEnabledMetadata: enabledBy("envoy.filters.network.rbac"),
  });
}
