/**
 * The type registry used to resolve `Any` payloads (`typed_config`, `typed_extension_protocol_options`
 * ...): every file generated for the roots in proto/roots.mjs, with everything they import.
 *
 * Keep the imports below in step with proto/roots.mjs (registry.test.ts checks it): a type that is
 * not here cannot be decoded from an `Any`, so a resource that uses it fails validation, which is
 * the safe way round. Importing the generated modules costs a few hundred ms once per process.
 */
import { createRegistry, fromBinary, type DescFile, type DescMessage, type Message, type Registry } from "@bufbuild/protobuf";
import {
  file_google_protobuf_any, file_google_protobuf_duration, file_google_protobuf_empty,
  file_google_protobuf_field_mask, file_google_protobuf_struct, file_google_protobuf_timestamp,
  file_google_protobuf_wrappers, type Any,
} from "@bufbuild/protobuf/wkt";
import { file_envoy_config_listener_v3_listener } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { file_envoy_config_route_v3_route } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { file_envoy_config_cluster_v3_cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { file_envoy_config_endpoint_v3_endpoint } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { file_envoy_config_bootstrap_v3_bootstrap } from "@waystation/proto/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { file_envoy_extensions_transport_sockets_tls_v3_secret } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { file_envoy_service_discovery_v3_ads } from "@waystation/proto/envoy/service/discovery/v3/ads_pb.js";
import { file_envoy_service_secret_v3_sds } from "@waystation/proto/envoy/service/secret/v3/sds_pb.js";
import { file_envoy_admin_v3_config_dump } from "@waystation/proto/envoy/admin/v3/config_dump_pb.js";
import { file_envoy_extensions_filters_network_http_connection_manager_v3_http_connection_manager } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { file_envoy_extensions_filters_network_tcp_proxy_v3_tcp_proxy } from "@waystation/proto/envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy_pb.js";
import { file_envoy_extensions_filters_network_rbac_v3_rbac } from "@waystation/proto/envoy/extensions/filters/network/rbac/v3/rbac_pb.js";
import { file_envoy_extensions_filters_network_local_ratelimit_v3_local_rate_limit } from "@waystation/proto/envoy/extensions/filters/network/local_ratelimit/v3/local_rate_limit_pb.js";
import { file_envoy_extensions_filters_network_ratelimit_v3_rate_limit } from "@waystation/proto/envoy/extensions/filters/network/ratelimit/v3/rate_limit_pb.js";
import { file_envoy_extensions_filters_network_ext_authz_v3_ext_authz } from "@waystation/proto/envoy/extensions/filters/network/ext_authz/v3/ext_authz_pb.js";
import { file_envoy_extensions_filters_network_set_filter_state_v3_set_filter_state } from "@waystation/proto/envoy/extensions/filters/network/set_filter_state/v3/set_filter_state_pb.js";
import { file_envoy_extensions_filters_http_router_v3_router } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import { file_envoy_extensions_filters_http_rbac_v3_rbac } from "@waystation/proto/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import { file_envoy_extensions_filters_http_jwt_authn_v3_config } from "@waystation/proto/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import { file_envoy_extensions_filters_http_local_ratelimit_v3_local_rate_limit } from "@waystation/proto/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { file_envoy_extensions_filters_http_ratelimit_v3_rate_limit } from "@waystation/proto/envoy/extensions/filters/http/ratelimit/v3/rate_limit_pb.js";
import { file_envoy_extensions_filters_http_ext_authz_v3_ext_authz } from "@waystation/proto/envoy/extensions/filters/http/ext_authz/v3/ext_authz_pb.js";
import { file_envoy_extensions_filters_http_fault_v3_fault } from "@waystation/proto/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import { file_envoy_extensions_filters_http_cors_v3_cors } from "@waystation/proto/envoy/extensions/filters/http/cors/v3/cors_pb.js";
import { file_envoy_extensions_filters_http_header_mutation_v3_header_mutation } from "@waystation/proto/envoy/extensions/filters/http/header_mutation/v3/header_mutation_pb.js";
import { file_envoy_extensions_filters_http_set_filter_state_v3_set_filter_state } from "@waystation/proto/envoy/extensions/filters/http/set_filter_state/v3/set_filter_state_pb.js";
import { file_envoy_extensions_filters_http_dynamic_forward_proxy_v3_dynamic_forward_proxy } from "@waystation/proto/envoy/extensions/filters/http/dynamic_forward_proxy/v3/dynamic_forward_proxy_pb.js";
import { file_envoy_extensions_filters_listener_original_dst_v3_original_dst } from "@waystation/proto/envoy/extensions/filters/listener/original_dst/v3/original_dst_pb.js";
import { file_envoy_extensions_filters_listener_proxy_protocol_v3_proxy_protocol } from "@waystation/proto/envoy/extensions/filters/listener/proxy_protocol/v3/proxy_protocol_pb.js";
import { file_envoy_extensions_filters_listener_tls_inspector_v3_tls_inspector } from "@waystation/proto/envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector_pb.js";
import { file_envoy_extensions_filters_listener_http_inspector_v3_http_inspector } from "@waystation/proto/envoy/extensions/filters/listener/http_inspector/v3/http_inspector_pb.js";
import { file_envoy_extensions_transport_sockets_tls_v3_tls } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { file_envoy_extensions_transport_sockets_internal_upstream_v3_internal_upstream } from "@waystation/proto/envoy/extensions/transport_sockets/internal_upstream/v3/internal_upstream_pb.js";
import { file_envoy_extensions_transport_sockets_proxy_protocol_v3_upstream_proxy_protocol } from "@waystation/proto/envoy/extensions/transport_sockets/proxy_protocol/v3/upstream_proxy_protocol_pb.js";
import { file_envoy_extensions_transport_sockets_raw_buffer_v3_raw_buffer } from "@waystation/proto/envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer_pb.js";
import { file_envoy_extensions_bootstrap_internal_listener_v3_internal_listener } from "@waystation/proto/envoy/extensions/bootstrap/internal_listener/v3/internal_listener_pb.js";
import { file_envoy_extensions_upstreams_http_v3_http_protocol_options } from "@waystation/proto/envoy/extensions/upstreams/http/v3/http_protocol_options_pb.js";
import { file_envoy_extensions_clusters_aggregate_v3_cluster } from "@waystation/proto/envoy/extensions/clusters/aggregate/v3/cluster_pb.js";
import { file_envoy_extensions_clusters_dynamic_forward_proxy_v3_cluster } from "@waystation/proto/envoy/extensions/clusters/dynamic_forward_proxy/v3/cluster_pb.js";
import { file_envoy_extensions_load_balancing_policies_round_robin_v3_round_robin } from "@waystation/proto/envoy/extensions/load_balancing_policies/round_robin/v3/round_robin_pb.js";
import { file_envoy_extensions_load_balancing_policies_least_request_v3_least_request } from "@waystation/proto/envoy/extensions/load_balancing_policies/least_request/v3/least_request_pb.js";
import { file_envoy_extensions_load_balancing_policies_random_v3_random } from "@waystation/proto/envoy/extensions/load_balancing_policies/random/v3/random_pb.js";
import { file_envoy_extensions_load_balancing_policies_ring_hash_v3_ring_hash } from "@waystation/proto/envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash_pb.js";
import { file_envoy_extensions_load_balancing_policies_maglev_v3_maglev } from "@waystation/proto/envoy/extensions/load_balancing_policies/maglev/v3/maglev_pb.js";
import { file_envoy_extensions_load_balancing_policies_wrr_locality_v3_wrr_locality } from "@waystation/proto/envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality_pb.js";
import { file_envoy_extensions_load_balancing_policies_client_side_weighted_round_robin_v3_client_side_weighted_round_robin } from "@waystation/proto/envoy/extensions/load_balancing_policies/client_side_weighted_round_robin/v3/client_side_weighted_round_robin_pb.js";
import { file_envoy_extensions_load_balancing_policies_pick_first_v3_pick_first } from "@waystation/proto/envoy/extensions/load_balancing_policies/pick_first/v3/pick_first_pb.js";
import { file_envoy_extensions_matching_common_inputs_network_v3_network_inputs } from "@waystation/proto/envoy/extensions/matching/common_inputs/network/v3/network_inputs_pb.js";
import { file_envoy_extensions_matching_input_matchers_ip_v3_ip } from "@waystation/proto/envoy/extensions/matching/input_matchers/ip/v3/ip_pb.js";
import { file_envoy_extensions_access_loggers_file_v3_file } from "@waystation/proto/envoy/extensions/access_loggers/file/v3/file_pb.js";
import { file_envoy_extensions_access_loggers_stream_v3_stream } from "@waystation/proto/envoy/extensions/access_loggers/stream/v3/stream_pb.js";
import { file_envoy_extensions_access_loggers_grpc_v3_als } from "@waystation/proto/envoy/extensions/access_loggers/grpc/v3/als_pb.js";
import { file_envoy_extensions_access_loggers_open_telemetry_v3_logs_service } from "@waystation/proto/envoy/extensions/access_loggers/open_telemetry/v3/logs_service_pb.js";
import { file_envoy_config_trace_v3_opentelemetry } from "@waystation/proto/envoy/config/trace/v3/opentelemetry_pb.js";
import { file_envoy_config_metrics_v3_stats } from "@waystation/proto/envoy/config/metrics/v3/stats_pb.js";
import { file_envoy_service_accesslog_v3_als } from "@waystation/proto/envoy/service/accesslog/v3/als_pb.js";
import { file_envoy_service_ratelimit_v3_rls } from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { file_envoy_service_auth_v3_external_auth } from "@waystation/proto/envoy/service/auth/v3/external_auth_pb.js";
import { file_xds_type_matcher_v3_matcher } from "@waystation/proto/xds/type/matcher/v3/matcher_pb.js";
import { file_xds_type_matcher_v3_ip } from "@waystation/proto/xds/type/matcher/v3/ip_pb.js";
import { file_xds_type_v3_typed_struct } from "@waystation/proto/xds/type/v3/typed_struct_pb.js";
import { file_istio_workload_workload } from "@waystation/proto/istio/workload/workload_pb.js";
import { file_istio_security_authorization } from "@waystation/proto/istio/security/authorization_pb.js";
import { file_istio_ca_ca } from "@waystation/proto/istio/ca/ca_pb.js";

/** The root files, in the order of proto/roots.mjs. */
const roots: readonly DescFile[] = [
  file_envoy_config_listener_v3_listener,
  file_envoy_config_route_v3_route,
  file_envoy_config_cluster_v3_cluster,
  file_envoy_config_endpoint_v3_endpoint,
  file_envoy_config_bootstrap_v3_bootstrap,
  file_envoy_extensions_transport_sockets_tls_v3_secret,
  file_envoy_service_discovery_v3_ads,
  file_envoy_service_secret_v3_sds,
  file_envoy_admin_v3_config_dump,
  file_envoy_extensions_filters_network_http_connection_manager_v3_http_connection_manager,
  file_envoy_extensions_filters_network_tcp_proxy_v3_tcp_proxy,
  file_envoy_extensions_filters_network_rbac_v3_rbac,
  file_envoy_extensions_filters_network_local_ratelimit_v3_local_rate_limit,
  file_envoy_extensions_filters_network_ratelimit_v3_rate_limit,
  file_envoy_extensions_filters_network_ext_authz_v3_ext_authz,
  file_envoy_extensions_filters_network_set_filter_state_v3_set_filter_state,
  file_envoy_extensions_filters_http_router_v3_router,
  file_envoy_extensions_filters_http_rbac_v3_rbac,
  file_envoy_extensions_filters_http_jwt_authn_v3_config,
  file_envoy_extensions_filters_http_local_ratelimit_v3_local_rate_limit,
  file_envoy_extensions_filters_http_ratelimit_v3_rate_limit,
  file_envoy_extensions_filters_http_ext_authz_v3_ext_authz,
  file_envoy_extensions_filters_http_fault_v3_fault,
  file_envoy_extensions_filters_http_cors_v3_cors,
  file_envoy_extensions_filters_http_header_mutation_v3_header_mutation,
  file_envoy_extensions_filters_http_set_filter_state_v3_set_filter_state,
  file_envoy_extensions_filters_http_dynamic_forward_proxy_v3_dynamic_forward_proxy,
  file_envoy_extensions_filters_listener_original_dst_v3_original_dst,
  file_envoy_extensions_filters_listener_proxy_protocol_v3_proxy_protocol,
  file_envoy_extensions_filters_listener_tls_inspector_v3_tls_inspector,
  file_envoy_extensions_filters_listener_http_inspector_v3_http_inspector,
  file_envoy_extensions_transport_sockets_tls_v3_tls,
  file_envoy_extensions_transport_sockets_internal_upstream_v3_internal_upstream,
  file_envoy_extensions_transport_sockets_proxy_protocol_v3_upstream_proxy_protocol,
  file_envoy_extensions_transport_sockets_raw_buffer_v3_raw_buffer,
  file_envoy_extensions_bootstrap_internal_listener_v3_internal_listener,
  file_envoy_extensions_upstreams_http_v3_http_protocol_options,
  file_envoy_extensions_clusters_aggregate_v3_cluster,
  file_envoy_extensions_clusters_dynamic_forward_proxy_v3_cluster,
  file_envoy_extensions_load_balancing_policies_round_robin_v3_round_robin,
  file_envoy_extensions_load_balancing_policies_least_request_v3_least_request,
  file_envoy_extensions_load_balancing_policies_random_v3_random,
  file_envoy_extensions_load_balancing_policies_ring_hash_v3_ring_hash,
  file_envoy_extensions_load_balancing_policies_maglev_v3_maglev,
  file_envoy_extensions_load_balancing_policies_wrr_locality_v3_wrr_locality,
  file_envoy_extensions_load_balancing_policies_client_side_weighted_round_robin_v3_client_side_weighted_round_robin,
  file_envoy_extensions_load_balancing_policies_pick_first_v3_pick_first,
  file_envoy_extensions_matching_common_inputs_network_v3_network_inputs,
  file_envoy_extensions_matching_input_matchers_ip_v3_ip,
  file_envoy_extensions_access_loggers_file_v3_file,
  file_envoy_extensions_access_loggers_stream_v3_stream,
  file_envoy_extensions_access_loggers_grpc_v3_als,
  file_envoy_extensions_access_loggers_open_telemetry_v3_logs_service,
  file_envoy_config_trace_v3_opentelemetry,
  file_envoy_config_metrics_v3_stats,
  file_envoy_service_accesslog_v3_als,
  file_envoy_service_ratelimit_v3_rls,
  file_envoy_service_auth_v3_external_auth,
  file_xds_type_matcher_v3_matcher,
  file_xds_type_matcher_v3_ip,
  file_xds_type_v3_typed_struct,
  file_istio_workload_workload,
  file_istio_security_authorization,
  file_istio_ca_ca,
];

const wellKnown: readonly DescFile[] = [
  file_google_protobuf_any, file_google_protobuf_duration, file_google_protobuf_empty,
  file_google_protobuf_field_mask, file_google_protobuf_struct, file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
];

function closure(files: readonly DescFile[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile): void => {
    if (seen.has(f.name)) return;
    seen.set(f.name, f);
    for (const d of f.dependencies) visit(d);
  };
  files.forEach(visit);
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Every generated file reachable from the roots, plus the well-known types. */
export const registryFiles: readonly DescFile[] = closure([...wellKnown, ...roots]);

/** Registry of all messages, enums and extensions in {@link registryFiles}. */
export const registry: Registry = createRegistry(...registryFiles);

/**
 * The message named by a type URL (`type.googleapis.com/envoy.config.listener.v3.Listener`) or a
 * bare full name, if the registry has it.
 */
export function messageForTypeUrl(typeUrl: string): DescMessage | undefined {
  const slash = typeUrl.lastIndexOf("/");
  return registry.getMessage(slash < 0 ? typeUrl : typeUrl.slice(slash + 1));
}

/** The canonical type URL of a message, as Envoy expects it. */
export function typeUrlOf(desc: DescMessage): string {
  return `type.googleapis.com/${desc.typeName}`;
}

/** An `Any` decoded with the registry, or why it could not be. */
export type Unpacked =
  | { readonly desc: DescMessage; readonly message: Message; readonly error?: undefined }
  | { readonly error: string; readonly desc?: undefined; readonly message?: undefined };

/**
 * Decodes the payload of an `Any`. `cache` (one per validation run) lets the rule and reference
 * stages share the decoded payload instead of parsing the bytes twice.
 */
export function unpackAny(any: Any, cache?: Map<Any, Unpacked>): Unpacked {
  const hit = cache?.get(any);
  if (hit) return hit;
  let result: Unpacked;
  const desc = any.typeUrl === "" ? undefined : messageForTypeUrl(any.typeUrl);
  if (any.typeUrl === "") {
    result = { error: "type_url is empty: an Any must name its payload type" };
  } else if (!desc) {
    result = { error: `unknown type "${any.typeUrl}": the type is not in the registry (misspelt, or its .proto is missing from proto/roots.mjs)` };
  } else {
    try {
      result = { desc, message: fromBinary(desc, any.value) };
    } catch (e) {
      result = { error: `the payload does not decode as ${desc.typeName}: ${e instanceof Error ? e.message : String(e)}` };
    }
  }
  cache?.set(any, result);
  return result;
}
