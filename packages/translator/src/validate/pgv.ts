/**
 * Stage (b): Envoy's own field constraints, the PGV `validate.rules` annotations in its protos,
 * evaluated on a decoded protobuf-es message. Recurses into nested messages, list items, map values
 * and `Any` payloads; a message type marked `(validate.disabled)` is not checked, nor is a field
 * whose rules say `message.skip`. A field inside a oneof is checked only when it is the one set.
 *
 * Values are read from the message objects directly (not through `reflect()`), keeping in mind
 * protobuf-es's local shapes: oneofs are `{ case, value }`, singular wrapper fields outside a oneof
 * are unboxed (`number | undefined`), Struct fields are plain JSON objects.
 */
import { getOption, hasOption, isFieldSet, ScalarType, type DescField, type DescMessage, type DescOneof, type Message } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence, type Any } from "@bufbuild/protobuf/wkt";
import { disabled as disabledExt, required as requiredExt } from "@waystation/proto/validate/validate_pb.js";
import { fieldPath, indexPath, keyPath, type ValidationError } from "./errors.js";
import { reachability } from "./reach.js";
import { unpackAny, type Unpacked } from "./registry.js";
import { fieldRules, type CompiledRules, type RuleContext, type ValuePlan } from "./rules.js";
import { isWrapperType } from "./wellKnown.js";

/** What the walk needs besides the message: where errors go, the clock, the Any cache. */
export interface PgvContext extends RuleContext {
  readonly errors: ValidationError[];
  readonly anyCache: Map<Any, Unpacked>;
}

interface FieldPlan {
  readonly field: DescField;
  readonly rules: CompiledRules | undefined;
  /** The field holds messages that may need checking. */
  readonly recurse: boolean;
  /** Scalar with explicit presence (proto2, proto3 `optional`): rules apply only when set. */
  readonly explicit: boolean;
}

interface MessagePlan {
  readonly disabled: boolean;
  readonly requiredOneofs: readonly DescOneof[];
  readonly fields: readonly FieldPlan[];
}

type Fields = Record<string, unknown>;
type OneofValue = { case: string | undefined; value?: unknown };

const plans = new WeakMap<DescMessage, MessagePlan>();

function directPlan(desc: DescMessage): { disabled: boolean; requiredOneofs: DescOneof[]; ruled: boolean } {
  const disabled = hasOption(desc, disabledExt) && getOption(desc, disabledExt);
  const requiredOneofs = desc.oneofs.filter((o) => hasOption(o, requiredExt) && getOption(o, requiredExt));
  return { disabled, requiredOneofs, ruled: !disabled && (requiredOneofs.length > 0 || desc.fields.some((f) => fieldRules(f) !== undefined)) };
}

/** Does a message of this type (or anything inside it) carry rules? Any always may. */
const needsCheck = reachability((d) => d.typeName === "google.protobuf.Any" || directPlan(d).ruled);

function planFor(desc: DescMessage): MessagePlan {
  let plan = plans.get(desc);
  if (!plan) {
    const { disabled, requiredOneofs } = directPlan(desc);
    const fields: FieldPlan[] = [];
    if (!disabled) {
      for (const field of desc.fields) {
        const rules = fieldRules(field);
        const recurse = field.message !== undefined && needsCheck(field.message);
        const explicit = field.presence === FeatureSet_FieldPresence.EXPLICIT && !field.oneof && field.fieldKind !== "message";
        if (rules || recurse) fields.push({ field, rules, recurse, explicit });
      }
    }
    plan = { disabled, requiredOneofs, fields };
    plans.set(desc, plan);
  }
  return plan;
}

function report(ctx: PgvContext, path: string, rule: string, message: string): void {
  ctx.errors.push({ stage: "rule", path, rule, message });
}

/** Checks the PGV rules of `msg` (of type `desc`) and everything inside it. */
export function checkRules(desc: DescMessage, msg: Message, path: string, ctx: PgvContext): void {
  const plan = planFor(desc);
  if (plan.disabled) return;
  const m = msg as unknown as Fields;
  for (const oneof of plan.requiredOneofs) {
    if ((m[oneof.localName] as OneofValue | undefined)?.case === undefined) {
      const names = oneof.fields.map((f) => f.name).join(", ");
      report(ctx, path, "oneof.required", `exactly one of ${names} must be set (oneof ${oneof.name} is required)`);
    }
  }
  for (const fp of plan.fields) {
    const f = fp.field;
    let v: unknown;
    if (f.oneof) {
      const o = m[f.oneof.localName] as OneofValue | undefined;
      if (o?.case !== f.localName) continue;
      v = o.value;
    } else {
      v = m[f.localName];
    }
    const p = fieldPath(path, f.name);
    switch (f.fieldKind) {
      case "scalar":
      case "enum":
        if (fp.explicit && !isFieldSet(msg, f)) continue;
        applyValue(fp.rules?.value, v, p, ctx);
        break;
      case "message":
        if (v === undefined) {
          if (fp.rules?.required) report(ctx, p, "message.required", "value is required");
          continue;
        }
        checkMessageValue(f.message, v, fp.rules, p, !f.oneof, ctx);
        break;
      case "list": {
        const items = v as unknown[];
        const r = fp.rules?.list;
        if (r && !(r.ignoreEmpty && items.length === 0)) {
          if (r.min !== undefined && BigInt(items.length) < r.min) report(ctx, p, "repeated.min_items", `value must contain at least ${r.min} item(s) (has ${items.length})`);
          if (r.max !== undefined && BigInt(items.length) > r.max) report(ctx, p, "repeated.max_items", `value must contain at most ${r.max} item(s) (has ${items.length})`);
          if (r.unique) checkUnique(items, p, ctx);
        }
        const itemRules = r?.items;
        if (!itemRules?.value && !fp.recurse) break;
        for (let i = 0; i < items.length; i++) {
          if (f.listKind === "message") checkMessageValue(f.message, items[i], itemRules, indexPath(p, i), false, ctx);
          else applyValue(itemRules?.value, items[i], indexPath(p, i), ctx);
        }
        break;
      }
      case "map": {
        const entries = Object.entries(v as Record<string, unknown>);
        const r = fp.rules?.map;
        if (r && !(r.ignoreEmpty && entries.length === 0)) {
          if (r.min !== undefined && BigInt(entries.length) < r.min) report(ctx, p, "map.min_pairs", `value must contain at least ${r.min} pair(s) (has ${entries.length})`);
          if (r.max !== undefined && BigInt(entries.length) > r.max) report(ctx, p, "map.max_pairs", `value must contain at most ${r.max} pair(s) (has ${entries.length})`);
        }
        for (const [k, val] of entries) {
          const kp = keyPath(p, k);
          if (r?.keys?.value) applyValue(r.keys.value, f.mapKey === ScalarType.BOOL ? k === "true" : k, kp, ctx);
          if (f.mapKind === "message") checkMessageValue(f.message, val, r?.values, kp, false, ctx);
          else applyValue(r?.values?.value, val, kp, ctx);
        }
        break;
      }
    }
  }
}

/** A set message value: wrapper, Any, Duration/Timestamp, or a plain message to recurse into. */
function checkMessageValue(desc: DescMessage, v: unknown, rules: CompiledRules | undefined, path: string, unboxed: boolean, ctx: PgvContext): void {
  if (isWrapperType(desc)) {
    applyValue(rules?.value, unboxed ? v : (v as { value: unknown }).value, path, ctx);
    return;
  }
  applyValue(rules?.value, v, path, ctx);
  if (rules?.skip) return;
  if (desc.typeName === "google.protobuf.Any") {
    const u = unpackAny(v as Any, ctx.anyCache);
    if (u.error !== undefined) report(ctx, path, "any.type", u.error);
    else checkRules(u.desc, u.message, path, ctx);
    return;
  }
  if (needsCheck(desc)) checkRules(desc, v as Message, path, ctx);
}

function applyValue(plan: ValuePlan | undefined, v: unknown, path: string, ctx: PgvContext): void {
  if (!plan || (plan.ignoreEmpty && isEmpty(v))) return;
  for (const check of plan.checks) {
    const problem = check.test(v, ctx);
    if (problem !== undefined) report(ctx, path, check.rule, problem);
  }
}

function isEmpty(v: unknown): boolean {
  return v === "" || v === 0 || v === 0n || v === false || v === undefined || (v instanceof Uint8Array && v.length === 0);
}

function checkUnique(items: readonly unknown[], path: string, ctx: PgvContext): void {
  const seen = new Map<string, number>();
  items.forEach((item, i) => {
    const key = item instanceof Uint8Array ? `b:${Buffer.from(item).toString("hex")}` : `${typeof item}:${String(item)}`;
    const first = seen.get(key);
    if (first !== undefined) report(ctx, indexPath(path, i), "repeated.unique", `repeated value must contain unique items; this one repeats item ${first}`);
    else seen.set(key, i);
  });
}
