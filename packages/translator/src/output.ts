/**
 * Envoy's JSON form of translated resources: proto3 JSON with the proto field names (snake_case),
 * as Envoy's docs and config_dump show them, Any payloads resolved with the full registry.
 */
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { registry } from "./validate/registry.js";
import type { ResourceType, XdsResources } from "./resources.js";

/** Envoy JSON of each resource list, keyed like XdsResources; empty lists are left out. */
export function toEnvoyJson(r: XdsResources, types: readonly ResourceType[] = ["clusters", "endpoints", "listeners", "routes", "secrets"]): Record<string, JsonValue[]> {
  const opts = { registry, useProtoFieldName: true } as const;
  const out: Record<string, JsonValue[]> = {};
  const put = (k: ResourceType, xs: JsonValue[]) => { if (types.includes(k) && xs.length > 0) out[k] = xs; };
  put("clusters", r.clusters.map((x) => toJson(ClusterSchema, x, opts)));
  put("endpoints", r.endpoints.map((x) => toJson(ClusterLoadAssignmentSchema, x, opts)));
  put("listeners", r.listeners.map((x) => toJson(ListenerSchema, x, opts)));
  put("routes", r.routes.map((x) => toJson(RouteConfigurationSchema, x, opts)));
  put("secrets", r.secrets.map((x) => toJson(SecretSchema, x, opts)));
  return out;
}
