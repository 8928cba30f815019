import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fromJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";
import { AnySchema, DoubleValueSchema, FieldMaskSchema, Int64ValueSchema, StructSchema, TimestampSchema, UInt64ValueSchema, ValueSchema } from "@bufbuild/protobuf/wkt";
import { ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import type { ValidationError } from "./errors.js";
import { checkMessageJson } from "./json.js";
import { registry } from "./registry.js";

/** Errors as "path: message" (the root path is empty). */
function check(desc: DescMessage, json: unknown): string[] {
  const errs: ValidationError[] = [];
  checkMessageJson(desc, json, "", errs);
  return errs.map((e) => `${e.path}: ${e.message}`);
}

describe("strict JSON: accepted forms agree with protobuf-es fromJson", () => {
  const ok: [string, DescMessage, unknown][] = [
    ["Struct field with any JSON inside", ClusterSchema, { name: "c", metadata: { filter_metadata: { istio: { a: [1, { b: null }], c: "d" } } } }],
    ["null means not set", ClusterSchema, { name: "c", connect_timeout: null, lb_policy: null }],
    ["open enum by number", ClusterSchema, { name: "c", lb_policy: 1 }],
    ["uint32 as a string of digits", ClusterSchema, { name: "c", per_connection_buffer_limit_bytes: "32768" }],
    ["Value accepts anything", ValueSchema, [1, "a", null, { b: true }]],
    ["Value accepts null", ValueSchema, null],
    ["Struct", StructSchema, { a: { b: [null] } }],
    ["Timestamp with offset and nanos", TimestampSchema, "2024-02-29T23:59:59.123456789+01:00"],
    ["FieldMask", FieldMaskSchema, "a.bC,d"],
    ["empty FieldMask", FieldMaskSchema, ""],
    ["int64 wrapper as string", Int64ValueSchema, "-9223372036854775808"],
    ["uint64 wrapper as number", UInt64ValueSchema, 42],
    ["double NaN", DoubleValueSchema, "NaN"],
    ["double as a numeric string", DoubleValueSchema, "1e3"],
    ["Any holding a Duration", AnySchema, { "@type": "type.googleapis.com/google.protobuf.Duration", value: "1.5s" }],
    ["Any holding a Struct", AnySchema, { "@type": "type.googleapis.com/google.protobuf.Struct", value: { a: 1 } }],
  ];
  for (const [name, desc, json] of ok) {
    it(name, () => {
      assert.deepEqual(check(desc, json), []);
      assert.doesNotThrow(() => fromJson(desc, json as JsonValue, { registry }));
    });
  }
});

describe("strict JSON: rejected forms", () => {
  const bad: [string, DescMessage, unknown, string][] = [
    ["Struct field given a string", ClusterSchema, { name: "c", metadata: { filter_metadata: { istio: "x" } } },
      'metadata.filter_metadata["istio"]: expected a JSON object (google.protobuf.Struct), got "x"'],
    ["map given an array", ClusterSchema, { name: "c", metadata: { filter_metadata: [] } }, "metadata.filter_metadata: expected an object (a map), got an array"],
    ["null as a map value", ClusterSchema, { name: "c", metadata: { filter_metadata: { a: null } } }, 'metadata.filter_metadata["a"]: null is not allowed as a map value'],
    ["fractional integer", ClusterSchema, { name: "c", per_connection_buffer_limit_bytes: 1.5 }, "per_connection_buffer_limit_bytes: expected an integer (uint32, 0 to 4294967295), got 1.5"],
    ["negative uint64", UInt64ValueSchema, "-1", ': "-1" is out of range: expected an integer (uint64, 0 to 18446744073709551615)'],
    ["int64 beyond range", Int64ValueSchema, "9223372036854775808", ': "9223372036854775808" is out of range: expected an integer (int64, -9223372036854775808 to 9223372036854775807)'],
    ["unsafe JSON number", Int64ValueSchema, 2 ** 53 + 2, ": 9007199254740994 cannot be represented exactly as a JSON number; write it as a string"],
    ["int64 with letters", Int64ValueSchema, "12a", ': expected an integer (int64, -9223372036854775808 to 9223372036854775807), got "12a"'],
    ["double from a word", DoubleValueSchema, "abc", ': expected a number (double), got "abc"'],
    ["Timestamp on Feb 30", TimestampSchema, "2024-02-30T00:00:00Z", ': expected an RFC 3339 timestamp such as "2024-05-01T12:00:00Z", got "2024-02-30T00:00:00Z"'],
    ["Timestamp without zone", TimestampSchema, "2024-02-01T00:00:00", ': expected an RFC 3339 timestamp such as "2024-05-01T12:00:00Z", got "2024-02-01T00:00:00"'],
    ["Duration with ten decimals", AnySchema, { "@type": "type.googleapis.com/google.protobuf.Duration", value: "1.0000000001s" },
      'value: expected a duration string such as "1.5s" or "0.250s" (seconds, up to 9 decimals, "s" suffix, at most ±315576000000s), got "1.0000000001s"'],
    ["Any of a WKT with a stray key", AnySchema, { "@type": "type.googleapis.com/google.protobuf.Duration", seconds: 1 },
      'seconds: unknown field (an Any holding google.protobuf.Duration has only "@type" and "value")'],
    ["type URL without a slash", AnySchema, { "@type": "google.protobuf.Duration", value: "1s" },
      ': "@type" "google.protobuf.Duration" is not a type URL; write "type.googleapis.com/google.protobuf.Duration"'],
    ["@type not a string", AnySchema, { "@type": 1 }, ': "@type" must be a type URL string, got 1'],
    ["FieldMask in snake_case", FieldMaskSchema, "a_b", ': expected a field mask string of comma-separated lowerCamel paths such as "a.b,c", got "a_b"'],
  ];
  for (const [name, desc, json, expected] of bad) {
    it(name, () => {
      assert.deepEqual(check(desc, json), [expected]);
    });
  }
});
