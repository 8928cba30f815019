/**
 * Stage (c): reference integrity across one snapshot. Every name a resource uses to point at
 * another resource must resolve, or Envoy sits waiting for a resource that never comes (a route
 * to a missing cluster answers 503 "no healthy upstream"; a listener whose RDS name is unknown is
 * stuck warming).
 *
 * The walk is generic: it visits every message reachable from a resource, unpacking `Any`
 * payloads, and looks at the message types that carry references, wherever they are nested
 * (HCM inline route configs, tracing providers, access loggers, filter configs inside matchers ...):
 *
 * | message type                                   | field                 | must name           |
 * | ---                                            | ---                   | ---                 |
 * | http_connection_manager.v3.Rds                 | route_config_name     | a route config      |
 * | route.v3.RouteAction                           | cluster               | a cluster           |
 * | route.v3.WeightedCluster.ClusterWeight         | name                  | a cluster           |
 * | route.v3.RouteAction.RequestMirrorPolicy       | cluster               | a cluster           |
 * | tcp_proxy.v3.TcpProxy (+ .WeightedCluster.ClusterWeight) | cluster / name | a cluster      |
 * | core.v3.GrpcService.EnvoyGrpc                  | cluster_name          | a cluster           |
 * | core.v3.HttpUri                                | cluster               | a cluster           |
 * | clusters.aggregate.v3.ClusterConfig            | clusters[]            | clusters            |
 * | tls.v3.SdsSecretConfig (with sds_config ADS/API)| name                 | a secret            |
 * | core.v3.EnvoyInternalAddress                   | server_listener_name  | an internal listener|
 *
 * EDS clusters (checked in index.ts, they are top-level) need a ClusterLoadAssignment.
 * `cluster_header` and cluster specifier plugins are resolved per request and are not checked.
 */
import type { DescField, DescMessage, Message } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { fieldPath, indexPath, keyPath } from "./errors.js";
import { reachability } from "./reach.js";
import { unpackAny, type Unpacked } from "./registry.js";

/** What a reference points at. */
export type ReferenceKind = "route_config" | "cluster" | "secret" | "internal_listener";

/** One name used by a resource, and where. */
export interface Reference {
  readonly kind: ReferenceKind;
  readonly name: string;
  /** Path of the field holding the name, from the root of the resource. */
  readonly path: string;
}

type Fields = Record<string, unknown>;
type OneofValue = { case: string | undefined; value?: unknown };
type Emit = (kind: ReferenceKind, name: unknown, path: string) => void;
type Handler = (m: Fields, path: string, emit: Emit) => void;

const oneofIs = (m: Fields, oneof: string, member: string): unknown => {
  const o = m[oneof] as OneofValue | undefined;
  return o?.case === member ? o.value : undefined;
};

const handlers: Record<string, Handler> = {
  "envoy.extensions.filters.network.http_connection_manager.v3.Rds": (m, p, emit) =>
    emit("route_config", m["routeConfigName"], fieldPath(p, "route_config_name")),
  "envoy.config.route.v3.RouteAction": (m, p, emit) =>
    emit("cluster", oneofIs(m, "clusterSpecifier", "cluster"), fieldPath(p, "cluster")),
  "envoy.config.route.v3.WeightedCluster.ClusterWeight": (m, p, emit) => emit("cluster", m["name"], fieldPath(p, "name")),
  "envoy.config.route.v3.RouteAction.RequestMirrorPolicy": (m, p, emit) => emit("cluster", m["cluster"], fieldPath(p, "cluster")),
  "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy": (m, p, emit) =>
    emit("cluster", oneofIs(m, "clusterSpecifier", "cluster"), fieldPath(p, "cluster")),
  "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight": (m, p, emit) =>
    emit("cluster", m["name"], fieldPath(p, "name")),
  "envoy.config.core.v3.GrpcService.EnvoyGrpc": (m, p, emit) => emit("cluster", m["clusterName"], fieldPath(p, "cluster_name")),
  "envoy.config.core.v3.HttpUri": (m, p, emit) => emit("cluster", oneofIs(m, "httpUpstreamType", "cluster"), fieldPath(p, "cluster")),
  "envoy.extensions.clusters.aggregate.v3.ClusterConfig": (m, p, emit) =>
    (m["clusters"] as string[]).forEach((c, i) => emit("cluster", c, indexPath(fieldPath(p, "clusters"), i))),
  "envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig": (m, p, emit) => {
    // Without sds_config the name is a static secret of the bootstrap; a path (file) config
    // source is local to the proxy. Only secrets delivered over xDS can be checked here.
    const source = (m["sdsConfig"] as Fields | undefined)?.["configSourceSpecifier"] as OneofValue | undefined;
    if (source?.case === "ads" || source?.case === "apiConfigSource") emit("secret", m["name"], fieldPath(p, "name"));
  },
  "envoy.config.core.v3.EnvoyInternalAddress": (m, p, emit) =>
    emit("internal_listener", oneofIs(m, "addressNameSpecifier", "serverListenerName"), fieldPath(p, "server_listener_name")),
};

const anyType = "google.protobuf.Any";
const relevant = reachability((d) => d.typeName === anyType || d.typeName in handlers);
const relevantFields = new WeakMap<DescMessage, DescField[]>();

function fieldsToVisit(desc: DescMessage): DescField[] {
  let fields = relevantFields.get(desc);
  if (!fields) {
    fields = desc.fields.filter((f) => f.message !== undefined && relevant(f.message));
    relevantFields.set(desc, fields);
  }
  return fields;
}

/**
 * Collects the references made by `msg` and everything inside it. `path` is the path of `msg`.
 * Any payloads that do not decode are skipped here (the rule stage reports them).
 */
export function collectReferences(desc: DescMessage, msg: Message, path: string, anyCache: Map<Any, Unpacked>): Reference[] {
  const out: Reference[] = [];
  const emit: Emit = (kind, name, p) => {
    if (typeof name === "string" && name !== "") out.push({ kind, name, path: p });
  };
  walk(desc, msg as unknown as Fields, path, emit, anyCache);
  return out;
}

function walk(desc: DescMessage, m: Fields, path: string, emit: Emit, anyCache: Map<Any, Unpacked>): void {
  if (desc.typeName === anyType) {
    const u = unpackAny(m as unknown as Any, anyCache);
    if (u.desc) walk(u.desc, u.message as unknown as Fields, path, emit, anyCache);
    return;
  }
  handlers[desc.typeName]?.(m, path, emit);
  for (const f of fieldsToVisit(desc)) {
    const target = f.message as DescMessage;
    const v = f.oneof ? oneofIs(m, f.oneof.localName, f.localName) : m[f.localName];
    if (v === undefined || v === null) continue;
    const p = fieldPath(path, f.name);
    if (f.fieldKind === "list") {
      (v as Fields[]).forEach((item, i) => walk(target, item, indexPath(p, i), emit, anyCache));
    } else if (f.fieldKind === "map") {
      for (const [k, item] of Object.entries(v as Record<string, Fields>)) walk(target, item, keyPath(p, k), emit, anyCache);
    } else {
      walk(target, v as Fields, p, emit, anyCache);
    }
  }
}
