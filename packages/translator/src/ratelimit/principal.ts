/**
 * sourcePrincipal for stock Envoy. The caller's SPIFFE identity is in filter state
 * `io.istio.peer_principal` (set by connect_terminate, shared with the main_internal connection;
 * istio-ambient.md §6.8), but Envoy 1.31 has no rate limit action that reads filter state (Istio
 * has none either: it never rate limits by principal at a waypoint). Route `request_headers_to_add`
 * cannot help: the router applies it after the rate limit filters have built their descriptors.
 *
 * So two header_mutation filters (envoy.filters.http.header_mutation, upstream since 1.26)
 * bracket the rate limit filters:
 *   - before them, `x-waystation-peer-principal` is removed (a client cannot forge it) and set to
 *     `%FILTER_STATE(io.istio.peer_principal:PLAIN)%`, which request_headers actions can read;
 *   - after them, it is removed again, so the application never sees it.
 * Both run in decodeHeaders, as the rate limit filters build their descriptors there (the global
 * filter pauses the chain only after that).
 */
import { HeaderValueOption_HeaderAppendAction } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { HeaderMutationSchema } from "@waystation/proto/envoy/extensions/filters/http/header_mutation/v3/header_mutation_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { httpFilter } from "../envoy/build.js";
import { filterState } from "../waypoint/connectTerminate.js";
import { peerPrincipalHeader } from "./descriptors.js";

/** Names of the two filters (HTTP filter names are free-form; the type URL picks the extension). */
export const principalFilterNames = {
  set: "waystation.ratelimit.set_peer_principal",
  strip: "waystation.ratelimit.strip_peer_principal",
} as const;

/** Sets the principal header from filter state, replacing anything the client sent. */
export function setPrincipalHeaderFilter(): HttpFilter {
  return httpFilter(principalFilterNames.set, HeaderMutationSchema, {
    mutations: {
      requestMutations: [
        { action: { case: "remove", value: peerPrincipalHeader } },
        {
          action: {
            case: "append",
            value: {
              header: { key: peerPrincipalHeader, value: `%FILTER_STATE(${filterState.peerPrincipal}:PLAIN)%` },
              appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
            },
          },
        },
      ],
    },
  });
}

/** Removes the principal header once the rate limit filters have read it. */
export function stripPrincipalHeaderFilter(): HttpFilter {
  return httpFilter(principalFilterNames.strip, HeaderMutationSchema, {
    mutations: { requestMutations: [{ action: { case: "remove", value: peerPrincipalHeader } }] },
  });
}
