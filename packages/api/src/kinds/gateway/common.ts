/**
 * Schemas and checks shared by the Gateway API kinds (gateway.networking.k8s.io): the name
 * formats of the spec's shared_types.go, ParentReference, BackendRef, header matches and header
 * modifiers, request mirroring, and the GEP-2257 Duration. The checks mirror the CEL rules of the
 * upstream CRDs, so a manifest the API server would refuse is refused here, with a field path.
 */
import { parseIp, re2Error } from "../../checks.js";
import { error, formatPath, warning, type FieldIssue, type FieldPath } from "../../issues.js";
import { list, nonEmpty, obj, oneOfStrings, opt, port, str, strings, stringMap, Type, type Static, type TSchema } from "../../schema.js";

/** The API group of every kind in this folder. */
export const GATEWAY_GROUP = "gateway.networking.k8s.io";

const label = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const subdomain = `${label}(\\.${label})*`;

/** Gateway API Hostname: a lower-case DNS name, optionally with a leading "*." label. */
export const gwHostname = () => Type.String({ minLength: 1, maxLength: 253, pattern: `^(\\*\\.)?${subdomain}$`,
  "x-msg": 'must be a lower-case DNS name of at most 253 characters, optionally starting with "*."' });
/** Gateway API PreciseHostname: a lower-case DNS name without wildcard. */
export const preciseHostname = () => Type.String({ minLength: 1, maxLength: 253, pattern: `^${subdomain}$`,
  "x-msg": "must be a lower-case DNS name of at most 253 characters, without wildcard" });
/** API group: "" for core, else a DNS subdomain. */
export const group = () => Type.String({ maxLength: 253, pattern: `^$|^${subdomain}$`,
  "x-msg": 'must be "" (the core group) or a lower-case DNS subdomain such as "gateway.networking.k8s.io"' });
/** A Kind such as "Service" or "HTTPRoute". */
export const kind = () => Type.String({ minLength: 1, maxLength: 63, pattern: "^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$",
  "x-msg": 'must be a kind such as "Service" (letters, digits and "-", at most 63 characters)' });
/** The name of an object. */
export const objectName = () => Type.String({ minLength: 1, maxLength: 253 });
/** A namespace name (DNS-1123 label). */
export const namespaceName = () => Type.String({ minLength: 1, maxLength: 63, pattern: `^${label}$`,
  "x-msg": "must be a namespace name (lower-case letters, digits and '-', at most 63 characters)" });
/** SectionName: a listener name, a rule name or a Service port name. */
export const sectionName = () => Type.String({ minLength: 1, maxLength: 253, pattern: `^${subdomain}$`,
  "x-msg": "must be a lower-case DNS-1123 subdomain (letters, digits, '-' and '.')" });
/** An HTTP header (or query parameter) name: RFC 7230 token characters, no ":" pseudo-headers. */
export const gwHeaderName = () => Type.String({ minLength: 1, maxLength: 256, pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
  "x-msg": 'must be an HTTP header name (token characters only; pseudo-headers such as ":path" are not allowed)' });
/** Duration in the GEP-2257 format: up to four <1-5 digits><h|m|s|ms> parts, e.g. "1h30m", "500ms". */
export const gwDuration = () => Type.String({ pattern: "^([0-9]{1,5}(h|m|s|ms)){1,4}$",
  "x-msg": 'must be a Gateway API duration (GEP-2257) such as "10s", "1m30s" or "500ms": whole numbers, units h, m, s, ms' });
/** A list with Gateway API's item cap, reported in words. */
export const capped = <T extends TSchema>(item: T, max: number, what: string, min = 0) =>
  list(item, { maxItems: max, ...(min > 0 ? { minItems: min } : {}), "x-msg": `must have at most ${max} ${what} (Gateway API limit)` });

/** Reference from a route to its parent: a Gateway, or (GAMMA, waypoints) a Service or ServiceEntry. */
export const ParentReferenceSchema = obj({
  group: opt(group()), kind: opt(kind()), namespace: opt(namespaceName()), name: objectName(),
  sectionName: opt(sectionName()), port: opt(port()),
});
/** A route's parentRef, as written (group and kind not defaulted). */
export type ParentReference = Static<typeof ParentReferenceSchema>;

/** The fields of BackendObjectReference: group defaults to "" and kind to Service. */
export const backendObjectProps = {
  group: opt(group()), kind: opt(kind()), name: objectName(), namespace: opt(namespaceName()), port: opt(port()),
};
/** BackendObjectReference, e.g. the target of a RequestMirror filter. */
export const BackendObjectReferenceSchema = obj(backendObjectProps);
/** A backend object reference, as written (group and kind not defaulted). */
export type BackendObjectReference = Static<typeof BackendObjectReferenceSchema>;

/** The fields of BackendRef: a backend object and its weight. */
export const backendRefProps = {
  ...backendObjectProps,
  weight: opt(Type.Integer({ minimum: 0, maximum: 1000000, "x-msg": "must be a weight from 0 to 1000000" })),
};
/** BackendRef as TCPRoute uses it (HTTP and gRPC backends add per-backend filters). */
export const BackendRefSchema = obj(backendRefProps);
/** A weighted backend reference, as written. */
export type BackendRef = Static<typeof BackendRefSchema>;

/** LocalObjectReference: group (may be ""), kind and name in the route's namespace, e.g. an extensionRef. */
export const LocalObjectReferenceSchema = obj({ group: group(), kind: kind(), name: objectName() });
/** SecretObjectReference: group defaults to "" and kind to Secret. */
export const SecretObjectReferenceSchema = obj({ group: opt(group()), kind: opt(kind()), name: objectName(), namespace: opt(namespaceName()) });
/** ObjectReference with required group and kind, e.g. a CA certificate ConfigMap. */
export const ObjectReferenceSchema = obj({ group: group(), kind: kind(), name: objectName(), namespace: opt(namespaceName()) });

/** Kubernetes metav1.LabelSelector. */
export const LabelSelectorSchema = obj({
  matchLabels: opt(stringMap()),
  matchExpressions: opt(list(obj({ key: nonEmpty(), operator: oneOfStrings("In", "NotIn", "Exists", "DoesNotExist"), values: opt(strings()) }))),
});
/** A namespace label selector. */
export type LabelSelector = Static<typeof LabelSelectorSchema>;

/** HTTPHeaderMatch (also GRPCHeaderMatch): Exact by default, or an RE2 regular expression. */
export const HeaderMatchSchema = obj({
  type: opt(oneOfStrings("Exact", "RegularExpression")), name: gwHeaderName(), value: str({ minLength: 1, maxLength: 4096 }),
});
/** A header match; type defaults to Exact. */
export type HeaderMatch = Static<typeof HeaderMatchSchema>;

const HeaderSchema = obj({ name: gwHeaderName(), value: str({ minLength: 1, maxLength: 4096 }) });
/** HTTPHeaderFilter: RequestHeaderModifier and ResponseHeaderModifier. */
export const HeaderFilterSchema = obj({
  set: opt(capped(HeaderSchema, 16, "headers")), add: opt(capped(HeaderSchema, 16, "headers")), remove: opt(capped(str(), 16, "header names")),
});
/** The config of a RequestHeaderModifier or ResponseHeaderModifier filter. */
export type HeaderFilter = Static<typeof HeaderFilterSchema>;

/** Fraction: numerator / denominator (default 100). */
export const FractionSchema = obj({ numerator: Type.Integer({ minimum: 0 }), denominator: opt(Type.Integer({ minimum: 1 })) });
/** HTTPRequestMirrorFilter: mirror to one backend, all requests or a percent/fraction of them. */
export const RequestMirrorSchema = obj({ backendRef: BackendObjectReferenceSchema, percent: opt(Type.Integer({ minimum: 0, maximum: 100, "x-msg": "must be a percentage from 0 to 100" })), fraction: opt(FractionSchema) });
/** The config of a RequestMirror filter. */
export type RequestMirror = Static<typeof RequestMirrorSchema>;

/** SessionPersistence (experimental channel) on a route rule. */
export const SessionPersistenceSchema = obj({
  sessionName: opt(str({ maxLength: 128 })), absoluteTimeout: opt(gwDuration()), idleTimeout: opt(gwDuration()),
  type: opt(oneOfStrings("Cookie", "Header")), cookieConfig: opt(obj({ lifetimeType: opt(oneOfStrings("Permanent", "Session")) })),
});
/** The session persistence of a route rule. */
export type SessionPersistence = Static<typeof SessionPersistenceSchema>;

type Path = FieldPath;

/** Hostnames must be names: the pattern lets "10.0.0.1" through, the spec forbids IPs. */
export function checkHostnames(hostnames: readonly string[] | undefined, path: Path, issues: FieldIssue[]): void {
  hostnames?.forEach((h, i) => {
    if (parseIp(h)) issues.push(error([...path, i], `must be a host name, not an IP address (${h})`));
  });
}

/**
 * ParentRefs must be distinct (CommonRouteSpec CEL): references to the same parent must each set
 * sectionName or port, and differ in them. Also warns about `kind: Service` without `group: ""`:
 * the group then defaults to gateway.networking.k8s.io, and the route attaches to nothing.
 */
export function checkParentRefs(refs: readonly ParentReference[] | undefined, path: Path, issues: FieldIssue[]): void {
  const byParent = new Map<string, number[]>();
  refs?.forEach((r, i) => {
    if (r.kind === "Service" && r.group === undefined) {
      issues.push(warning([...path, i, "group"], `is not set, so it defaults to "${GATEWAY_GROUP}", where there is no Service; set group: "" to attach to the Service ${r.name}`));
    }
    const k = [r.group ?? GATEWAY_GROUP, r.kind ?? "Gateway", r.namespace ?? "", r.name].join("|");
    byParent.set(k, [...(byParent.get(k) ?? []), i]);
  });
  for (const idx of byParent.values()) {
    if (idx.length < 2) continue;
    const seen = new Map<string, number>();
    for (const i of idx) {
      const r = refs![i]!;
      const first = idx[0]!;
      if (r.sectionName === undefined && r.port === undefined) {
        issues.push(error([...path, i], `needs sectionName or port: ${formatPath([...path, first === i ? idx[1]! : first])} refers to the same parent ${r.name}`));
        continue;
      }
      const k = `${r.sectionName ?? ""}|${r.port ?? ""}`;
      const prev = seen.get(k);
      if (prev !== undefined) issues.push(error([...path, i], `duplicates ${formatPath([...path, prev])}`));
      else seen.set(k, i);
    }
  }
}

/** BackendObjectReference CEL: a Service backend (group "", kind Service, the defaults) needs a port. */
export function checkBackendPort(ref: { group?: string; kind?: string; name: string; port?: number }, path: Path, issues: FieldIssue[]): void {
  if ((ref.group ?? "") === "" && (ref.kind ?? "Service") === "Service" && ref.port === undefined) {
    issues.push(error([...path, "port"], `is required when the backend is a Service (${JSON.stringify(ref.name)})`));
  }
}

/** Header (or query parameter) matches: names unique per match, regular expressions valid RE2. */
export function checkNameValueMatches(
  matches: readonly { type?: string; name: string; value: string }[] | undefined, path: Path, issues: FieldIssue[], caseInsensitive = true,
): void {
  const seen = new Map<string, number>();
  matches?.forEach((m, i) => {
    const k = caseInsensitive ? m.name.toLowerCase() : m.name;
    const prev = seen.get(k);
    if (prev !== undefined) {
      issues.push(error([...path, i, "name"], `duplicates ${formatPath([...path, prev, "name"])} ${JSON.stringify(m.name)}${caseInsensitive ? " (header names are case-insensitive)" : ""}; only the first would be matched`));
    } else seen.set(k, i);
    if (m.type === "RegularExpression") {
      const bad = re2Error(m.value);
      if (bad) issues.push(error([...path, i, "value"], bad));
    }
  });
}

/** HTTPHeaderFilter: "Only one action for a given header name is permitted" across set, add and remove. */
export function checkHeaderFilter(f: HeaderFilter, path: Path, issues: FieldIssue[]): void {
  const seen = new Map<string, string>();
  const visit = (name: string, at: Path) => {
    const prev = seen.get(name.toLowerCase());
    if (prev !== undefined) issues.push(error(at, `names header ${JSON.stringify(name)} that ${prev} already modifies; one action per header name`));
    else seen.set(name.toLowerCase(), formatPath(at));
  };
  f.set?.forEach((h, i) => visit(h.name, [...path, "set", i, "name"]));
  f.add?.forEach((h, i) => visit(h.name, [...path, "add", i, "name"]));
  f.remove?.forEach((h, i) => visit(h, [...path, "remove", i]));
}

/** HTTPRequestMirrorFilter: percent or fraction, not both; fraction at most 1; Service needs a port. */
export function checkMirror(m: RequestMirror, path: Path, issues: FieldIssue[]): void {
  checkBackendPort(m.backendRef, [...path, "backendRef"], issues);
  if (m.percent !== undefined && m.fraction !== undefined) issues.push(error([...path, "fraction"], "must not be set together with percent; use one of them"));
  if (m.fraction && m.fraction.numerator > (m.fraction.denominator ?? 100)) {
    issues.push(error([...path, "fraction", "numerator"], `must be at most the denominator (${m.fraction.denominator ?? 100})`));
  }
}

/**
 * The filter union: `type` names exactly one filled-in config field. `fieldOf` maps each type to
 * its field (ExtensionRef -> extensionRef ...).
 */
export function checkFilterUnion(f: { type: string }, path: Path, fieldOf: Readonly<Record<string, string>>, issues: FieldIssue[]): void {
  const fields = f as unknown as Record<string, unknown>;
  const want = fieldOf[f.type];
  if (want !== undefined && fields[want] === undefined) issues.push(error([...path, want], `is required when type is ${f.type}`));
  for (const [t, field] of Object.entries(fieldOf)) {
    if (field !== want && fields[field] !== undefined) {
      issues.push(error([...path, field], `must not be set when type is ${f.type}; it belongs to a filter of type ${t}`));
    }
  }
}

/** Filters that a list may hold at most once ("RequestHeaderModifier filter cannot be repeated"). */
export function checkFilterRepeats(filters: readonly { type: string }[] | undefined, path: Path, once: readonly string[], issues: FieldIssue[]): void {
  const first = new Map<string, number>();
  filters?.forEach((f, i) => {
    if (!once.includes(f.type)) return;
    const prev = first.get(f.type);
    if (prev !== undefined) issues.push(error([...path, i, "type"], `repeats the ${f.type} filter of ${formatPath([...path, prev])}; it may appear once per list`));
    else first.set(f.type, i);
  });
}

/** Route rules: names unique, and at most 128 matches across all rules (the CRD's CEL limit). */
export function checkRuleNamesAndMatchTotal(rules: readonly { name?: string; matches?: readonly unknown[] }[] | undefined, path: Path, issues: FieldIssue[]): void {
  const names = new Map<string, number>();
  let total = 0;
  rules?.forEach((r, i) => {
    total += r.matches?.length ?? 0;
    if (r.name === undefined) return;
    const prev = names.get(r.name);
    if (prev !== undefined) issues.push(error([...path, i, "name"], `duplicates ${formatPath([...path, prev, "name"])} ${JSON.stringify(r.name)}; rule names must be unique within a route`));
    else names.set(r.name, i);
  });
  if (total > 128) issues.push(error(path, `have ${total} matches in all; a route may have at most 128 across its rules (Gateway API limit)`));
}

/** metav1.LabelSelector: In/NotIn need values, Exists/DoesNotExist take none. */
export function checkLabelSelector(sel: LabelSelector | undefined, path: Path, issues: FieldIssue[]): void {
  sel?.matchExpressions?.forEach((e, i) => {
    const n = e.values?.length ?? 0;
    if ((e.operator === "In" || e.operator === "NotIn") && n === 0) issues.push(error([...path, "matchExpressions", i, "values"], `must not be empty for operator ${e.operator}`));
    if ((e.operator === "Exists" || e.operator === "DoesNotExist") && n > 0) issues.push(error([...path, "matchExpressions", i, "values"], `must be empty for operator ${e.operator}`));
  });
}

/** SessionPersistence CEL: a Permanent cookie needs absoluteTimeout; cookieConfig only with type Cookie. */
export function checkSessionPersistence(sp: SessionPersistence | undefined, path: Path, issues: FieldIssue[]): void {
  if (!sp) return;
  if (sp.cookieConfig?.lifetimeType === "Permanent" && sp.absoluteTimeout === undefined) {
    issues.push(error([...path, "absoluteTimeout"], "is required when cookieConfig.lifetimeType is Permanent"));
  }
  if (sp.cookieConfig && (sp.type ?? "Cookie") !== "Cookie") issues.push(error([...path, "cookieConfig"], "must not be set when type is Header"));
}
