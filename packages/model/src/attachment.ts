/**
 * Policy attachment for waypoints (shared/reference/istio-ambient.md §5.5): waypoints use only
 * targetRefs (Gateway, GatewayClass istio-waypoint from the root namespace, Service, ServiceEntry,
 * all in the policy's namespace); a policy without targetRefs belongs to ztunnel (or to sidecars).
 */
import type { LoadedResource, ResourceKey } from "@waystation/api";
import { waypointClass } from "./labels.js";
import type { MeshOptions } from "./options.js";
import type { Attachment, Condition, MeshService, Waypoint } from "./types.js";

/** The kinds that attach through targetRefs, by group/kind. */
export const policyKinds: ReadonlySet<string> = new Set([
  "security.istio.io/AuthorizationPolicy",
  "security.istio.io/RequestAuthentication",
  "telemetry.istio.io/Telemetry",
  "waystation.io/RateLimitPolicy",
]);

interface TargetRef { group?: string; kind: string; name: string; namespace?: string }
interface PolicySpec { targetRef?: TargetRef; targetRefs?: TargetRef[] }

export function attachPolicies(
  resources: readonly LoadedResource[],
  services: readonly MeshService[],
  waypoints: readonly Waypoint[],
  gateways: ReadonlySet<string>,
  opts: MeshOptions,
  conditions: Condition[],
): Attachment[] {
  const out: Attachment[] = [];
  for (const policy of resources) {
    if (!policyKinds.has(`${policy.key.group}/${policy.key.kind}`)) continue;
    const spec = policy.object.spec as PolicySpec;
    const refs = spec.targetRefs ?? (spec.targetRef ? [spec.targetRef] : []);
    const a: Attachment = { policy, waypoints: [], services: [], ztunnel: refs.length === 0 };
    const ns = policy.key.namespace;
    refs.forEach((ref, i) => {
      const field = spec.targetRefs ? `spec.targetRefs[${i}]` : "spec.targetRef";
      const problem = (reason: string, message: string) => conditions.push(cond(policy.key, "False", reason, `${field}: ${message}`));
      if (ref.namespace && ref.namespace !== ns) return problem("TargetNotFound", `targets must be in the policy's namespace ${ns}, not ${ref.namespace}`);
      const group = ref.group ?? "";
      if (ref.kind === "Gateway" && group === "gateway.networking.k8s.io") {
        const wp = waypoints.find((w) => w.namespace === ns && w.name === ref.name);
        if (wp) a.waypoints.push(wp);
        else if (gateways.has(`${ns}/${ref.name}`)) problem("TargetNotFound", `Gateway ${ns}/${ref.name} is not a waypoint (gatewayClassName ${waypointClass}); Waystation does not apply policies to other gateways yet`);
        else problem("TargetNotFound", `Gateway ${ns}/${ref.name} does not exist`);
      } else if (ref.kind === "GatewayClass" && group === "gateway.networking.k8s.io") {
        if (ref.name !== waypointClass) problem("TargetNotFound", `only GatewayClass ${waypointClass} can be targeted`);
        else if (ns !== opts.rootNamespace) problem("TargetNotFound", `a policy targeting GatewayClass ${waypointClass} must be in the root namespace ${opts.rootNamespace}`);
        else a.waypoints.push(...waypoints);
      } else if (ref.kind === "Service" && (group === "" || group === "core")) {
        const svc = services.find((s) => s.kind === "Service" && s.namespace === ns && s.name === ref.name);
        if (!svc) problem("TargetNotFound", `Service ${ns}/${ref.name} does not exist`);
        else attachService(svc, field);
      } else if (ref.kind === "ServiceEntry" && group === "networking.istio.io") {
        const hosts = services.filter((s) => s.kind === "ServiceEntry" && s.namespace === ns && s.name === ref.name);
        if (hosts.length === 0) problem("TargetNotFound", `ServiceEntry ${ns}/${ref.name} does not exist`);
        else for (const h of hosts) attachService(h, field);
      } else {
        problem("InvalidKind", `cannot target ${group ? `${group}/` : ""}${ref.kind}; use Gateway, GatewayClass, Service or ServiceEntry`);
      }
    });
    a.waypoints = unique(a.waypoints, (w) => `${w.namespace}/${w.name}`);
    a.services = unique(a.services, (s) => `${s.namespace}/${s.hostname}`);
    if (a.waypoints.length + a.services.length > 0) {
      conditions.push(cond(policy.key, "True", "Accepted", `attached to ${[...a.waypoints.map((w) => `waypoint ${w.namespace}/${w.name}`), ...a.services.map((s) => `service ${s.hostname}`)].join(", ")}`));
    }
    out.push(a);

    function attachService(svc: MeshService, field: string) {
      if (svc.waypoint.state !== "bound") {
        conditions.push(cond(policy.key, "False", "NoWaypoint", `${field}: ${svc.kind} ${svc.namespace}/${svc.name} has no waypoint, so no proxy enforces this policy for it`));
        return;
      }
      a.services.push(svc);
    }
  }
  return out;
}

function cond(resource: ResourceKey, status: "True" | "False", reason: string, message: string): Condition {
  return { resource, type: "Accepted", status, reason, message };
}

function unique<T>(xs: T[], key: (x: T) => string): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => (seen.has(key(x)) ? false : (seen.add(key(x)), true)));
}
