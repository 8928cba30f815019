/**
 * Small builders over TypeBox so every kind's schema reads alike: objects are closed
 * (additionalProperties: false) unless said otherwise, and value checks that JSON Schema cannot
 * express (durations, CIDRs, RE2 regexes ...) are attached with the `x-check` keyword, which
 * validate.ts implements (see checks.ts).
 */
import { Type, type TProperties, type TSchema, type SchemaOptions } from "@sinclair/typebox";
import type { CheckName } from "./checks.js";

export { Type, type Static, type TSchema } from "@sinclair/typebox";

/** A closed object: unknown fields are errors. */
export function obj<P extends TProperties>(props: P, opts: SchemaOptions = {}) {
  return Type.Object(props, { additionalProperties: false, ...opts });
}

/** An open object: fields we do not interpret (e.g. a Pod's containers) pass through. */
export function openObj<P extends TProperties>(props: P, opts: SchemaOptions = {}) {
  return Type.Object(props, { additionalProperties: true, ...opts });
}

export const opt = Type.Optional;
export const bool = () => Type.Boolean();
export const str = (opts: SchemaOptions = {}) => Type.String(opts);
export const nonEmpty = () => Type.String({ minLength: 1 });
export const list = <T extends TSchema>(item: T, opts: SchemaOptions = {}) => Type.Array(item, opts);
export const strings = () => Type.Array(Type.String());
export const stringMap = () => Type.Record(Type.String(), Type.String());
export const anyValue = () => Type.Unknown();
export const oneOfStrings = <const V extends string[]>(...values: V) => Type.Union(values.map((v) => Type.Literal(v))) as ReturnType<typeof Type.Union<{ [K in keyof V]: ReturnType<typeof Type.Literal<V[K]>> }>>;

export const int32 = () => Type.Integer({ minimum: -2147483648, maximum: 2147483647 });
export const uint32 = () => Type.Integer({ minimum: 0, maximum: 4294967295 });
export const int64 = () => Type.Integer();
export const port = () => Type.Integer({ minimum: 1, maximum: 65535, "x-msg": "must be a port number from 1 to 65535" });
export const percent = () => Type.Number({ minimum: 0, maximum: 100, "x-msg": "must be a percentage from 0 to 100" });
/** Kubernetes IntOrString, e.g. a Service targetPort. */
export const intOrString = () => Type.Union([Type.Integer(), Type.String()]);

/** A string checked by one of the named checks in checks.ts. */
export function checked(check: CheckName, opts: SchemaOptions = {}) {
  return Type.String({ ...opts, "x-check": check });
}

export const duration = () => checked("duration");
export const cidr = () => checked("cidr");
export const ipAddress = () => checked("ip");
export const re2 = () => checked("re2");
