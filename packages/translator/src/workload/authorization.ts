/**
 * AuthorizationPolicies that ztunnel enforces -> istio.security.Authorization, as istiod converts
 * them (istio-ambient.md §3.5; istio pilot/.../ambient/authorization.go
 * `convertAuthorizationPolicy`):
 * - only policies without targetRefs (those with targetRefs are the waypoints');
 * - scope WORKLOAD_SELECTOR with a selector (ztunnel applies it to the workloads that list it in
 *   Workload.authorization_policies), else GLOBAL in the root namespace, else NAMESPACE;
 * - action ALLOW or DENY; AUDIT and CUSTOM are not converted (a condition says so);
 * - rules per authzRule.ts. Named `<namespace>/<name>`.
 * PeerAuthentication's DENY policies come from ../authn/peer.ts.
 */
import { create } from "@bufbuild/protobuf";
import type { AuthorizationPolicySpec, LoadedResource } from "@waystation/api";
import type { MeshModel } from "@waystation/model";
import { Action, AuthorizationSchema, Scope, type Authorization } from "@waystation/proto/istio/security/authorization_pb.js";
import { convertRule } from "./authzRule.js";
import type { Conditions } from "./common.js";

/** One converted policy. */
export interface ZtunnelPolicy {
  /** `<namespace>/<name>`: the resource name, and what Workload.authorization_policies lists. */
  name: string;
  policy: LoadedResource;
  /** matchLabels of a WORKLOAD_SELECTOR policy; undefined for NAMESPACE and GLOBAL scope. */
  selector?: Record<string, string>;
  authorization: Authorization;
}

const advice = "attach the policy to a waypoint with targetRefs to enforce HTTP attributes";

/** Converts every AuthorizationPolicy ztunnel enforces, sorted by name; writes conditions. */
export function convertAuthorizationPolicies(model: MeshModel, conditions: Conditions): ZtunnelPolicy[] {
  const out: ZtunnelPolicy[] = [];
  const root = model.options.rootNamespace;
  for (const a of model.attachments) {
    const p = a.policy;
    if (!a.ztunnel || p.key.group !== "security.istio.io" || p.key.kind !== "AuthorizationPolicy") continue;
    const spec = (p.object.spec ?? {}) as AuthorizationPolicySpec;
    const action = spec.action ?? "ALLOW";
    if (action !== "ALLOW" && action !== "DENY") {
      conditions.add(p.key, "False", "UnsupportedValue", `action ${action} is not enforced by ztunnel, which applies only ALLOW and DENY; `
        + `${action} needs a waypoint: attach the policy with targetRefs to the waypoint Gateway or to a Service`);
      continue;
    }
    const selector = spec.selector ? spec.selector.matchLabels ?? {} : undefined;
    const scope = selector ? Scope.WORKLOAD_SELECTOR : p.key.namespace === root ? Scope.GLOBAL : Scope.NAMESPACE;
    const rules = [];
    const ruleList = spec.rules ?? [];
    let warned = false;
    for (const [i, r] of ruleList.entries()) {
      const res = convertRule(r, i, action);
      for (const f of res.l7) {
        warned = true;
        conditions.add(p.key, "True", "UnsupportedValue", `${f.path}: ztunnel enforces L4 attributes only and cannot check ${f.field}; `
          + (action === "ALLOW"
            ? `in an ALLOW policy the rule is left out, so fewer connections are allowed than written; ${advice}`
            : `in a DENY policy it is ignored, so the rule denies connections whatever their ${f.field}; ${advice}`));
      }
      if (res.rule) rules.push(res.rule);
    }
    const target = selector ? "the workloads it selects" : scope === Scope.GLOBAL ? "every workload in the mesh" : `every workload in namespace ${p.key.namespace}`;
    if (action === "ALLOW" && ruleList.length > 0 && rules.length === 0) {
      conditions.add(p.key, "True", "UnsupportedValue", `no rule is left for ztunnel, so it denies every connection to ${target} (an ALLOW policy without rules matches nothing)`);
    } else if (!warned) {
      conditions.add(p.key, "True", "Accepted", `enforced by ztunnel on ${target}`);
    }
    const authorization = create(AuthorizationSchema, {
      name: p.key.name, namespace: p.key.namespace, scope, action: action === "ALLOW" ? Action.ALLOW : Action.DENY, rules,
    });
    out.push({ name: `${p.key.namespace}/${p.key.name}`, policy: p, ...(selector ? { selector } : {}), authorization });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * The WORKLOAD_SELECTOR policies that select a workload: its own namespace's and the root
 * namespace's (a selector policy in the root namespace applies to matching workloads in every
 * namespace, as istiod's selectorAuthorizationPolicies). An empty selector selects everything.
 */
export function selectingPolicies(policies: readonly ZtunnelPolicy[], rootNamespace: string, namespace: string, labels: Record<string, string>): string[] {
  return policies
    .filter((p) => p.selector && (p.policy.key.namespace === namespace || p.policy.key.namespace === rootNamespace)
      && Object.entries(p.selector).every(([k, v]) => labels[k] === v))
    .map((p) => p.name);
}
