/**
 * One AuthorizationPolicy rule -> one Envoy RBAC policy, with Istio's semantics
 * (istio pilot/pkg/security/authz/model/model.go):
 * - the permissions are the `to` entries (OR-ed), each the AND of its operation fields and of the
 *   rule's permission-side `when` conditions; no `to` means one permission of just those;
 * - the principals are the `from` entries (OR-ed), each the AND of its source fields and of the
 *   principal-side `when` conditions; no `from` likewise;
 * - Envoy ANDs permissions and principals, so from, to and when are AND-ed;
 * - inside a field the values are OR-ed, and notValues become NOT(any of them).
 *
 * On a TCP chain the HTTP-only attributes cannot be evaluated. Istio drops the whole rule from
 * an ALLOW policy (it then allows less) and ignores just those attributes in DENY, AUDIT and
 * CUSTOM (they then match more); the caller reports both.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AuthzOperation, AuthzRule, AuthzSource } from "@waystation/api";
import type { PolicySchema } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import { conditionAttribute, operationFields, sourceFields, type Attribute } from "./conditions.js";
import { allPermissions, anyPermission, notPermission, type PermissionInit } from "./permissions.js";
import { allPrincipals, anyPrincipal, notPrincipal, type PrincipalInit } from "./principals.js";

/** Init shape of envoy.config.rbac.v3.Policy. */
export type PolicyInit = MessageInitShape<typeof PolicySchema>;

/** The kind of filter chain a rule is compiled for. */
export type ChainKind = "http" | "tcp";

/** The RBAC action a rule is compiled under; CUSTOM rules compile as DENY, as in Istio. */
export type RuleAction = "ALLOW" | "DENY" | "LOG";

/** A compiled rule: the policy, or none when an ALLOW rule had to be dropped, and what was left out. */
export interface CompiledRule {
  policy?: PolicyInit;
  /** Field paths below the rule (`to[0].operation.methods`, `when[1]`) that this chain cannot evaluate. */
  skipped: string[];
}

/** An RBAC policy that never matches: what Istio generates for a policy without rules. */
export const matchNothing = (): PolicyInit => ({ permissions: [notPermission(anyPermission())], principals: [notPrincipal(anyPrincipal())] });

interface Sides { permissions: PermissionInit[]; principals: PrincipalInit[] }

function constrain(out: Sides, attr: Attribute, values: readonly string[] = [], notValues: readonly string[] = []): void {
  if (attr.side === "permission") {
    if (values.length > 0) out.permissions.push(attr.anyOf(values));
    if (notValues.length > 0) out.permissions.push(notPermission(attr.anyOf(notValues)));
  } else {
    if (values.length > 0) out.principals.push(attr.anyOf(values));
    if (notValues.length > 0) out.principals.push(notPrincipal(attr.anyOf(notValues)));
  }
}

/** Compiles one rule for a chain kind and action. `trustDomain` is the mesh's, for principal aliases. */
export function compileRule(rule: AuthzRule, chain: ChainKind, action: RuleAction, trustDomain: string): CompiledRule {
  const skipped: string[] = [];
  const usable = (attr: Attribute | undefined, where: string): attr is Attribute => {
    // An unknown when key cannot occur after API validation; treat it like an HTTP-only one.
    if (attr && !(chain === "tcp" && attr.httpOnly)) return true;
    skipped.push(where);
    return false;
  };
  const set = (xs: readonly string[] | undefined) => (xs ?? []).length > 0;

  const base: Sides = { permissions: [], principals: [] };
  (rule.when ?? []).forEach((c, i) => {
    const attr = conditionAttribute(c.key, trustDomain);
    if (usable(attr, `when[${i}] ${c.key}`)) constrain(base, attr, c.values, c.notValues);
  });

  const fromEntry = (source: AuthzSource, i: number): PrincipalInit => {
    const out: Sides = { permissions: [], principals: [] };
    for (const { field, notField, attribute } of sourceFields(trustDomain)) {
      const [values, notValues] = [source[field as keyof AuthzSource], source[notField as keyof AuthzSource]];
      if (!set(values) && !set(notValues)) continue;
      if (usable(attribute, `from[${i}].source.${set(values) ? field : notField}`)) constrain(out, attribute, values, notValues);
    }
    return allPrincipals([...out.principals, ...base.principals]);
  };
  const toEntry = (operation: AuthzOperation, i: number): PermissionInit => {
    const out: Sides = { permissions: [], principals: [] };
    for (const { field, notField, attribute } of operationFields) {
      const [values, notValues] = [operation[field as keyof AuthzOperation], operation[notField as keyof AuthzOperation]];
      if (!set(values) && !set(notValues)) continue;
      if (usable(attribute, `to[${i}].operation.${set(values) ? field : notField}`)) constrain(out, attribute, values, notValues);
    }
    return allPermissions([...out.permissions, ...base.permissions]);
  };

  const from = rule.from ?? [];
  const to = rule.to ?? [];
  const principals = from.length > 0 ? from.map((f, i) => fromEntry(f.source, i)) : [allPrincipals(base.principals)];
  const permissions = to.length > 0 ? to.map((t, i) => toEntry(t.operation, i)) : [allPermissions(base.permissions)];
  // Report in the order the fields are written: from, to, when.
  const ordered = [...skipped.filter((f) => !f.startsWith("when")), ...skipped.filter((f) => f.startsWith("when"))];
  if (ordered.length > 0 && action === "ALLOW") return { skipped: ordered };
  return { policy: { permissions, principals }, skipped: ordered };
}
