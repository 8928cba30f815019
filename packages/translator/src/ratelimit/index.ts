/**
 * Rate limits on waypoints: the RateLimitPolicies that apply to one service at one waypoint, as
 * Envoy HTTP filters, route-level `rate_limits` and the rate limit service's cluster.
 *
 * How the waypoint translator uses {@link rateLimitFor} for each service it fronts:
 *
 *   const rl = rateLimitFor(model, waypoint, svc, { service: rlsTarget });
 *   // every HTTP chain of svc (httpChain(name, filters)):
 *   //   [...authz.httpFilters (RBAC, ext_authz), ...rl.httpFilters, fault, cors, ...]; router last
 *   // every route configuration of svc's HTTP chains:
 *   //   virtual_hosts[*].rate_limits = rl.routeRateLimits
 *   //   (or each route's route.rate_limits; a route with its own rate_limits hides the vhost's)
 *   // clusters: add rl.clusters, de-duplicated by name (the same for every service)
 *   // conditions: add rl.conditions
 *
 * The route rate limits are what feed both filters: without them the local filter applies only
 * its unconditional bucket and the global filter sends nothing. TCP chains are not limited (the
 * policies are HTTP-only); a service without an HTTP port gets a condition instead.
 */
import { create } from "@bufbuild/protobuf";
import type { LoadedResource } from "@waystation/api";
import type { Condition, MeshModel, MeshService, Waypoint } from "@waystation/model";
import type { Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { RateLimitSchema, type RateLimit } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { chainProtocol } from "../names.js";
import { usesPrincipal } from "./actions.js";
import { compileRules, isRateLimitPolicy, type CompiledRule } from "./descriptors.js";
import { defaultRateLimitService, globalRateLimitFilters, rateLimitCluster, type RateLimitServiceTarget } from "./globalRateLimit.js";
import { localRateLimitFilter } from "./localRateLimit.js";
import { Notes } from "./notes.js";
import { setPrincipalHeaderFilter, stripPrincipalHeaderFilter } from "./principal.js";

export * from "./descriptors.js";
export { rateLimitStages, exactPathRegex, pathPrefixMatcher } from "./actions.js";
export { defaultRateLimitService, rateLimitClusterName, globalFilterName, type RateLimitServiceTarget } from "./globalRateLimit.js";
export { localFilterName } from "./localRateLimit.js";
export { principalFilterNames } from "./principal.js";

/** Options of the rate limit translator. */
export interface RateLimitOptions {
  /** Where the waypoints reach the global rate limit service; {@link defaultRateLimitService} if unset. */
  service?: RateLimitServiceTarget;
}

/** What enforces rate limits for one service on one waypoint. */
export interface RateLimitConfig {
  /** In this order, after RBAC/ext_authz and before fault, cors and the router. Empty if no policy applies. */
  httpFilters: HttpFilter[];
  /** For the virtual hosts (or routes) of every route configuration of the service's HTTP chains. */
  routeRateLimits: RateLimit[];
  /** The rate limit service's cluster when a global rule applies; de-duplicate by name. */
  clusters: Cluster[];
  conditions: Condition[];
}

const byKey = (a: LoadedResource, b: LoadedResource) => {
  const x = `${a.key.namespace}/${a.key.name}`, y = `${b.key.namespace}/${b.key.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * The RateLimitPolicies `waypoint` enforces for `service`: attached to the waypoint's Gateway (or
 * the istio-waypoint GatewayClass) or to the service, sorted by namespace and name.
 */
export function rateLimitPoliciesFor(model: MeshModel, waypoint: Waypoint, service: MeshService): LoadedResource[] {
  const seen = new Set<string>();
  return model.attachments
    .filter((a) => isRateLimitPolicy(a.policy))
    .filter((a) => a.waypoints.some((w) => w.namespace === waypoint.namespace && w.name === waypoint.name)
      || a.services.some((s) => s.kind === service.kind && s.namespace === service.namespace && s.hostname === service.hostname))
    .map((a) => a.policy)
    .filter((p) => (seen.has(`${p.key.namespace}/${p.key.name}`) ? false : (seen.add(`${p.key.namespace}/${p.key.name}`), true)))
    .sort(byKey);
}

/** The rules of `policies` that can be applied; the others become conditions. */
function usable(policies: readonly LoadedResource[], scope: "local" | "global", notes: Notes): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (const p of policies) {
    for (const r of compileRules(p, scope)) {
      if (r.problems.length === 0) out.push(r);
      for (const problem of r.problems) notes.add(p, "False", "UnsupportedValue", problem);
    }
  }
  return out;
}

/** The rate limit filters, route rate limits, cluster and conditions of `service` on `waypoint`. */
export function rateLimitFor(model: MeshModel, waypoint: Waypoint, service: MeshService, options: RateLimitOptions = {}): RateLimitConfig {
  const none: RateLimitConfig = { httpFilters: [], routeRateLimits: [], clusters: [], conditions: [] };
  const policies = rateLimitPoliciesFor(model, waypoint, service);
  if (policies.length === 0) return none;
  const notes = new Notes(policies, `waypoint ${waypoint.namespace}/${waypoint.name}, service ${service.hostname}`);
  if (!service.ports.some((p) => p.protocol !== "UDP" && chainProtocol(p) === "http")) {
    for (const p of policies) notes.add(p, "False", "NotHTTP", "the service has no HTTP port, and rate limits apply to HTTP requests only; nothing is limited", true);
    return { ...none, conditions: notes.conditions() };
  }
  const local = usable(policies, "local", notes);
  const global = usable(policies, "global", notes);
  for (const r of global.filter((x) => x.shadow && x.failureMode === "closed")) {
    notes.add(r, "True", "ShadowFailsOpen", "spec.global.failureMode: closed is not applied while spec.shadow is true; a dry run never rejects, even when the rate limit service is unreachable");
  }

  const target = options.service ?? defaultRateLimitService;
  const enforced = localRateLimitFilter(local.filter((r) => !r.shadow), false, notes);
  const shadow = localRateLimitFilter(local.filter((r) => r.shadow), true, notes);
  const globals = globalRateLimitFilters(global, service.hostname, target, notes);
  const core = [...(enforced ? [enforced.filter] : []), ...(shadow ? [shadow.filter] : []), ...globals.filters];
  const principal = usesPrincipal([...local, ...global]);
  return {
    httpFilters: principal ? [setPrincipalHeaderFilter(), ...core, stripPrincipalHeaderFilter()] : core,
    routeRateLimits: [...(enforced?.rateLimits ?? []), ...(shadow?.rateLimits ?? []), ...globals.rateLimits].map((r) => create(RateLimitSchema, r)),
    clusters: global.length > 0 ? [rateLimitCluster(target)] : [],
    conditions: notes.conditions(),
  };
}
