// Small builders of Envoy and Istio resources for tests: the shapes a proxyless gRPC client accepts.
import { create } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import {
  Cluster_DiscoveryType, Cluster_LbPolicy, ClusterSchema, type Cluster,
} from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ApiVersion, ConfigSourceSchema, type ConfigSource } from "@waystation/proto/envoy/config/core/v3/config_source_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { RouterSchema } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import {
  HttpConnectionManagerSchema,
} from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { SecretSchema, type Secret } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { AuthorizationSchema, type Authorization } from "@waystation/proto/istio/security/authorization_pb.js";
import { AddressSchema, type Address } from "@waystation/proto/istio/workload/workload_pb.js";

/** `ads: {}` with resource API v3: what gRPC requires of every ConfigSource. */
export function adsSource(): ConfigSource {
  return create(ConfigSourceSchema, { configSourceSpecifier: { case: "ads", value: {} }, resourceApiVersion: ApiVersion.V3 });
}

/** A weighted backend of a route. */
export interface WeightedCluster {
  readonly name: string;
  readonly weight: number;
}

/** A route configuration with one catch-all virtual host routing `/` to one cluster or weighted clusters. */
export function routeConfig(name: string, to: string | readonly WeightedCluster[], domains: readonly string[] = ["*"]): RouteConfiguration {
  const clusterSpecifier = typeof to === "string"
    ? { case: "cluster" as const, value: to }
    : { case: "weightedClusters" as const, value: { clusters: to.map((c) => ({ name: c.name, weight: c.weight })) } };
  return create(RouteConfigurationSchema, {
    name,
    virtualHosts: [{
      name: `${name}-vh`, domains: [...domains],
      routes: [{ match: { pathSpecifier: { case: "prefix", value: "" } }, action: { case: "route", value: { clusterSpecifier } } }],
    }],
  });
}

/**
 * A client-side (api_listener) Listener for `xds:///<name>`: an HTTP connection manager with routes
 * from RDS (`routes` is a name) or inline (`routes` is a RouteConfiguration), router filter last.
 */
export function apiListener(name: string, routes: string | RouteConfiguration): Listener {
  const hcm = create(HttpConnectionManagerSchema, {
    statPrefix: name,
    routeSpecifier: typeof routes === "string"
      ? { case: "rds", value: { configSource: adsSource(), routeConfigName: routes } }
      : { case: "routeConfig", value: routes },
    httpFilters: [{ name: "envoy.filters.http.router", configType: { case: "typedConfig", value: anyPack(RouterSchema, create(RouterSchema)) } }],
  });
  return create(ListenerSchema, { name, apiListener: { apiListener: anyPack(HttpConnectionManagerSchema, hcm) } });
}

/** A plain named listener (for cache and server tests that do not care about its content). */
export function listener(name: string, statPrefix = name): Listener {
  return create(ListenerSchema, { name, statPrefix });
}

/** An EDS cluster fed over ADS; its endpoints are the ClusterLoadAssignment named `serviceName` (or `name`). */
export function edsCluster(name: string, serviceName = ""): Cluster {
  return create(ClusterSchema, {
    name,
    clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.EDS },
    edsClusterConfig: { edsConfig: adsSource(), serviceName },
    lbPolicy: Cluster_LbPolicy.ROUND_ROBIN,
  });
}

/**
 * One locality with the given host:port endpoints. gRPC requires `locality` to be set and ignores
 * localities without a weight, hence the empty locality and weight 1.
 */
export function loadAssignment(clusterName: string, endpoints: readonly { host: string; port: number }[]): ClusterLoadAssignment {
  return create(ClusterLoadAssignmentSchema, {
    clusterName,
    endpoints: [{
      locality: {},
      loadBalancingWeight: 1,
      lbEndpoints: endpoints.map((e) => ({
        hostIdentifier: {
          case: "endpoint" as const,
          value: { address: { address: { case: "socketAddress" as const, value: { address: e.host, portSpecifier: { case: "portValue" as const, value: e.port } } } } },
        },
      })),
    }],
  });
}

/** An SDS secret holding a validation context with no CA (enough to have a named Secret). */
export function secret(name: string): Secret {
  return create(SecretSchema, { name, type: { case: "validationContext", value: {} } });
}

/** An `istio.workload.Address` wrapping a Workload with this uid. */
export function workloadAddress(uid: string, name = uid): Address {
  return create(AddressSchema, { type: { case: "workload", value: { uid, name, namespace: "default" } } });
}

/** An `istio.security.Authorization` named `<namespace>/<name>`. */
export function authorization(namespace: string, name: string): Authorization {
  return create(AuthorizationSchema, { namespace, name });
}
