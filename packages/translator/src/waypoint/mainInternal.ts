/**
 * main_internal: the internal listener that connect_terminate hands every CONNECT stream to
 * (istio-ambient.md §6.3). original_dst restores the CONNECT authority as the local address and
 * the real client as the remote address; a unified filter-chain matcher dispatches on destination
 * IP (the service VIP) and port to one filter chain per service port.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import { ListenerSchema, type Listener } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import type { FilterChain } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { TrafficDirection } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { OriginalDstSchema } from "@waystation/proto/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js";
import { DestinationIPInputSchema, DestinationPortInputSchema } from "@waystation/proto/envoy/extensions/matching/common_inputs/network/v3/network_inputs_pb.js";
import { IPMatcherSchema } from "@waystation/proto/xds/type/matcher/v3/ip_pb.js";
import type { Matcher_OnMatchSchema } from "@waystation/proto/xds/type/matcher/v3/matcher_pb.js";
import { parseCidr } from "@waystation/api";
import { listenerFilter, xdsTyped } from "../envoy/build.js";
import { waypointNames } from "../names.js";

/** One filter chain reachable at these VIPs and port. */
export interface DispatchEntry {
  vips: readonly string[];
  port: number;
  chain: FilterChain;
}

export function mainInternalListener(entries: readonly DispatchEntry[]): Listener {
  // VIP -> port -> chain name. Sorted so the output does not depend on input order.
  const byVip = new Map<string, Map<number, string>>();
  for (const e of entries) {
    for (const vip of e.vips) {
      const ports = byVip.get(vip) ?? new Map<number, string>();
      if (!ports.has(e.port)) ports.set(e.port, e.chain.name);
      byVip.set(vip, ports);
    }
  }
  const vips = [...byVip.keys()].sort();
  const action = (chain: string): MessageInitShape<typeof Matcher_OnMatchSchema> => ({
    onMatch: { case: "action", value: xdsTyped(chain, StringValueSchema, { value: chain }) },
  });
  const rangeMatchers = vips.map((vip) => {
    const cidr = parseCidr(vip)!;
    const ports = [...byVip.get(vip)!.entries()].sort(([a], [b]) => a - b);
    return {
      ranges: [{ addressPrefix: vip, prefixLen: cidr.length }],
      onMatch: {
        onMatch: {
          case: "matcher" as const,
          value: {
            matcherType: {
              case: "matcherTree" as const,
              value: {
                input: xdsTyped("port", DestinationPortInputSchema, {}),
                treeType: { case: "exactMatchMap" as const, value: { map: Object.fromEntries(ports.map(([p, chain]) => [String(p), action(chain)])) } },
              },
            },
          },
        },
      },
    };
  });
  return create(ListenerSchema, {
    name: waypointNames.mainInternal,
    listenerSpecifier: { case: "internalListener", value: {} },
    trafficDirection: TrafficDirection.INBOUND,
    listenerFilters: [listenerFilter("envoy.filters.listener.original_dst", OriginalDstSchema, {})],
    filterChains: [...entries.map((e) => e.chain)].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    ...(rangeMatchers.length > 0 ? {
      filterChainMatcher: {
        matcherType: {
          case: "matcherTree",
          value: {
            input: xdsTyped("ip", DestinationIPInputSchema, {}),
            treeType: { case: "customMatch", value: xdsTyped("ip", IPMatcherSchema, { rangeMatchers }) },
          },
        },
      },
    } : {}),
  });
}

