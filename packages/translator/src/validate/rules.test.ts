// PGV rule semantics on a synthetic message, built at runtime with the rules Envoy's own protos
// rarely or never use (string formats, numeric in/not_in, ranges outside, bytes, maps, timestamps,
// message skip, disabled messages, required oneofs).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, createFileRegistry, fromJson, setExtension, type DescFile, type JsonValue, type Message, type MessageInitShape } from "@bufbuild/protobuf";
import {
  FieldDescriptorProto_Label as Label, FieldDescriptorProto_Type as Type, FieldOptionsSchema, FileDescriptorProtoSchema,
  MessageOptionsSchema, OneofOptionsSchema, file_google_protobuf_any, file_google_protobuf_duration,
  file_google_protobuf_timestamp, file_google_protobuf_wrappers, FieldDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { FieldRulesSchema, StringRulesSchema, disabled, file_validate_validate, required, rules } from "@waystation/proto/validate/validate_pb.js";
import { formatValidationError, registry, validateResource } from "./index.js";

type Rules = MessageInitShape<typeof FieldRulesSchema>;

let number = 0;
type FieldInit = MessageInitShape<typeof FieldDescriptorProtoSchema>;

function field(name: string, type: Type, r?: Rules, extra: FieldInit = {}): FieldInit {
  const options = create(FieldOptionsSchema);
  if (r) setExtension(options, rules, create(FieldRulesSchema, r));
  return { name, jsonName: name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), number: ++number, type, label: Label.OPTIONAL, options, ...extra };
}

const str = (name: string, value: MessageInitShape<typeof StringRulesSchema>): FieldInit =>
  field(name, Type.STRING, { type: { case: "string", value } });

const disabledOptions = create(MessageOptionsSchema);
setExtension(disabledOptions, disabled, true);
const requiredOneof = create(OneofOptionsSchema);
setExtension(requiredOneof, required, true);

const fileProto = create(FileDescriptorProtoSchema, {
  name: "waystation/test/rules.proto",
  package: "waystation.test",
  syntax: "proto3",
  dependency: ["validate/validate.proto", "google/protobuf/any.proto", "google/protobuf/duration.proto", "google/protobuf/timestamp.proto", "google/protobuf/wrappers.proto"],
  messageType: [
    {
      name: "Sample",
      field: [
        str("hostname", { wellKnown: { case: "hostname", value: true } }),
        str("ip", { wellKnown: { case: "ip", value: true } }),
        str("ipv4", { wellKnown: { case: "ipv4", value: true } }),
        str("ipv6", { wellKnown: { case: "ipv6", value: true } }),
        str("address", { wellKnown: { case: "address", value: true } }),
        str("email", { wellKnown: { case: "email", value: true } }),
        str("uri", { wellKnown: { case: "uri", value: true } }),
        str("uri_ref", { wellKnown: { case: "uriRef", value: true } }),
        str("uuid", { wellKnown: { case: "uuid", value: true } }),
        str("pattern", { pattern: "^[a-z]+(-[a-z]+)*$" }),
        str("affix", { prefix: "a", suffix: "z", contains: "m", notContains: "x" }),
        str("choice", { in: ["red", "green"] }),
        str("not_choice", { notIn: ["admin"] }),
        str("exact_len", { len: 3n }),
        str("bytes_len", { minBytes: 2n, maxBytes: 4n }),
        str("optional_code", { minLen: 3n, ignoreEmpty: true }),
        str("const_str", { const: "v3" }),
        field("outside", Type.INT32, { type: { case: "int32", value: { lt: 0, gt: 10 } } }),
        field("big", Type.INT64, { type: { case: "int64", value: { in: [1n, 2n, 3n] } } }),
        field("nonzero", Type.UINT64, { type: { case: "uint64", value: { notIn: [0n] } } }),
        field("five", Type.SINT32, { type: { case: "sint32", value: { const: 5 } } }),
        field("open", Type.FIXED32, { type: { case: "fixed32", value: { gt: 5, lt: 10 } } }),
        field("ratio", Type.DOUBLE, { type: { case: "double", value: { gt: 0, lt: 1 } } }),
        field("must", Type.BOOL, { type: { case: "bool", value: { const: true } } }),
        field("raw", Type.BYTES, { type: { case: "bytes", value: { minLen: 2n, prefix: new Uint8Array([0xca]) } } }),
        field("ip_bytes", Type.BYTES, { type: { case: "bytes", value: { wellKnown: { case: "ipv4", value: true } } } }),
        field("regex", Type.ENUM, { type: { case: "enum", value: { definedOnly: true, in: [1, 2] } } }, { typeName: ".validate.KnownRegex" }),
        field("tags", Type.STRING, { type: { case: "repeated", value: { minItems: 1n, maxItems: 2n, unique: true, items: { type: { case: "string", value: { minLen: 2n } } } } } }, { label: Label.REPEATED }),
        field("counts", Type.MESSAGE, { type: { case: "map", value: { minPairs: 1n, maxPairs: 2n, keys: { type: { case: "string", value: { minLen: 2n } } }, values: { type: { case: "int32", value: { gte: 0 } } } } } }, { label: Label.REPEATED, typeName: ".waystation.test.Sample.CountsEntry" }),
        field("window", Type.MESSAGE, { type: { case: "duration", value: { required: true, gt: {}, lte: { seconds: 1n } } } }, { typeName: ".google.protobuf.Duration" }),
        field("when", Type.MESSAGE, { type: { case: "timestamp", value: { gt: { seconds: 1577836800n }, ltNow: true } } }, { typeName: ".google.protobuf.Timestamp" }),
        field("config", Type.MESSAGE, { type: { case: "any", value: { in: ["type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"] } } }, { typeName: ".google.protobuf.Any" }),
        field("limit", Type.MESSAGE, { type: { case: "uint32", value: { lte: 10 } } }, { typeName: ".google.protobuf.UInt32Value" }),
        field("skipped", Type.MESSAGE, { message: { skip: true } }, { typeName: ".waystation.test.Inner" }),
        field("inner", Type.MESSAGE, undefined, { typeName: ".waystation.test.Inner" }),
        field("off", Type.MESSAGE, undefined, { typeName: ".waystation.test.Disabled" }),
        field("left", Type.STRING, undefined, { oneofIndex: 0 }),
        field("right", Type.STRING, { type: { case: "string", value: { minLen: 2n } } }, { oneofIndex: 0 }),
      ],
      oneofDecl: [{ name: "side", options: requiredOneof }],
      nestedType: [{
        name: "CountsEntry",
        options: { mapEntry: true },
        field: [{ name: "key", jsonName: "key", number: 1, type: Type.STRING, label: Label.OPTIONAL }, { name: "value", jsonName: "value", number: 2, type: Type.INT32, label: Label.OPTIONAL }],
      }],
    },
    { name: "Inner", field: [str("name", { minLen: 1n })] },
    { name: "Disabled", options: disabledOptions, field: [str("name", { minLen: 1n })] },
  ],
});

const deps: Record<string, DescFile> = {
  "validate/validate.proto": file_validate_validate,
  "google/protobuf/any.proto": file_google_protobuf_any,
  "google/protobuf/duration.proto": file_google_protobuf_duration,
  "google/protobuf/timestamp.proto": file_google_protobuf_timestamp,
  "google/protobuf/wrappers.proto": file_google_protobuf_wrappers,
};
const Sample = createFileRegistry(fileProto, (name) => deps[name]).getMessage("waystation.test.Sample");
assert.ok(Sample);

/** A Sample that satisfies every rule. */
function good(): Record<string, unknown> {
  return {
    hostname: "reviews.default.svc.cluster.local", ip: "fd00::1", ipv4: "10.0.0.1", ipv6: "::ffff:10.0.0.1", address: "example.com",
    email: "ops@example.com", uri: "https://example.com/a?b=c#d", uri_ref: "/a/b?c", uuid: "123e4567-e89b-12d3-a456-426614174000",
    pattern: "ab-cd", affix: "amz", choice: "red", not_choice: "user", exact_len: "abc", bytes_len: "é", optional_code: "",
    const_str: "v3", outside: -1, big: "2", nonzero: 7, five: 5, open: 6, ratio: 0.5, must: true, raw: "yv4=", ip_bytes: "CgAAAQ==",
    regex: "HTTP_HEADER_NAME", tags: ["ab"], counts: { ok: 1 }, window: "0.5s", when: "2024-01-01T00:00:00Z",
    config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }, limit: 10,
    skipped: { name: "" }, inner: { name: "x" }, off: { name: "" }, left: "",
  };
}

const now = new Date("2025-01-01T00:00:00Z");

describe("PGV rules on a synthetic message", () => {
  it("accepts a message that satisfies every rule", () => {
    assert.deepEqual(validateResource(Sample, good(), { now }).errors.map(formatValidationError), []);
  });

  const cases: [string, Record<string, unknown>, string][] = [
    ["hostname", { hostname: "-bad-.example" }, "hostname: value must be a valid hostname"],
    ["ip", { ip: "10.0.0.256" }, "ip: value must be a valid IP address"],
    ["ipv4 rejects v6", { ipv4: "::1" }, "ipv4: value must be a valid IPv4 address"],
    ["ipv6 rejects two ::", { ipv6: "1::2::3" }, "ipv6: value must be a valid IPv6 address"],
    ["address", { address: "under_score.example" }, "address: value must be a valid hostname or IP address"],
    ["email", { email: "ops.example.com" }, "email: value must be a valid email address"],
    ["uri must be absolute", { uri: "/relative" }, "uri: value must be an absolute URI"],
    ["uri_ref rejects spaces", { uri_ref: "/a b" }, "uri_ref: value must be a valid URI reference"],
    ["uuid", { uuid: "123e4567e89b12d3a456426614174000" }, "uuid: value must be a valid UUID"],
    ["pattern", { pattern: "Ab" }, 'pattern: value does not match regex pattern "^[a-z]+(-[a-z]+)*$"'],
    ["prefix", { affix: "mz" }, 'affix: value does not have prefix "a"'],
    ["not_contains", { affix: "amxz" }, 'affix: value contains substring "x"'],
    ["string in", { choice: "blue" }, 'choice: value must be one of ["red", "green"] (got "blue")'],
    ["string not_in", { not_choice: "admin" }, 'not_choice: value must not be one of ["admin"]'],
    ["len counts characters, not bytes", { exact_len: "ééé é" }, "exact_len: value length must be 3 characters"],
    ["max_bytes counts UTF-8 bytes", { bytes_len: "ééé" }, "bytes_len: value length must be at most 4 bytes"],
    ["ignore_empty still checks a non-empty value", { optional_code: "ab" }, "optional_code: value length must be at least 3 characters"],
    ["string const", { const_str: "v2" }, 'const_str: value must equal "v3"'],
    ["numeric range outside", { outside: 5 }, "outside: value must be outside range [0, 10] (got 5)"],
    ["int64 in", { big: "4" }, "big: value must be one of [1, 2, 3] (got 4)"],
    ["uint64 not_in", { nonzero: 0 }, "nonzero: value must not be one of [0]"],
    ["sint32 const", { five: 4 }, "five: value must equal 5 (got 4)"],
    ["exclusive range", { open: 10 }, "open: value must be inside range (5, 10) (got 10)"],
    ["double range", { ratio: 1 }, "ratio: value must be inside range (0, 1) (got 1)"],
    ["bool const", { must: false }, "must: value must equal true"],
    ["bytes min_len", { raw: "yg==" }, "raw: value length must be at least 2 bytes"],
    ["bytes prefix", { raw: "AAAA" }, "raw: value does not have prefix ca"],
    ["bytes ipv4", { ip_bytes: "AAE=" }, "ip_bytes: value must be a valid IPv4 address (4 bytes)"],
    ["enum in", { regex: "UNKNOWN" }, "regex: value must be one of [HTTP_HEADER_NAME, HTTP_HEADER_VALUE] (got UNKNOWN)"],
    ["closed enum number (decoding)", { regex: 7 }, "regex: 7 is not a value of the closed enum validate.KnownRegex (UNKNOWN=0, HTTP_HEADER_NAME=1, HTTP_HEADER_VALUE=2)"],
    ["repeated min_items", { tags: [] }, "tags: value must contain at least 1 item(s) (has 0)"],
    ["repeated max_items", { tags: ["ab", "cd", "ef"] }, "tags: value must contain at most 2 item(s) (has 3)"],
    ["repeated items", { tags: ["a"] }, "tags[0]: value length must be at least 2 characters"],
    ["repeated unique", { tags: ["ab", "ab"] }, "tags[1]: repeated value must contain unique items; this one repeats item 0"],
    ["map min_pairs", { counts: {} }, "counts: value must contain at least 1 pair(s) (has 0)"],
    ["map max_pairs", { counts: { aa: 1, bb: 2, cc: 3 } }, "counts: value must contain at most 2 pair(s) (has 3)"],
    ["map keys", { counts: { a: 1 } }, 'counts["a"]: value length must be at least 2 characters'],
    ["map values", { counts: { ab: -1 } }, 'counts["ab"]: value must be greater than or equal to 0 (got -1)'],
    ["duration required", { window: null }, "window: value is required"],
    ["duration range", { window: "1.000000001s" }, "window: value must be inside range (0s, 1s] (got 1.000000001s)"],
    ["timestamp gt", { when: "2019-12-31T23:59:59.5Z" }, "when: value must be greater than 2020-01-01T00:00:00Z (got 2019-12-31T23:59:59.5Z)"],
    ["timestamp lt_now", { when: "2030-01-01T00:00:00+02:00" }, "when: value must be in the past"],
    ["any in", { config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC" } },
      "config: type URL must be one of [type.googleapis.com/envoy.extensions.filters.http.router.v3.Router] (got type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC)"],
    ["wrapper", { limit: 11 }, "limit: value must be less than or equal to 10 (got 11)"],
    ["nested message", { inner: { name: "" } }, "inner.name: value length must be at least 1 characters"],
    ["required oneof", { left: undefined }, "<resource>: exactly one of left, right must be set (oneof side is required)"],
    ["rules on the chosen oneof member", { left: undefined, right: "r" }, "right: value length must be at least 2 characters"],
  ];
  for (const [name, change, expected] of cases) {
    it(name, () => {
      const input = { ...good(), ...change };
      for (const [k, v] of Object.entries(change)) if (v === undefined) delete input[k];
      assert.deepEqual(validateResource(Sample, input, { now }).errors.map(formatValidationError), [expected]);
    });
  }

  it("enum defined_only (on a message holding an undefined number)", () => {
    const msg = fromJson(Sample, good() as JsonValue, { registry }) as Message & { regex: number };
    msg.regex = 7;
    assert.deepEqual(validateResource(Sample, msg, { now }).errors.map(formatValidationError),
      ["regex: value 7 is not a defined value of validate.KnownRegex (UNKNOWN, HTTP_HEADER_NAME, HTTP_HEADER_VALUE)",
        "regex: value must be one of [HTTP_HEADER_NAME, HTTP_HEADER_VALUE] (got 7)"]);
  });

  it("skips lt_now without a clock", () => {
    assert.deepEqual(validateResource(Sample, { ...good(), when: "2030-01-01T00:00:00Z" }).errors, []);
  });
});
