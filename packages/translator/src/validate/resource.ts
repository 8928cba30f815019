/** Stages 1 and 2 for one resource, shared by validateResource and validateSnapshot (index.ts). */
import { fromJson, isMessage, type DescMessage, type JsonValue, type Message } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import type { ValidationError } from "./errors.js";
import { checkMessageJson } from "./json.js";
import { checkRules, type PgvContext } from "./pgv.js";
import { registry, type Unpacked } from "./registry.js";

/** Options for both entry points. */
export interface ValidateOptions {
  /** The current time, for the timestamp rules lt_now / gt_now / within; they are skipped without it. */
  readonly now?: Date;
}

/** Decodes (if JSON) and rule-checks one resource at `path`; errors go to `ctx.errors`. */
export function decodeAndCheck(desc: DescMessage, input: unknown, path: string, ctx: PgvContext): Message | undefined {
  let message: Message;
  if (isMessage(input)) {
    if (!isMessage(input, desc)) {
      ctx.errors.push({ stage: "decode", path, rule: "wrong_type", message: `expected a ${desc.typeName} message, got ${(input as Message).$typeName}` });
      return undefined;
    }
    message = input;
  } else {
    const before = ctx.errors.length;
    checkMessageJson(desc, input, path, ctx.errors);
    if (ctx.errors.length > before) return undefined;
    try {
      message = fromJson(desc, input as JsonValue, { registry });
    } catch (e) {
      ctx.errors.push({ stage: "decode", path, rule: "decode", message: `the protobuf decoder rejected the resource: ${e instanceof Error ? e.message : String(e)}` });
      return undefined;
    }
  }
  checkRules(desc, message, path, ctx);
  return message;
}

/** A fresh context for one validation run. */
export function newContext(errors: ValidationError[], options: ValidateOptions): PgvContext {
  const nowNanos = options.now ? BigInt(options.now.getTime()) * 1_000_000n : undefined;
  return { errors, anyCache: new Map<Any, Unpacked>(), ...(nowNanos === undefined ? {} : { nowNanos }) };
}
