/**
 * Validates one parsed document against the kind registry: identity, schema (ajv, closed objects,
 * `x-check` value checks), then the kind's semantic checks. Returns issues with field paths; the
 * caller (load.ts) turns them into file:line:column problems.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { runCheck, type CheckName } from "./checks.js";
import { error, type FieldIssue } from "./issues.js";
import type { KindDef } from "./kind.js";
import { ObjectMetaSchema, type KubeObject, type ResourceKey } from "./meta.js";
import { anyValue, obj, opt, str, Type } from "./schema.js";
import type { TProperties } from "@sinclair/typebox";

export type DocumentResult =
  | { status: "valid"; key: ResourceKey; def: KindDef; object: KubeObject; issues: FieldIssue[] }
  | { status: "invalid"; key?: ResourceKey; issues: FieldIssue[] }
  /** A kind Waystation does not read (a Deployment, a ConfigMap ...): skipped, not an error. */
  | { status: "ignored"; reason: string };

/** Compiled validators for a set of kinds. Build once, reuse for every document. */
export class Validator {
  private readonly ajv: Ajv;
  private readonly byGroupKind = new Map<string, { def: KindDef; validate: ValidateFunction }>();

  constructor(kinds: readonly KindDef[]) {
    this.ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    this.ajv.addKeyword({
      keyword: "x-check",
      type: "string",
      errors: true,
      validate: function check(name: CheckName, data: string) {
        const message = runCheck(name, data);
        (check as unknown as { errors: Partial<ErrorObject>[] }).errors = message
          ? [{ keyword: "x-check", message, params: {} }] : [];
        return message === undefined;
      },
    });
    for (const def of kinds) {
      const props: TProperties = {
        apiVersion: str(),
        kind: str(),
        metadata: ObjectMetaSchema,
        status: opt(def.status ?? anyValue()),
        ...(def.extraFields ?? {}),
      };
      if (def.spec) props.spec = def.specRequired ? def.spec : opt(def.spec);
      const envelope = obj(props, { required: ["apiVersion", "kind", "metadata", ...(def.spec && def.specRequired ? ["spec"] : [])] });
      this.byGroupKind.set(`${def.group}/${def.kind}`, { def, validate: this.ajv.compile(envelope) });
    }
  }

  /** The kind definitions, in registration order. */
  kinds(): KindDef[] {
    return [...this.byGroupKind.values()].map((v) => v.def);
  }

  validate(raw: unknown): DocumentResult {
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      return { status: "invalid", issues: [error([], "a manifest must be a mapping with apiVersion, kind and metadata")] };
    }
    const doc = raw as Record<string, unknown>;
    const issues: FieldIssue[] = [];
    if (typeof doc.apiVersion !== "string" || doc.apiVersion === "") issues.push(error(["apiVersion"], "is required"));
    if (typeof doc.kind !== "string" || doc.kind === "") issues.push(error(["kind"], "is required"));
    if (issues.length > 0) return { status: "invalid", issues };

    const apiVersion = doc.apiVersion as string;
    const kind = doc.kind as string;
    const slash = apiVersion.lastIndexOf("/");
    const group = slash < 0 ? "" : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    const entry = this.byGroupKind.get(`${group}/${kind}`);
    if (!entry) return { status: "ignored", reason: `${apiVersion} ${kind} is not a kind Waystation reads` };
    const { def, validate } = entry;

    const meta = doc.metadata as Record<string, unknown> | undefined;
    const name = typeof meta?.name === "string" ? meta.name : "";
    const namespace = def.namespaced ? (typeof meta?.namespace === "string" && meta.namespace !== "" ? meta.namespace : "default") : "";
    const key: ResourceKey | undefined = name ? { group, kind, namespace, name } : undefined;

    if (!def.versions.includes(version)) {
      issues.push(error(["apiVersion"], `${apiVersion} is not a version of ${kind} that Waystation reads; use one of ${def.versions.map((v) => (group ? `${group}/${v}` : v)).join(", ")}`));
    }
    if (!def.namespaced && typeof meta?.namespace === "string" && meta.namespace !== "") {
      issues.push(error(["metadata", "namespace"], `must not be set: ${kind} is cluster-scoped`));
    }
    if (!validate(doc)) issues.push(...translateErrors(validate.errors ?? []));
    if (issues.some((i) => i.severity === "error")) return { status: "invalid", ...(key ? { key } : {}), issues: dedupe(issues) };

    // Normalise: preferred apiVersion, defaulted namespace. The input object is not mutated.
    const object = {
      ...doc,
      apiVersion: group ? `${group}/${def.versions[0]}` : def.versions[0]!,
      metadata: { ...meta, ...(def.namespaced ? { namespace } : {}) },
    } as unknown as KubeObject;
    if (def.spec && object.spec === undefined) (object as { spec: unknown }).spec = {};
    const semantic = def.check ? def.check(object) : [];
    const status = semantic.some((i) => i.severity === "error") ? "invalid" : "valid";
    if (status === "invalid") return { status, key: key!, issues: dedupe(semantic) };
    return { status, key: key!, def, object, issues: dedupe(semantic) };
  }
}

/** Turns ajv's errors into field issues with user-facing messages. */
export function translateErrors(errors: readonly ErrorObject[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  // Union branches (e.g. IntOrString) report one error per branch; keep only the union's own.
  const unionPaths = new Set(errors.filter((e) => e.keyword === "anyOf" || e.keyword === "oneOf").map((e) => e.instancePath));
  for (const e of errors) {
    const path = pointerToPath(e.instancePath);
    if (unionPaths.has(e.instancePath) && e.keyword !== "anyOf" && e.keyword !== "oneOf") continue;
    const custom = (e.parentSchema as Record<string, unknown> | undefined)?.["x-msg"];
    switch (e.keyword) {
      case "additionalProperties": {
        const field = (e.params as { additionalProperty: string }).additionalProperty;
        out.push({ path: [...path, field], message: `is not a known field${hintFor(e, field)}`, severity: "error", at: "key" });
        break;
      }
      case "required":
        out.push(error([...path, (e.params as { missingProperty: string }).missingProperty], "is required"));
        break;
      case "type":
        out.push(error(path, `must be ${article((e.params as { type: string | string[] }).type)}`));
        break;
      case "anyOf":
      case "oneOf":
        out.push(error(path, describeUnion(e.schema as unknown[], e.data)));
        break;
      case "minimum": case "maximum": case "exclusiveMinimum": case "exclusiveMaximum":
        out.push(error(path, typeof custom === "string" ? custom : `must be ${(e.params as { comparison: string }).comparison} ${(e.params as { limit: number }).limit}`));
        break;
      case "minLength":
        out.push(error(path, (e.params as { limit: number }).limit === 1 ? "must not be empty" : `must be at least ${(e.params as { limit: number }).limit} characters`));
        break;
      case "minItems":
        out.push(error(path, `must have at least ${(e.params as { limit: number }).limit} item(s)`));
        break;
      case "const":
      case "enum":
        out.push(error(path, `must be one of ${((e.params as { allowedValues?: unknown[] }).allowedValues ?? [(e.params as { allowedValue: unknown }).allowedValue]).map((v) => JSON.stringify(v)).join(", ")}`));
        break;
      case "pattern":
        out.push(error(path, typeof custom === "string" ? custom : `must match ${(e.params as { pattern: string }).pattern}`));
        break;
      default:
        out.push(error(path, typeof custom === "string" ? custom : e.message ?? "is invalid"));
    }
  }
  return out;
}

function describeUnion(branches: unknown[], data: unknown): string {
  const literals = branches.map((b) => (b as { const?: unknown }).const).filter((v) => v !== undefined);
  if (literals.length === branches.length) return `must be one of ${literals.map((v) => JSON.stringify(v)).join(", ")}, not ${JSON.stringify(data)}`;
  const types = [...new Set(branches.map((b) => (b as { type?: string }).type).filter(Boolean))] as string[];
  return types.length > 0 ? `must be ${types.map((t) => article(t)).join(" or ")}` : "does not match any allowed form";
}

function hintFor(e: ErrorObject, field: string): string {
  const known = Object.keys((e.schema as unknown as Record<string, unknown> | undefined) ?? {});
  const props = (e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  const names = props ? Object.keys(props) : known;
  const close = names.find((n) => n.toLowerCase() === field.toLowerCase() || editDistance(n, field) <= 2);
  return close ? ` (did you mean "${close}"?)` : "";
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function article(type: string | string[]): string {
  const t = Array.isArray(type) ? type.join(" or ") : type;
  const words: Record<string, string> = { integer: "an integer", string: "a string", object: "a mapping", array: "a list", boolean: "true or false", number: "a number", null: "null" };
  return t.split(" or ").map((x) => words[x] ?? x).join(" or ");
}

/** "/spec/http/0/route" -> ["spec", "http", 0, "route"] */
export function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === "") return [];
  return pointer.slice(1).split("/").map((s) => {
    const v = s.replace(/~1/g, "/").replace(/~0/g, "~");
    return /^\d+$/.test(v) ? Number(v) : v;
  });
}

function dedupe(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${JSON.stringify(i.path)}|${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export { Type };
