/**
 * Istio AuthorizationPolicy (security.istio.io/v1, v1beta1): who may do what to the workloads or
 * services it attaches to. Checks follow Istio's own validation, so a policy Istio would reject is
 * rejected here with the field that is wrong, and a policy Istio accepts loads unchanged.
 *
 * Semantics worth keeping in mind (they are the translator's, but a reader of the schema asks):
 * ALLOW with no `rules` field matches nothing (so it denies everything it selects), while
 * `rules: [{}]` matches everything; an empty `rules: []` is the same as no rules.
 */
import { runCheck } from "../../checks.js";
import { error, warning, type FieldIssue, type FieldPath } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { cidr, list, nonEmpty, obj, oneOfStrings, opt, strings, type Static } from "../../schema.js";
import { attachmentFields, checkAttachment, checkWildcards, wildcardError } from "./common.js";

/** Source of a request: peer identity, namespace, IP. All lists inside one source must match (AND). */
export const AuthzSourceSchema = obj({
  principals: opt(strings()),
  notPrincipals: opt(strings()),
  requestPrincipals: opt(strings()),
  notRequestPrincipals: opt(strings()),
  namespaces: opt(strings()),
  notNamespaces: opt(strings()),
  serviceAccounts: opt(strings()),
  notServiceAccounts: opt(strings()),
  ipBlocks: opt(list(cidr())),
  notIpBlocks: opt(list(cidr())),
  remoteIpBlocks: opt(list(cidr())),
  notRemoteIpBlocks: opt(list(cidr())),
});
/** {@link AuthzSourceSchema} as a type. */
export type AuthzSource = Static<typeof AuthzSourceSchema>;

/** Operation of a request: host, port, method, path. */
export const AuthzOperationSchema = obj({
  hosts: opt(strings()),
  notHosts: opt(strings()),
  ports: opt(strings()),
  notPorts: opt(strings()),
  methods: opt(strings()),
  notMethods: opt(strings()),
  paths: opt(strings()),
  notPaths: opt(strings()),
});
/** {@link AuthzOperationSchema} as a type. */
export type AuthzOperation = Static<typeof AuthzOperationSchema>;

/** An extra condition on a request attribute, e.g. `request.auth.claims[iss]`. */
export const AuthzConditionSchema = obj({ key: nonEmpty(), values: opt(strings()), notValues: opt(strings()) });
/** {@link AuthzConditionSchema} as a type. */
export type AuthzCondition = Static<typeof AuthzConditionSchema>;

/** One rule: any `from`, any `to`, all `when`. */
export const AuthzRuleSchema = obj({
  from: opt(list(obj({ source: AuthzSourceSchema }))),
  to: opt(list(obj({ operation: AuthzOperationSchema }))),
  when: opt(list(AuthzConditionSchema)),
});
/** {@link AuthzRuleSchema} as a type. */
export type AuthzRule = Static<typeof AuthzRuleSchema>;

/** Spec of AuthorizationPolicy. */
export const AuthorizationPolicySpecSchema = obj({
  ...attachmentFields(),
  action: opt(oneOfStrings("ALLOW", "DENY", "AUDIT", "CUSTOM")),
  provider: opt(obj({ name: nonEmpty() })),
  rules: opt(list(AuthzRuleSchema)),
});
/** {@link AuthorizationPolicySpecSchema} as a type. */
export type AuthorizationPolicySpec = Static<typeof AuthorizationPolicySpecSchema>;

/** Condition keys Istio supports, with what their values must look like. */
const conditionKeys: { re: RegExp; values?: "cidr" | "port" | "serviceAccount" }[] = [
  { re: /^request\.headers\[[^[\]]+\]$/ },
  { re: /^(source|remote|destination)\.ip$/, values: "cidr" },
  { re: /^source\.(namespace|principal)$/ },
  { re: /^source\.serviceAccount$/, values: "serviceAccount" },
  { re: /^request\.auth\.(principal|audiences|presenter)$/ },
  { re: /^request\.auth\.claims(\[[^[\]]+\])+$/ },
  { re: /^destination\.port$/, values: "port" },
  { re: /^connection\.sni$/ },
  { re: /^experimental\.envoy\.filters\.[A-Za-z0-9_.]+\[[^[\]]+\]$/ },
];

const supportedKeys = "request.headers[<name>], source.ip, remote.ip, source.namespace, source.principal, source.serviceAccount, "
  + "request.auth.principal, request.auth.audiences, request.auth.presenter, request.auth.claims[<name>], "
  + "destination.ip, destination.port, connection.sni or experimental.envoy.filters.<filter>[<key>]";

/** The AuthorizationPolicy kind. */
export const AuthorizationPolicyKind = defineKind<AuthorizationPolicySpec>({
  group: "security.istio.io", kind: "AuthorizationPolicy", versions: ["v1", "v1beta1"], namespaced: true,
  spec: AuthorizationPolicySpecSchema,
  check(policy) {
    const spec = policy.spec;
    const issues = checkAttachment(spec, policy.metadata.namespace ?? "default", ["Gateway", "GatewayClass", "Service", "ServiceEntry"]);
    const action = spec.action ?? "ALLOW";
    if (action === "CUSTOM" && !spec.provider) {
      issues.push(error(["spec", "action"], "is CUSTOM, which requires provider.name (the extension provider, from the mesh config, that decides)"));
    }
    if (action !== "CUSTOM" && spec.provider) {
      issues.push(error(["spec", "provider"], `may only be set when action is CUSTOM (action is ${action})`));
    }
    if (action === "AUDIT" && (spec.rules ?? []).length === 0) {
      issues.push(warning(["spec", "action"], 'is AUDIT with no rules, so no request is audited; add rules (a rule "{}" audits every request)'));
    }
    (spec.rules ?? []).forEach((rule, r) => issues.push(...checkRule(rule, ["spec", "rules", r])));
    return issues;
  },
});

function checkRule(rule: AuthzRule, at: FieldPath): FieldIssue[] {
  const issues: FieldIssue[] = [];
  (rule.from ?? []).forEach(({ source }, i) => issues.push(...checkSource(source, [...at, "from", i, "source"])));
  (rule.to ?? []).forEach(({ operation }, i) => issues.push(...checkOperation(operation, [...at, "to", i, "operation"])));
  (rule.when ?? []).forEach((cond, i) => issues.push(...checkCondition(cond, [...at, "when", i])));
  return issues;
}

function checkSource(src: AuthzSource, at: FieldPath): FieldIssue[] {
  if (Object.values(src).every((v) => (v?.length ?? 0) === 0)) return [error(at, "must set at least one field (Istio rejects an empty source)")];
  const issues: FieldIssue[] = [];
  for (const f of ["principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces", "notNamespaces"] as const) {
    issues.push(...checkWildcards(src[f], [...at, f]));
  }
  for (const f of ["serviceAccounts", "notServiceAccounts"] as const) {
    (src[f] ?? []).forEach((v, i) => {
      const bad = serviceAccountError(v);
      if (bad) issues.push(error([...at, f, i], bad));
    });
  }
  const sa = (src.serviceAccounts?.length ?? 0) > 0 ? "serviceAccounts" : (src.notServiceAccounts?.length ?? 0) > 0 ? "notServiceAccounts" : undefined;
  const pr = (src.principals?.length ?? 0) > 0 ? "principals" : (src.notPrincipals?.length ?? 0) > 0 ? "notPrincipals" : undefined;
  if (sa && pr) issues.push(error([...at, sa], `cannot be combined with ${pr} in the same source; both match the peer identity, so use one or the other`));
  return issues;
}

function checkOperation(op: AuthzOperation, at: FieldPath): FieldIssue[] {
  if (Object.values(op).every((v) => (v?.length ?? 0) === 0)) return [error(at, "must set at least one field (Istio rejects an empty operation)")];
  const issues: FieldIssue[] = [];
  for (const f of ["hosts", "notHosts", "methods", "notMethods"] as const) issues.push(...checkWildcards(op[f], [...at, f]));
  for (const f of ["paths", "notPaths"] as const) {
    (op[f] ?? []).forEach((p, i) => {
      const bad = pathError(p);
      if (bad) issues.push(error([...at, f, i], bad));
    });
  }
  for (const f of ["ports", "notPorts"] as const) {
    (op[f] ?? []).forEach((p, i) => {
      const bad = portError(p);
      if (bad) issues.push(error([...at, f, i], bad));
    });
  }
  return issues;
}

function checkCondition(cond: AuthzCondition, at: FieldPath): FieldIssue[] {
  const kind = conditionKeys.find((k) => k.re.test(cond.key));
  if (!kind) return [error([...at, "key"], `is not a condition key Istio supports; use ${supportedKeys}`)];
  if ((cond.values ?? []).length === 0 && (cond.notValues ?? []).length === 0) {
    return [error(at, `must set values or notValues for ${cond.key}`)];
  }
  const issues: FieldIssue[] = [];
  for (const f of ["values", "notValues"] as const) {
    (cond[f] ?? []).forEach((v, i) => {
      const bad = kind.values === "cidr" ? runCheck("cidr", v)
        : kind.values === "port" ? portError(v)
          : kind.values === "serviceAccount" ? serviceAccountError(v)
            : wildcardError(v);
      if (bad) issues.push(error([...at, f, i], bad));
    });
  }
  return issues;
}

/** Istio ports are strings holding one port number; ranges are not supported. */
function portError(v: string): string | undefined {
  return /^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined
    : `must be a port number from 1 to 65535, not ${JSON.stringify(v)}`;
}

function serviceAccountError(v: string): string | undefined {
  return /^[^/\s]+\/[^/\s]+$/.test(v) ? undefined : `must be "<namespace>/<name>", not ${JSON.stringify(v)}`;
}

/**
 * A path is an exact path, a prefix (`/api/*`), a suffix (`*.css`), `*`, or (Istio 1.22+) a
 * template whose whole segments are `{*}` (one segment) or, last only, `{**}` (the rest).
 */
function pathError(p: string): string | undefined {
  if (!p.includes("{") && !p.includes("}")) return wildcardError(p);
  const segments = p.split("/");
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    if (s === "{*}" || (s === "{**}" && i === segments.length - 1)) continue;
    if (s === "{**}") return `is not a valid path template: "{**}" may only be the last segment, in ${JSON.stringify(p)}`;
    if (/[{}*]/.test(s)) return `is not a valid path template: a segment must be "{*}", "{**}" or plain text, not ${JSON.stringify(s)}`;
  }
  return undefined;
}
