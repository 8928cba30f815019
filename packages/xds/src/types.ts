// The resource types Waystation serves over ADS, their push order, and the logger the package takes.
import type { DescMessage, Message } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { AddressSchema } from "@waystation/proto/istio/workload/workload_pb.js";
import { AuthorizationSchema } from "@waystation/proto/istio/security/authorization_pb.js";

// The logger every component takes lives in packages/log; re-exported here for this package's modules.
export { silentLogger, type Logger } from "@waystation/log";

/** Type URLs of the resources served, by their usual xDS short name. */
export const TypeUrl = {
  CDS: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  EDS: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  LDS: "type.googleapis.com/envoy.config.listener.v3.Listener",
  RDS: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  SDS: "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
  Address: "type.googleapis.com/istio.workload.Address",
  Authorization: "type.googleapis.com/istio.security.Authorization",
} as const;

/** Short name of a served type: "CDS", "EDS", ..., "Address", "Authorization". */
export type TypeName = keyof typeof TypeUrl;

/** Everything the cache and server need to know about one resource type. */
export interface XdsType {
  readonly name: TypeName;
  readonly typeUrl: string;
  readonly schema: DescMessage;
  /**
   * Whether a subscription to "*" (or the legacy empty first request) means "everything the server
   * has for this node". Per the xDS protocol doc ("How the client specifies what resources to
   * return"), that is Listener and Cluster; ztunnel also subscribes to Address and Authorization
   * this way (istio-ambient.md §3.3). RDS, EDS and SDS are always requested by name.
   */
  readonly wildcard: boolean;
  /** The xDS resource name of a message of this type. */
  nameOf(message: Message): string;
}

function defineType<T extends Message>(name: TypeName, schema: GenMessage<T>, wildcard: boolean,
  nameOf: (m: T) => string): XdsType {
  return { name, typeUrl: TypeUrl[name], schema, wildcard, nameOf: (m) => nameOf(m as T) };
}

/**
 * The served types in push order: CDS, EDS, LDS, RDS, SDS, Address, Authorization. Why this order:
 * xDS protocol doc, "Eventual consistency considerations" (make before break: clusters and their
 * endpoints exist before a listener or route points at them); Istio pushes Address and
 * Authorization after the Envoy types (istio-ambient.md §3.2).
 */
export const XDS_TYPES: readonly XdsType[] = [
  defineType("CDS", ClusterSchema, true, (m) => m.name),
  defineType("EDS", ClusterLoadAssignmentSchema, false, (m) => m.clusterName),
  defineType("LDS", ListenerSchema, true, (m) => m.name),
  defineType("RDS", RouteConfigurationSchema, false, (m) => m.name),
  defineType("SDS", SecretSchema, false, (m) => m.name),
  // Workload -> uid; Service -> "<namespace>/<hostname>" (istio-ambient.md §3.2).
  defineType("Address", AddressSchema, true, (m) => {
    switch (m.type.case) {
      case "workload": return m.type.value.uid;
      case "service": return `${m.type.value.namespace}/${m.type.value.hostname}`;
      default: return "";
    }
  }),
  defineType("Authorization", AuthorizationSchema, true, (m) => `${m.namespace}/${m.name}`),
];

/** Type URLs in push order. */
export const PUSH_ORDER: readonly string[] = XDS_TYPES.map((t) => t.typeUrl);

const byUrl = new Map(XDS_TYPES.map((t) => [t.typeUrl, t]));
const byTypeName = new Map(XDS_TYPES.map((t) => [t.schema.typeName, t]));

/** The served type with this type URL, or undefined when Waystation does not serve it. */
export function xdsType(typeUrl: string): XdsType | undefined {
  return byUrl.get(typeUrl);
}

/** The served type of a protobuf-es message (by its `$typeName`), or undefined. */
export function xdsTypeOf(message: Message): XdsType | undefined {
  return byTypeName.get(message.$typeName);
}

/** The short name of a type URL for logs and metrics ("LDS"), or the URL itself when unknown. */
export function shortType(typeUrl: string): string {
  return byUrl.get(typeUrl)?.name ?? typeUrl;
}

/**
 * The ClusterLoadAssignment an EDS cluster reads (`eds_cluster_config.service_name`, else the
 * cluster's name), or undefined for a cluster of another discovery type.
 */
export function edsResourceName(cluster: Message): string | undefined {
  if (cluster.$typeName !== ClusterSchema.typeName) return undefined;
  const c = cluster as Cluster;
  if (c.clusterDiscoveryType.case !== "type" || c.clusterDiscoveryType.value !== Cluster_DiscoveryType.EDS) return undefined;
  return c.edsClusterConfig?.serviceName || c.name;
}
