/**
 * Authorization on waypoints: which AuthorizationPolicies apply to a service on a waypoint, and
 * the Envoy filters that enforce them on its HTTP and TCP chains.
 */
import type { LoadedResource } from "@waystation/api";
import type { Condition, MeshModel, MeshService, Waypoint } from "@waystation/model";
import type { Filter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { chainProtocol } from "../names.js";
import { Report, type AuthzOptions } from "./options.js";
import { rbacHttpFilters, rbacNetworkFilters } from "./rbac.js";

export { rbacHttpFilters, rbacNetworkFilters, policyName, rbacNames, type Built } from "./rbac.js";
export { extAuthzNames, resolveProvider, type ResolvedProvider } from "./extAuthz.js";
export { jwtPayloadMetadata } from "./principals.js";
export { authzConditionType, Report, type AuthzOptions, type ExtensionProvider, type ExtAuthzHttpProvider, type ExtAuthzGrpcProvider } from "./options.js";

/**
 * The policies of one kind (`security.istio.io/AuthorizationPolicy`, `.../RequestAuthentication`
 * ...) a waypoint applies to one service: those whose targetRefs name the waypoint's Gateway (or
 * the istio-waypoint GatewayClass) and those that name the service, sorted by namespace and name
 * (istio-ambient.md §5.5; the model resolved the targetRefs).
 */
export function attachedPolicies(model: MeshModel, waypoint: Waypoint, service: MeshService, group: string, kind: string): LoadedResource[] {
  const seen = new Set<string>();
  return model.attachments
    .filter((a) => a.policy.key.group === group && a.policy.key.kind === kind)
    .filter((a) => a.waypoints.some((w) => w.namespace === waypoint.namespace && w.name === waypoint.name)
      || a.services.some((s) => s.kind === service.kind && s.namespace === service.namespace && s.hostname === service.hostname))
    .map((a) => a.policy)
    .filter((p) => (seen.has(`${p.key.namespace}/${p.key.name}`) ? false : (seen.add(`${p.key.namespace}/${p.key.name}`), true)))
    .sort((a, b) => (`${a.key.namespace}/${a.key.name}` < `${b.key.namespace}/${b.key.name}` ? -1 : 1));
}

/** The AuthorizationPolicies a waypoint enforces for one service (see attachedPolicies). */
export function policiesFor(model: MeshModel, waypoint: Waypoint, service: MeshService): LoadedResource[] {
  return attachedPolicies(model, waypoint, service, "security.istio.io", "AuthorizationPolicy");
}

/** What enforces authorization for one service on one waypoint. */
export interface AuthzFilters {
  /** For each HTTP chain of the service, before the router. */
  httpFilters: HttpFilter[];
  /**
   * How many of the first httpFilters are the CUSTOM phase (shadow RBAC + ext_authz); jwt_authn
   * goes right after them (../authn/index.ts `securityHttpFilters` does the splice).
   */
  customHttpFilters: number;
  /** For each TCP chain of the service, before tcp_proxy. */
  networkFilters: Filter[];
  /** On the policies: anything not applied exactly as written. */
  conditions: Condition[];
}

/**
 * The authorization filters of `service` on `waypoint`. Filters (and conditions) are built only
 * for the chain kinds the service has; the trust domain comes from the mesh options.
 */
export function authorizationFor(model: MeshModel, waypoint: Waypoint, service: MeshService, options: AuthzOptions = {}): AuthzFilters {
  const policies = policiesFor(model, waypoint, service);
  const opts: AuthzOptions = { trustDomain: model.options.trustDomain, ...options };
  const kinds = new Set(service.ports.filter((p) => p.protocol !== "UDP").map(chainProtocol));
  const report = new Report();
  const http = kinds.has("http") ? rbacHttpFilters(policies, opts, report) : { filters: [], custom: 0 };
  const tcpPorts = service.ports.filter((p) => p.protocol !== "UDP" && chainProtocol(p) === "tcp").map((p) => p.port);
  const where = `TCP port${tcpPorts.length > 1 ? "s" : ""} ${tcpPorts.join(", ")} of ${service.hostname}`;
  const networkFilters = kinds.has("tcp") ? rbacNetworkFilters(policies, opts, where, report).filters : [];
  return { httpFilters: http.filters, customHttpFilters: http.custom, networkFilters, conditions: report.conditions() };
}
export { extAuthzClusters, type ProviderClusters } from "./providerClusters.js";
