/**
 * Global rules -> envoy.filters.http.ratelimit, which asks Waystation's rate limit service
 * (envoy.service.ratelimit.v3, packages/ratelimit) with the descriptors the route's `rate_limits`
 * build (actions.ts), and the cluster that reaches the service.
 *
 * failure_mode_deny is per filter, failureMode is per policy: policies that fail open and those
 * that fail closed get a filter (and stage) each. Shadow policies always go to the fail-open
 * filter: a dry run must not reject even when the service is down. The service itself never
 * rejects for a shadow rule (it counts, and answers OK).
 */
import { create } from "@bufbuild/protobuf";
import { parseIp } from "@waystation/api";
import { ClusterSchema, Cluster_DiscoveryType, Cluster_DnsLookupFamily, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ApiVersion } from "@waystation/proto/envoy/config/core/v3/config_source_pb.js";
import { RateLimitSchema, RateLimit_XRateLimitHeadersRFCVersion } from "@waystation/proto/envoy/extensions/filters/http/ratelimit/v3/rate_limit_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { HttpProtocolOptionsSchema } from "@waystation/proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { StatusCode } from "@waystation/proto/envoy/type/v3/http_status_pb.js";
import { any, httpFilter, millis, seconds } from "../envoy/build.js";
import { outboundName } from "../names.js";
import { rateLimitStages, ruleRateLimit, type RouteRateLimitInit } from "./actions.js";
import { rateLimitDomain, type CompiledRule } from "./descriptors.js";
import { headersWanted, type Notes } from "./notes.js";

export const globalFilterName = "envoy.filters.http.ratelimit";

/** Where waypoints reach the rate limit service, and how long they wait for it. */
export interface RateLimitServiceTarget {
  /** Host name (STRICT_DNS cluster) or IP address (STATIC cluster). */
  host: string;
  port: number;
  /** Envoy's per-request deadline for the service; then failureMode decides. Default 100 ms. */
  timeoutMs?: number;
}

/** The default: a Service `ratelimit` in namespace `waystation`, on envoyproxy/ratelimit's gRPC port. */
export const defaultRateLimitService: RateLimitServiceTarget = { host: "ratelimit.waystation", port: 8081, timeoutMs: 100 };

/** outbound|<port>||<host>: the cluster of the rate limit service. */
export function rateLimitClusterName(t: RateLimitServiceTarget): string {
  return outboundName(t.host, t.port);
}

/** A plaintext HTTP/2 cluster to the service (it runs beside the control plane, like xDS on 15010). */
export function rateLimitCluster(t: RateLimitServiceTarget): Cluster {
  const name = rateLimitClusterName(t);
  const isIp = parseIp(t.host) !== undefined;
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: isIp ? Cluster_DiscoveryType.STATIC : Cluster_DiscoveryType.STRICT_DNS },
    ...(isIp ? {} : { dnsLookupFamily: Cluster_DnsLookupFamily.V4_PREFERRED }),
    connectTimeout: seconds(1),
    loadAssignment: {
      clusterName: name,
      endpoints: [{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: t.host, portSpecifier: { case: "portValue", value: t.port } } } } } } }] }],
    },
    typedExtensionProtocolOptions: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": any(HttpProtocolOptionsSchema, {
        upstreamProtocolOptions: { case: "explicitHttpConfig", value: { protocolConfig: { case: "http2ProtocolOptions", value: {} } } },
      }),
    },
  });
}

function filterFor(rules: readonly CompiledRule[], failClosed: boolean, t: RateLimitServiceTarget, notes: Notes): HttpFilter {
  const cluster = rateLimitClusterName(t);
  return httpFilter(globalFilterName, RateLimitSchema, {
    domain: rateLimitDomain,
    stage: failClosed ? rateLimitStages.globalFailClosed : rateLimitStages.globalFailOpen,
    statPrefix: failClosed ? "global_rate_limit_fail_closed" : "global_rate_limit",
    timeout: millis(t.timeoutMs ?? defaultRateLimitService.timeoutMs!),
    failureModeDeny: failClosed,
    // Failing closed means "the limiter is unavailable", not "you sent too much".
    ...(failClosed ? { statusOnError: { code: StatusCode.ServiceUnavailable } } : {}),
    rateLimitedAsResourceExhausted: true,
    rateLimitService: {
      grpcService: {
        // The default :authority would be the cluster name, and nghttp2 rejects "|" in it.
        targetSpecifier: { case: "envoyGrpc", value: { clusterName: cluster, authority: `${t.host}:${t.port}` } },
      },
      transportApiVersion: ApiVersion.V3,
    },
    ...(headersWanted(rules, notes, "global") ? { enableXRatelimitHeaders: RateLimit_XRateLimitHeadersRFCVersion.DRAFT_VERSION_03 } : {}),
  });
}

/** The global filters (fail-open first) and the route rate limits they read. */
export function globalRateLimitFilters(rules: readonly CompiledRule[], serviceHost: string, t: RateLimitServiceTarget, notes: Notes): { filters: HttpFilter[]; rateLimits: RouteRateLimitInit[] } {
  const filters: HttpFilter[] = [];
  const rateLimits: RouteRateLimitInit[] = [];
  for (const failClosed of [false, true]) {
    const group = rules.filter((r) => (r.failureMode === "closed" && !r.shadow) === failClosed);
    if (group.length === 0) continue;
    filters.push(filterFor(group, failClosed, t, notes));
    const stage = failClosed ? rateLimitStages.globalFailClosed : rateLimitStages.globalFailOpen;
    rateLimits.push(...group.map((r) => ruleRateLimit(r, stage, serviceHost)));
  }
  return { filters, rateLimits };
}
