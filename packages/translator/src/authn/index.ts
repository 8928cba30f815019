/**
 * Authentication on waypoints: RequestAuthentication -> the jwt_authn filter of a service's HTTP
 * chains (jwt.ts), and PeerAuthentication, which ztunnel enforces (peer.ts).
 *
 * Chain order (istio-ambient.md §6.4): CUSTOM ext_authz -> jwt_authn -> RBAC -> ... -> router.
 * jwt_authn must run before RBAC, which reads the payload it validated from dynamic metadata.
 */
import type { LoadedResource } from "@waystation/api";
import type { Condition, MeshModel, MeshService, Waypoint } from "@waystation/model";
import type { Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import type { Filter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { attachedPolicies, authorizationFor, type AuthzFilters, type AuthzOptions } from "../authz/index.js";
import { authzConditionType, Report } from "../authz/options.js";
import { chainProtocol } from "../names.js";
import { jwtAuthnFilter, type JwtAuthn, type JwtOptions } from "./jwt.js";

export {
  jwtAuthnFilter, jwtDefaults, jwtNames, jwtProviderName, jwtRequirement, jwksTarget, unusableJwks,
  type JwksTarget, type JwtAuthn, type JwtOptions,
} from "./jwt.js";
export {
  modeForPort, peerAuthenticationConditions, peerAuthenticationFor, peerAuthnConditionType, peerPolicyNames, staticStrictPolicy,
  ztunnelPeerAuthorization, type AuthorizationInit, type EffectivePeerAuthentication, type PeerMode, type PeerSources, type ZtunnelPeerAuthorization,
} from "./peer.js";

/** The RequestAuthentications a waypoint applies to one service (targetRefs to the waypoint or the service). */
export function requestAuthenticationsFor(model: MeshModel, waypoint: Waypoint, service: MeshService): LoadedResource[] {
  return attachedPolicies(model, waypoint, service, "security.istio.io", "RequestAuthentication");
}

/**
 * The jwt_authn filter for every HTTP chain of `service` on `waypoint` (one config, shared by
 * all its HTTP ports), the JWKS clusters the waypoint must also carry, and conditions. No filter
 * (and no clusters) when no jwtRules apply or the service has no HTTP port; a JWT cannot be read
 * from a TCP byte stream, which the conditions say for TCP ports.
 */
export function requestAuthenticationFor(model: MeshModel, waypoint: Waypoint, service: MeshService, options: JwtOptions = {}): JwtAuthn {
  const policies = requestAuthenticationsFor(model, waypoint, service);
  const report = new Report();
  const ports = service.ports.filter((p) => p.protocol !== "UDP");
  const tcp = ports.filter((p) => chainProtocol(p) === "tcp").map((p) => p.port);
  const withRules = policies.filter((p) => ((p.object.spec as { jwtRules?: unknown[] } | undefined)?.jwtRules ?? []).length > 0);
  if (tcp.length > 0) {
    for (const p of withRules) {
      report.add(p, "True", "UnsupportedValue", `TCP port${tcp.length > 1 ? "s" : ""} ${tcp.join(", ")} of ${service.hostname} carry no HTTP requests, so no token is checked there; `
        + "an AuthorizationPolicy with requestPrincipals denies those connections instead");
    }
  }
  if (ports.every((p) => chainProtocol(p) !== "http")) return { clusters: [], conditions: report.conditions() };
  return jwtAuthnFilter(policies, { model, ...options }, report);
}

/**
 * Conditions on RequestAuthentications no waypoint applies: those without targetRefs (a
 * selector, or nothing). ztunnel cannot read HTTP, so in ambient mode they protect nothing; only
 * sidecars and gateways whose labels match would apply them.
 */
export function requestAuthenticationConditions(model: MeshModel): Condition[] {
  return model.attachments
    .filter((a) => a.policy.key.group === "security.istio.io" && a.policy.key.kind === "RequestAuthentication" && a.ztunnel)
    .map((a) => ({
      resource: a.policy.key, type: authzConditionType, status: "False" as const, reason: "NoWaypointTarget",
      message: "has no targetRefs, so no waypoint applies it, and ztunnel cannot read HTTP requests: in ambient mode it checks no token. "
        + "Attach it with targetRefs to the waypoint Gateway or to a Service (it would apply only to sidecars and gateways whose labels match)",
    }))
    .sort((a, b) => (`${a.resource.namespace}/${a.resource.name}` < `${b.resource.namespace}/${b.resource.name}` ? -1 : 1));
}

/**
 * One chain's security HTTP filters in the waypoint's order (istio-ambient.md §6.4): the CUSTOM
 * phase (shadow RBAC + ext_authz), jwt_authn, then the AUDIT / DENY / ALLOW RBAC filters. The
 * chain builder appends local and global rate limit, fault, cors and the router after these.
 */
export function securityHttpFilters(authz: Pick<AuthzFilters, "httpFilters" | "customHttpFilters">, jwt: Pick<JwtAuthn, "filter">): HttpFilter[] {
  const n = authz.customHttpFilters;
  return [...authz.httpFilters.slice(0, n), ...(jwt.filter ? [jwt.filter] : []), ...authz.httpFilters.slice(n)];
}

/** Everything authentication and authorization add for one service on one waypoint. */
export interface WaypointSecurity {
  /** For every HTTP chain of the service, in order, before rate limits, fault, cors and the router. */
  httpFilters: HttpFilter[];
  /** For every TCP chain of the service, before tcp_proxy. */
  networkFilters: Filter[];
  /** JWKS clusters to publish in CDS (sorted; deduplicate by name across services: same name, same content). */
  clusters: Cluster[];
  /** On AuthorizationPolicies and RequestAuthentications. */
  conditions: Condition[];
}

/**
 * authorizationFor + requestAuthenticationFor for one service, with the filters spliced in
 * order. Clusters named by ext_authz providers (`outbound|<port>||<host>`) are not included:
 * they come from the mesh's extension providers, not from policies.
 */
export function securityFor(model: MeshModel, waypoint: Waypoint, service: MeshService, options: AuthzOptions & JwtOptions = {}): WaypointSecurity {
  const authz = authorizationFor(model, waypoint, service, options);
  const jwt = requestAuthenticationFor(model, waypoint, service, options);
  const conditions = [...authz.conditions, ...jwt.conditions]
    .sort((a, b) => (`${a.resource.namespace}/${a.resource.name}\n${a.message}` < `${b.resource.namespace}/${b.resource.name}\n${b.message}` ? -1 : 1));
  return { httpFilters: securityHttpFilters(authz, jwt), networkFilters: authz.networkFilters, clusters: jwt.clusters, conditions };
}
