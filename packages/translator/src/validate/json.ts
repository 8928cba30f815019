/**
 * Stage (a): strict proto3 JSON decoding, walked by hand against the message descriptors so that
 * every problem carries its field path. protobuf-es's own `fromJson` is just as strict but names
 * only the message type and key; index.ts still runs it afterwards as a double check.
 *
 * Accepted as Envoy accepts it: field names in proto (snake_case) or JSON (lowerCamel) spelling,
 * `null` for "not set", 64-bit integers as numbers or strings of digits, enums by name or number,
 * bytes as standard or URL-safe base64, and the well-known types in their proto3 JSON forms.
 */
import { ScalarType, type DescEnum, type DescField, type DescMessage, type DescOneof } from "@bufbuild/protobuf";
import { describeJson, fieldPath, indexPath, keyPath, suggest, type ValidationError } from "./errors.js";
import { messageForTypeUrl } from "./registry.js";
import { checkWellKnownJson, isWrapperType, specialJson } from "./wellKnown.js";

type Errors = ValidationError[];

/** Field lookup by proto name and JSON name, built once per message type. */
const fieldIndexCache = new WeakMap<DescMessage, Map<string, DescField>>();

function fieldIndex(desc: DescMessage): Map<string, DescField> {
  let index = fieldIndexCache.get(desc);
  if (!index) {
    index = new Map();
    for (const f of desc.fields) {
      index.set(f.name, f);
      index.set(f.jsonName, f);
    }
    fieldIndexCache.set(desc, index);
  }
  return index;
}

function fail(errs: Errors, path: string, rule: string, message: string): void {
  errs.push({ stage: "decode", path, rule, message });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks `json` as the JSON form of a message of type `desc`, appending problems to `errs`. */
export function checkMessageJson(desc: DescMessage, json: unknown, path: string, errs: Errors): void {
  if (specialJson.has(desc.typeName)) {
    checkSpecial(desc, json, path, errs);
    return;
  }
  if (!isObject(json)) {
    fail(errs, path, "wrong_type", `expected an object (${desc.typeName}), got ${describeJson(json)}`);
    return;
  }
  checkFields(desc, json, path, errs, false);
}

function checkFields(desc: DescMessage, json: Record<string, unknown>, path: string, errs: Errors, inAny: boolean): void {
  const index = fieldIndex(desc);
  let seen: Map<DescField, string> | undefined;
  let oneofs: Map<DescOneof, DescField> | undefined;
  for (const key of Object.keys(json)) {
    if (inAny && key === "@type") continue;
    const field = index.get(key);
    if (!field) {
      const hint = suggest(key, desc.fields.map((f) => f.name));
      fail(errs, fieldPath(path, key), "unknown_field",
        `unknown field (${desc.typeName} has no field "${key}"${hint ? `; did you mean "${hint}"?` : ""})`);
      continue;
    }
    const p = fieldPath(path, field.name);
    seen ??= new Map();
    const before = seen.get(field);
    if (before !== undefined) {
      fail(errs, p, "duplicate_field", `field is given twice, as "${before}" and as "${key}"`);
      continue;
    }
    seen.set(field, key);
    const value = json[key];
    if (value === null && !acceptsNull(field)) continue; // proto3 JSON: null means "not set"
    if (field.oneof) {
      oneofs ??= new Map();
      const other = oneofs.get(field.oneof);
      if (other) {
        fail(errs, p, "oneof",
          `"${other.name}" and "${field.name}" are both set, but they are alternatives (oneof ${field.oneof.name}); set only one`);
      } else {
        oneofs.set(field.oneof, field);
      }
    }
    checkField(field, value, p, errs);
  }
}

function acceptsNull(field: DescField): boolean {
  return (field.fieldKind === "message" && field.message.typeName === "google.protobuf.Value")
    || (field.fieldKind === "enum" && field.enum.typeName === "google.protobuf.NullValue");
}

function checkField(field: DescField, value: unknown, path: string, errs: Errors): void {
  switch (field.fieldKind) {
    case "scalar":
      checkScalarInto(field.scalar, value, path, errs);
      return;
    case "enum":
      checkEnum(field.enum, value, path, errs);
      return;
    case "message":
      checkMessageJson(field.message, value, path, errs);
      return;
    case "list": {
      if (!Array.isArray(value)) {
        fail(errs, path, "wrong_type", `expected an array, got ${describeJson(value)}`);
        return;
      }
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        const p = indexPath(path, i);
        if (item === null && !(field.listKind === "message" && field.message.typeName === "google.protobuf.Value")) {
          fail(errs, p, "wrong_type", "null is not allowed as a list item");
        } else if (field.listKind === "scalar") checkScalarInto(field.scalar, item, p, errs);
        else if (field.listKind === "enum") checkEnum(field.enum, item, p, errs);
        else checkMessageJson(field.message, item, p, errs);
      }
      return;
    }
    case "map": {
      if (!isObject(value)) {
        fail(errs, path, "wrong_type", `expected an object (a map), got ${describeJson(value)}`);
        return;
      }
      for (const [k, v] of Object.entries(value)) {
        const p = keyPath(path, k);
        const keyProblem = checkMapKey(field.mapKey, k);
        if (keyProblem) fail(errs, p, "wrong_type", keyProblem);
        if (v === null && !(field.mapKind === "message" && field.message.typeName === "google.protobuf.Value")) {
          fail(errs, p, "wrong_type", "null is not allowed as a map value");
        } else if (field.mapKind === "scalar") checkScalarInto(field.scalar, v, p, errs);
        else if (field.mapKind === "enum") checkEnum(field.enum, v, p, errs);
        else checkMessageJson(field.message, v, p, errs);
      }
      return;
    }
  }
}

function checkSpecial(desc: DescMessage, json: unknown, path: string, errs: Errors): void {
  if (desc.typeName === "google.protobuf.Any") {
    checkAny(json, path, errs);
    return;
  }
  if (isWrapperType(desc)) {
    const inner = desc.fields[0];
    if (inner?.fieldKind === "scalar") checkScalarInto(inner.scalar, json, path, errs);
    return;
  }
  const problem = checkWellKnownJson(desc.typeName, json);
  if (problem) fail(errs, path, "wrong_type", problem);
}

function checkAny(json: unknown, path: string, errs: Errors): void {
  if (!isObject(json)) {
    fail(errs, path, "wrong_type", `expected an object with "@type" (google.protobuf.Any), got ${describeJson(json)}`);
    return;
  }
  const typeUrl = json["@type"];
  if (typeUrl === undefined || typeUrl === "") {
    fail(errs, path, "any_type",
      `"@type" is missing: an Any must name its payload type, e.g. "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"`);
    return;
  }
  if (typeof typeUrl !== "string") {
    fail(errs, path, "any_type", `"@type" must be a type URL string, got ${describeJson(typeUrl)}`);
    return;
  }
  if (!typeUrl.includes("/")) {
    fail(errs, path, "any_type", `"@type" "${typeUrl}" is not a type URL; write "type.googleapis.com/${typeUrl}"`);
    return;
  }
  const desc = messageForTypeUrl(typeUrl);
  if (!desc) {
    fail(errs, path, "any_type",
      `unknown "@type" "${typeUrl}": the type is not in the registry (misspelt, or its .proto is missing from proto/roots.mjs)`);
    return;
  }
  if (specialJson.has(desc.typeName)) {
    // Well-known types with a special JSON form carry it under "value".
    for (const key of Object.keys(json)) {
      if (key !== "@type" && key !== "value") {
        fail(errs, fieldPath(path, key), "unknown_field", `unknown field (an Any holding ${desc.typeName} has only "@type" and "value")`);
      }
    }
    if (json["value"] !== undefined) checkMessageJson(desc, json["value"], fieldPath(path, "value"), errs);
    return;
  }
  checkFields(desc, json, path, errs, true);
}

const int32Range = [-2147483648n, 2147483647n] as const;
const uint32Range = [0n, 4294967295n] as const;
const int64Range = [-9223372036854775808n, 9223372036854775807n] as const;
const uint64Range = [0n, 18446744073709551615n] as const;
const maxFloat = 3.4028234663852886e38;

function checkScalarInto(type: ScalarType, value: unknown, path: string, errs: Errors): void {
  const problem = checkScalar(type, value);
  if (problem) fail(errs, path, "wrong_type", problem);
}

/** Returns a problem description if `value` is not valid proto3 JSON for the scalar type. */
export function checkScalar(type: ScalarType, value: unknown): string | undefined {
  switch (type) {
    case ScalarType.STRING:
      return typeof value === "string" ? undefined : `expected a string, got ${describeJson(value)}`;
    case ScalarType.BOOL:
      return typeof value === "boolean" ? undefined : `expected true or false, got ${describeJson(value)}`;
    case ScalarType.BYTES:
      return typeof value === "string" && isBase64(value) ? undefined
        : `expected bytes as a base64 string, got ${describeJson(value)}`;
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE: {
      const name = type === ScalarType.FLOAT ? "float" : "double";
      if (value === "NaN" || value === "Infinity" || value === "-Infinity") return undefined;
      const n = typeof value === "number" ? value
        : typeof value === "string" && value.trim() === value && value !== "" ? Number(value) : NaN;
      if (!Number.isFinite(n)) return `expected a number (${name}), got ${describeJson(value)}`;
      if (type === ScalarType.FLOAT && Math.abs(n) > maxFloat) return `${describeJson(value)} is out of range for a float`;
      return undefined;
    }
    case ScalarType.INT32: case ScalarType.SINT32: case ScalarType.SFIXED32:
      return checkInteger(value, "int32", int32Range);
    case ScalarType.UINT32: case ScalarType.FIXED32:
      return checkInteger(value, "uint32", uint32Range);
    case ScalarType.INT64: case ScalarType.SINT64: case ScalarType.SFIXED64:
      return checkInteger(value, "int64", int64Range);
    case ScalarType.UINT64: case ScalarType.FIXED64:
      return checkInteger(value, "uint64", uint64Range);
  }
}

function checkInteger(value: unknown, name: string, [min, max]: readonly [bigint, bigint]): string | undefined {
  let n: bigint | undefined;
  if (typeof value === "number" && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === "string" && /^-?\d+$/.test(value)) n = BigInt(value);
  const expected = `expected an integer (${name}, ${min} to ${max})`;
  if (n === undefined) return `${expected}, got ${describeJson(value)}`;
  if (n < min || n > max) return `${describeJson(value)} is out of range: ${expected}`;
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    return `${describeJson(value)} cannot be represented exactly as a JSON number; write it as a string`;
  }
  return undefined;
}

function isBase64(s: string): boolean {
  return /^[A-Za-z0-9+/_-]*={0,2}$/.test(s) && s.replace(/=+$/, "").length % 4 !== 1;
}

function checkMapKey(type: ScalarType, key: string): string | undefined {
  switch (type) {
    case ScalarType.STRING:
      return undefined;
    case ScalarType.BOOL:
      return key === "true" || key === "false" ? undefined : `map key must be "true" or "false", got ${JSON.stringify(key)}`;
    default: {
      const problem = checkScalar(type, key);
      return problem ? `map key: ${problem}` : undefined;
    }
  }
}

function checkEnum(desc: DescEnum, value: unknown, path: string, errs: Errors): void {
  if (desc.typeName === "google.protobuf.NullValue" && (value === null || value === "NULL_VALUE")) return;
  if (typeof value === "string") {
    if (desc.values.some((v) => v.name === value)) return;
    const names = desc.values.map((v) => v.name);
    const hint = suggest(value, names);
    const list = names.length <= 12 ? `; expected one of ${names.join(", ")}` : "";
    fail(errs, path, "enum", `unknown value ${JSON.stringify(value)} for enum ${desc.typeName}${hint ? ` (did you mean ${hint}?)` : ""}${list}`);
    return;
  }
  if (typeof value === "number" && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) {
    // proto2 enums are closed: a number outside the enum cannot be stored.
    if (!desc.open && !desc.value[value]) {
      fail(errs, path, "enum", `${value} is not a value of the closed enum ${desc.typeName} (${desc.values.map((v) => `${v.name}=${v.number}`).join(", ")})`);
    }
    return;
  }
  fail(errs, path, "wrong_type", `expected an enum value name (${desc.typeName}) or number, got ${describeJson(value)}`);
}
