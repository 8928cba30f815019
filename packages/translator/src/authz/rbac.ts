/**
 * AuthorizationPolicies -> the RBAC (and ext_authz) filters of one waypoint chain, in Istio's
 * order (pilot/pkg/security/authz/builder/builder.go; istio-ambient.md §6.4):
 *
 *   CUSTOM  shadow RBAC (action DENY) + ext_authz, only for requests a CUSTOM rule selects
 *   AUDIT   RBAC action LOG: never denies, sets the access-log hint
 *   DENY    RBAC action DENY: denied if any DENY rule matches
 *   ALLOW   RBAC action ALLOW: if there are ALLOW policies, denied unless one rule matches
 *
 * A policy without rules matches nothing (so an ALLOW without rules denies everything, a DENY
 * without rules denies nothing); `rules: [{}]` matches everything. Policies annotated
 * `istio.io/dry-run: "true"` go to shadow rules: evaluated and counted, never enforced.
 * A CUSTOM policy whose provider is unknown or invalid fails closed, as in Istio: the requests it
 * selects are denied. Conditions explain anything not applied exactly as written.
 */
import type { AuthorizationPolicySpec, LoadedResource } from "@waystation/api";
import type { Condition } from "@waystation/model";
import type { Filter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { RBAC_Action } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import { RBACSchema as HttpRbacSchema } from "@waystation/proto/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import { RBACSchema as NetworkRbacSchema } from "@waystation/proto/envoy/extensions/filters/network/rbac/v3/rbac_pb.js";
import type { HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { httpFilter, networkFilter } from "../envoy/build.js";
import { extAuthzHttpFilter, extAuthzNames, extAuthzNetworkFilter, resolveProvider, type ResolvedProvider } from "./extAuthz.js";
import { Report, type AuthzOptions } from "./options.js";
import { compileRule, matchNothing, type ChainKind, type PolicyInit, type RuleAction } from "./rule.js";

/**
 * The key of one rule in an RBAC `policies` map, in Istio's form `ns[<ns>]-policy[<name>]-rule[<i>]`
 * (pilot/pkg/security/authz/builder). Brackets cannot occur in Kubernetes names, so the key is
 * unambiguous; Envoy reports it in `shadow_effective_policy_id` and access logs.
 */
export function policyName(namespace: string, name: string, rule: number): string {
  return `ns[${namespace}]-policy[${name}]-rule[${rule}]`;
}

/** Envoy filter names and Istio's stat prefixes. */
export const rbacNames = {
  httpFilter: "envoy.filters.http.rbac",
  networkFilter: "envoy.filters.network.rbac",
  dryRunAnnotation: "istio.io/dry-run",
  badCustomSuffix: "-deny-due-to-bad-CUSTOM-action",
} as const;

const specOf = (p: LoadedResource) => (p.object.spec ?? {}) as AuthorizationPolicySpec;
const actionOf = (p: LoadedResource) => specOf(p).action ?? "ALLOW";
const isDryRun = (p: LoadedResource) => p.object.metadata.annotations?.[rbacNames.dryRunAnnotation] === "true";
const byKey = (a: LoadedResource, b: LoadedResource) => `${a.key.namespace}/${a.key.name}` < `${b.key.namespace}/${b.key.name}` ? -1 : 1;

type Policies = Record<string, PolicyInit>;
interface RbacInit { action: RBAC_Action; policies: Policies }
/** The body shared by the HTTP and the network RBAC filter configs. */
interface RbacStep { rules?: RbacInit; shadowRules?: RbacInit; shadowRulesStatPrefix?: string }
type Step = { rbac: RbacStep } | { extAuthz: ResolvedProvider };

interface Ctx { chain: ChainKind; where: string; trustDomain: string; report: Report }

const sorted = (m: Map<string, PolicyInit>): Policies => Object.fromEntries([...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));

/** Compiles policies of one action into enforced and dry-run (shadow) RBAC policy maps. */
function compile(policies: readonly LoadedResource[], action: RuleAction, label: string, namePrefix: string, ctx: Ctx) {
  const enforced = new Map<string, PolicyInit>();
  const shadow = new Map<string, PolicyInit>();
  let hasEnforced = false;
  let hasShadow = false;
  for (const p of policies) {
    const target = isDryRun(p) ? shadow : enforced;
    if (isDryRun(p)) hasShadow = true; else hasEnforced = true;
    const name = (i: number) => namePrefix + policyName(p.key.namespace, p.key.name, i);
    const rules = specOf(p).rules ?? [];
    if (rules.length === 0) target.set(name(0), matchNothing());
    rules.forEach((rule, i) => {
      const c = compileRule(rule, ctx.chain, action, ctx.trustDomain);
      if (c.skipped.length > 0) {
        const what = `spec.rules[${i}] tests attributes only HTTP has (${c.skipped.join(", ")}), which ${ctx.where} cannot evaluate`;
        ctx.report.add(p, "True", "UnsupportedValue", action === "ALLOW"
          ? `${what}; this ALLOW rule is left out there, so the policy allows less than written`
          : `${what}; they are ignored there, so this ${label} rule matches more than written`);
      }
      if (c.policy) target.set(name(i), c.policy);
    });
  }
  return { enforced: hasEnforced ? sorted(enforced) : undefined, shadow: hasShadow ? sorted(shadow) : undefined };
}

/** The CUSTOM steps: shadow RBAC + ext_authz, or a DENY of what the policies select if the provider is unusable. */
function customSteps(all: readonly LoadedResource[], options: AuthzOptions, ctx: Ctx): Step[] {
  const custom = all.filter((p) => actionOf(p) === "CUSTOM");
  for (const p of custom.filter(isDryRun)) {
    ctx.report.add(p, "True", "UnsupportedValue", `metadata.annotations["${rbacNames.dryRunAnnotation}"]: dry-run is not supported for CUSTOM policies (as in Istio); the policy is not applied`);
  }
  const enforced = custom.filter((p) => !isDryRun(p));
  if (enforced.length === 0) return [];
  if (ctx.chain === "http") for (const p of enforced) reportJwtInCustom(p, ctx);
  const providers = [...new Set(enforced.map((p) => specOf(p).provider?.name ?? ""))].sort();
  const defined = options.extensionProviders ?? [];
  let problem: { reason: string; message: string } | undefined;
  let provider: ResolvedProvider | undefined;
  if (providers.length > 1) {
    problem = { reason: "MultipleProviders", message: `CUSTOM policies for the same service must all use one provider, found ${providers.join(", ")}` };
  } else {
    const found = defined.find((d) => d.name === providers[0]);
    if (!found) {
      problem = { reason: "UnknownProvider", message: `spec.provider.name: extension provider "${providers[0]}" is not defined in the mesh config (defined: ${defined.map((d) => d.name).sort().join(", ") || "none"})` };
    } else {
      const r = resolveProvider(found);
      if ("error" in r) problem = { reason: "InvalidProvider", message: `spec.provider.name: ${r.error}` };
      else provider = r.provider;
    }
  }
  const { enforced: rules = {} } = compile(enforced, "DENY", "CUSTOM", extAuthzNames.policyPrefix, ctx);
  if (problem || !provider) {
    for (const p of enforced) ctx.report.add(p, "False", problem!.reason, `${problem!.message}; requests this policy selects are denied until that is fixed`);
    const renamed = Object.fromEntries(Object.entries(rules).map(([k, v]) => [k + rbacNames.badCustomSuffix, v]));
    return [{ rbac: { rules: { action: RBAC_Action.DENY, policies: renamed } } }];
  }
  if (ctx.chain === "tcp" && provider.kind === "http") {
    for (const p of enforced) {
      ctx.report.add(p, "True", "UnsupportedValue", `spec.provider.name: "${provider.name}" is an HTTP ext_authz service, which cannot check ${ctx.where}; the policy is not enforced there (as in Istio)`);
    }
    return [];
  }
  return [
    { rbac: { shadowRules: { action: RBAC_Action.DENY, policies: rules }, shadowRulesStatPrefix: extAuthzNames.shadowStatPrefix } },
    { extAuthz: provider },
  ];
}

/**
 * CUSTOM rules run before jwt_authn (istio-ambient.md §6.4, as in Istio), so a validated token's
 * attributes are not there yet: requestPrincipals and request.auth.* never match (and their
 * not-forms always do). Reported, not changed, as Istio does not change it either.
 */
function reportJwtInCustom(p: LoadedResource, ctx: Ctx): void {
  (specOf(p).rules ?? []).forEach((rule, i) => {
    const fields = [
      ...(rule.from ?? []).flatMap((f, j) => ["requestPrincipals", "notRequestPrincipals"]
        .filter((k) => ((f.source as Record<string, unknown> | undefined)?.[k] as unknown[] | undefined)?.length)
        .map((k) => `from[${j}].source.${k}`)),
      ...(rule.when ?? []).flatMap((w, j) => (w.key.startsWith("request.auth.") ? [`when[${j}] ${w.key}`] : [])),
    ];
    if (fields.length === 0) return;
    ctx.report.add(p, "True", "UnsupportedValue", `spec.rules[${i}] tests JWT attributes (${fields.join(", ")}), but CUSTOM policies are checked before `
      + "jwt_authn validates the token (as in Istio), so no token is seen there: these attributes never match, and their not-forms always do. "
      + "Let the ext_authz service check the token, or use an ALLOW/DENY policy for it");
  });
}

/** All steps for one chain kind, in filter order; the first `custom` of them are the CUSTOM phase. */
function steps(policies: readonly LoadedResource[], options: AuthzOptions, ctx: Ctx): { steps: Step[]; custom: number } {
  const all = [...policies].sort(byKey);
  const out = customSteps(all, options, ctx);
  const custom = out.length;
  const actions = [
    ["AUDIT", "LOG", RBAC_Action.LOG, ""],
    ["DENY", "DENY", RBAC_Action.DENY, "istio_dry_run_deny_"],
    ["ALLOW", "ALLOW", RBAC_Action.ALLOW, "istio_dry_run_allow_"],
  ] as const;
  for (const [action, ruleAction, rbacAction, dryRunPrefix] of actions) {
    const ps = all.filter((p) => actionOf(p) === action);
    if (ps.length === 0) continue;
    const { enforced, shadow } = compile(ps, ruleAction, action, "", ctx);
    out.push({
      rbac: {
        ...(enforced ? { rules: { action: rbacAction, policies: enforced } } : {}),
        ...(shadow ? { shadowRules: { action: rbacAction, policies: shadow }, ...(dryRunPrefix ? { shadowRulesStatPrefix: dryRunPrefix } : {}) } : {}),
      },
    });
  }
  return { steps: out, custom };
}

/**
 * Filters plus the conditions met while building them. `custom`: how many of the first filters
 * are the CUSTOM phase (shadow RBAC + ext_authz, or the DENY standing in for an unusable
 * provider); on HTTP chains jwt_authn goes right after them, before the other RBAC filters.
 */
export interface Built<F> { filters: F[]; conditions: Condition[]; custom: number }

const context = (chain: ChainKind, options: AuthzOptions, where: string | undefined, report: Report): Ctx =>
  ({ chain, where: where ?? (chain === "tcp" ? "a TCP chain" : "an HTTP chain"), trustDomain: options.trustDomain ?? "cluster.local", report });

/**
 * The HTTP filters (before the router) that enforce `policies` on an HTTP chain. `report` lets a
 * caller share one condition collector between chains.
 */
export function rbacHttpFilters(policies: readonly LoadedResource[], options: AuthzOptions = {}, report = new Report()): Built<HttpFilter> {
  const built = steps(policies, options, context("http", options, undefined, report));
  const filters = built.steps.map((s) => ("rbac" in s ? httpFilter(rbacNames.httpFilter, HttpRbacSchema, s.rbac) : extAuthzHttpFilter(s.extAuthz)));
  return { filters, conditions: report.conditions(), custom: built.custom };
}

/**
 * The network filters (before tcp_proxy) that enforce `policies` on a TCP chain: only L4
 * attributes (see rule.ts). `where` names the chain in conditions ("TCP port 5432 of db.x...").
 */
export function rbacNetworkFilters(policies: readonly LoadedResource[], options: AuthzOptions = {}, where?: string, report = new Report()): Built<Filter> {
  const built = steps(policies, options, context("tcp", options, where, report));
  const toFilters = (s: Step): Filter[] => {
    if (!("extAuthz" in s)) return [networkFilter(rbacNames.networkFilter, NetworkRbacSchema, { ...s.rbac, statPrefix: "tcp." })];
    const f = extAuthzNetworkFilter(s.extAuthz);
    return f ? [f] : [];
  };
  const filters = built.steps.flatMap(toFilters);
  return { filters, conditions: report.conditions(), custom: built.steps.slice(0, built.custom).flatMap(toFilters).length };
}
