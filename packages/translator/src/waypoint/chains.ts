/** The filter chains of main_internal: an HCM for HTTP service ports, tcp_proxy for the rest. */
import { create } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import type { HashPolicy } from "@waystation/proto/envoy/type/v3/hash_policy_pb.js";
import { FilterChainSchema, type FilterChain } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { RouterSchema } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import { HttpConnectionManagerSchema, type HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { TcpProxySchema } from "@waystation/proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import type { Filter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { adsSource, httpFilter, networkFilter } from "../envoy/build.js";

/**
 * An HTTP chain: HCM with routes over RDS (named like the chain, so a route change does not touch
 * LDS), the given policy filters, and the router last.
 */
export function httpChain(name: string, policyFilters: readonly HttpFilter[] = []): FilterChain {
  return create(FilterChainSchema, {
    name,
    filters: [networkFilter("envoy.filters.network.http_connection_manager", HttpConnectionManagerSchema, {
      statPrefix: name,
      routeSpecifier: { case: "rds", value: { routeConfigName: name, configSource: adsSource() } },
      httpFilters: [...policyFilters, httpFilter("envoy.filters.http.router", RouterSchema, {})],
      // use_remote_address false, as Istio's inbound chains: the connection's address (the real
      // client, restored by original_dst) stays the direct remote address, which ipBlocks match; the
      // "remote" address that remoteIpBlocks match comes from x-forwarded-for, as Istio defines it.
      // So a client can choose that remote address: anything keyed by it (RBAC remote_ip, a
      // rate-limit remoteAddress descriptor) must not be treated as proof of origin.
      useRemoteAddress: false,
      normalizePath: true,
      mergeSlashes: true,
    })],
  });
}

/** What a DestinationRule adds to a tcp_proxy (idle timeout, connection duration, hash policy). */
export interface TcpProxyExtras {
  idleTimeout?: Duration;
  maxDownstreamConnectionDuration?: Duration;
  hashPolicy?: HashPolicy[];
}

/** A TCP chain: the given network filters (RBAC ...), then tcp_proxy to the cluster. */
export function tcpChain(name: string, cluster: string, policyFilters: readonly Filter[] = [], extras: TcpProxyExtras = {}): FilterChain {
  return create(FilterChainSchema, {
    name,
    filters: [...policyFilters, networkFilter("envoy.filters.network.tcp_proxy", TcpProxySchema, {
      ...extras,
      statPrefix: name,
      clusterSpecifier: { case: "cluster", value: cluster },
    })],
  });
}
