/**
 * google.protobuf well-known types: their proto3 JSON forms (checked by json.ts) and the
 * conversions the PGV duration / timestamp rules need (pgv.ts).
 *
 * proto3 JSON (https://protobuf.dev/programming-guides/json/): Duration is a string of seconds
 * with up to nine fractional digits and an `s` suffix ("1.5s", "-0.001s"); Timestamp is RFC 3339
 * with a `Z` or an offset; wrappers are their bare value; Struct is any JSON object, Value any JSON
 * value, ListValue any array; FieldMask a string of comma-separated lowerCamel paths; Any is an
 * object with `@type` (and a `value` key when the payload itself has a special JSON form).
 */
import type { DescMessage } from "@bufbuild/protobuf";
import type { Duration, Timestamp } from "@bufbuild/protobuf/wkt";
import { describeJson } from "./errors.js";

/** Limits from duration.proto and timestamp.proto. */
const maxDurationSeconds = 315_576_000_000n;
const minTimestampSeconds = -62_135_596_800n; // 0001-01-01T00:00:00Z
const maxTimestampSeconds = 253_402_300_799n; // 9999-12-31T23:59:59Z
const billion = 1_000_000_000n;

/** Well-known message types whose JSON is not a plain object of fields. */
export const specialJson: ReadonlySet<string> = new Set([
  "google.protobuf.Any", "google.protobuf.Duration", "google.protobuf.Timestamp",
  "google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue",
  "google.protobuf.FieldMask",
  "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
]);

/** True for the wrapper types (google.protobuf.UInt32Value ...). */
export function isWrapperType(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.") && desc.typeName.endsWith("Value")
    && desc.typeName !== "google.protobuf.Value" && desc.typeName !== "google.protobuf.ListValue";
}

/**
 * Checks the JSON of a well-known type with a special form. Returns a problem description, or
 * undefined if the value is fine. Any and the wrappers are handled by json.ts (they recurse).
 */
export function checkWellKnownJson(typeName: string, json: unknown): string | undefined {
  switch (typeName) {
    case "google.protobuf.Duration":
      if (typeof json !== "string" || parseDurationJson(json) === undefined) {
        return `expected a duration string such as "1.5s" or "0.250s" (seconds, up to 9 decimals, "s" suffix, at most ±${maxDurationSeconds}s), got ${describeJson(json)}`;
      }
      return undefined;
    case "google.protobuf.Timestamp":
      if (typeof json !== "string" || parseTimestampJson(json) === undefined) {
        return `expected an RFC 3339 timestamp such as "2024-05-01T12:00:00Z", got ${describeJson(json)}`;
      }
      return undefined;
    case "google.protobuf.Struct":
      return isObject(json) ? undefined : `expected a JSON object (google.protobuf.Struct), got ${describeJson(json)}`;
    case "google.protobuf.ListValue":
      return Array.isArray(json) ? undefined : `expected a JSON array (google.protobuf.ListValue), got ${describeJson(json)}`;
    case "google.protobuf.Value":
      return undefined;
    case "google.protobuf.FieldMask":
      if (typeof json !== "string" || !/^$|^[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)*(,[a-z][a-zA-Z0-9]*(\.[a-z][a-zA-Z0-9]*)*)*$/.test(json)) {
        return `expected a field mask string of comma-separated lowerCamel paths such as "a.b,c", got ${describeJson(json)}`;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Parses "1.5s" to nanoseconds; undefined if malformed or out of range. */
export function parseDurationJson(s: string): bigint | undefined {
  const m = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/.exec(s);
  if (!m) return undefined;
  const seconds = BigInt(m[2] ?? "0");
  if (seconds > maxDurationSeconds) return undefined;
  const nanos = BigInt((m[3] ?? "").padEnd(9, "0"));
  const total = seconds * billion + nanos;
  return m[1] ? -total : total;
}

/** Parses an RFC 3339 timestamp to nanoseconds since the epoch; undefined if invalid. */
export function parseTimestampJson(s: string): bigint | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  if (year === undefined || month === undefined || day === undefined) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if ((hour ?? 99) > 23 || (minute ?? 99) > 59 || (second ?? 99) > 59) return undefined;
  let seconds = BigInt(daysFromCivil(year, month, day)) * 86_400n
    + BigInt((hour ?? 0) * 3600 + (minute ?? 0) * 60 + (second ?? 0));
  if (!m[8]) {
    const offset = Number(m[10]) * 3600 + Number(m[11]) * 60;
    if (Number(m[10]) > 23 || Number(m[11]) > 59) return undefined;
    seconds -= BigInt(m[9] === "-" ? -offset : offset);
  }
  if (seconds < minTimestampSeconds || seconds > maxTimestampSeconds) return undefined;
  return seconds * billion + BigInt((m[7] ?? "").padEnd(9, "0"));
}

/** A Duration message as nanoseconds. */
export function durationNanos(d: Duration): bigint {
  return BigInt(d.seconds) * billion + BigInt(d.nanos);
}

/** A Timestamp message as nanoseconds since the epoch. */
export function timestampNanos(t: Timestamp): bigint {
  return BigInt(t.seconds) * billion + BigInt(t.nanos);
}

/** Nanoseconds as a proto3 JSON duration ("1.5s"). */
export function formatDuration(nanos: bigint): string {
  const sign = nanos < 0n ? "-" : "";
  const abs = nanos < 0n ? -nanos : nanos;
  const frac = (abs % billion).toString().padStart(9, "0").replace(/0+$/, "");
  return `${sign}${abs / billion}${frac ? `.${frac}` : ""}s`;
}

/** Nanoseconds since the epoch as an RFC 3339 timestamp. */
export function formatTimestamp(nanos: bigint): string {
  const seconds = nanos / billion - (nanos < 0n && nanos % billion !== 0n ? 1n : 0n);
  const frac = (nanos - seconds * billion).toString().padStart(9, "0").replace(/0+$/, "");
  const iso = new Date(Number(seconds) * 1000).toISOString().replace(/\.000Z$/, "");
  return `${iso}${frac ? `.${frac}` : ""}Z`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
