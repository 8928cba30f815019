import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { CidrRangeSchema } from "@waystation/proto/envoy/config/core/v3/address_pb.js";
import { RBACSchema, RBAC_Action } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import { HeaderMatcherSchema } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import { MetadataMatcherSchema } from "@waystation/proto/envoy/type/matcher/v3/metadata_pb.js";
import { StringMatcherSchema } from "@waystation/proto/envoy/type/matcher/v3/string_pb.js";
import { metadata, regex, stringValue, exact } from "../matchers.js";
import { rbacAllows } from "./evaluate.js";
import { inCidr, matchHeader, matchMetadata, matchString } from "./match.js";

describe("test evaluator of Envoy matchers", () => {
  it("matches safe_regex against the whole value, with RE2 flags", () => {
    assert.equal(matchString(create(StringMatcherSchema, regex("ab")), "xaby"), false);
    assert.equal(matchString(create(StringMatcherSchema, regex("(?i)ab(:[0-9]+)?")), "AB:80"), true);
    assert.equal(matchString(create(StringMatcherSchema, exact("Ab", true)), "aB"), true);
  });

  it("compares CIDR ranges per address family", () => {
    const r = (addressPrefix: string, prefixLen: number) => create(CidrRangeSchema, { addressPrefix, prefixLen });
    assert.equal(inCidr(r("fd00::", 8), "fd12:3::1"), true);
    assert.equal(inCidr(r("fd00::", 16), "fd12:3::1"), false);
    assert.equal(inCidr(r("10.0.0.0", 8), "::ffff:10.0.0.1"), false);
    assert.equal(inCidr(r("0.0.0.0", 0), "192.0.2.1"), true);
  });

  it("fails a header matcher on an absent header unless inverted or present_match false", () => {
    const get = () => undefined;
    assert.equal(matchHeader(create(HeaderMatcherSchema, { name: "x", headerMatchSpecifier: { case: "exactMatch", value: "" } }), get), false);
    assert.equal(matchHeader(create(HeaderMatcherSchema, { name: "x", headerMatchSpecifier: { case: "exactMatch", value: "" }, invertMatch: true }), get), true);
    assert.equal(matchHeader(create(HeaderMatcherSchema, { name: "x", headerMatchSpecifier: { case: "presentMatch", value: false } }), get), true);
  });

  it("walks metadata paths; a missing path or a non-string value does not match a string", () => {
    const m = create(MetadataMatcherSchema, metadata("f", ["a", "b"], stringValue(exact("v"))));
    assert.equal(matchMetadata(m, { f: { a: { b: "v" } } }), true);
    assert.equal(matchMetadata(m, { f: { a: { b: ["v"] } } }), false);
    assert.equal(matchMetadata(m, { f: { a: "v" } }), false);
    assert.equal(matchMetadata(create(MetadataMatcherSchema, { ...metadata("f", ["a"], stringValue(exact("v"))), invert: true }), {}), true);
  });

  it("evaluates RBAC actions: ALLOW needs a match, DENY a miss, LOG always allows", () => {
    const policies = { p: { permissions: [{ rule: { case: "destinationPort" as const, value: 80 } }], principals: [{ identifier: { case: "any" as const, value: true } }] } };
    const req = { sourceIp: "10.0.0.1", destinationPort: 80 };
    assert.equal(rbacAllows(create(RBACSchema, { action: RBAC_Action.ALLOW, policies }), req), true);
    assert.equal(rbacAllows(create(RBACSchema, { action: RBAC_Action.DENY, policies }), req), false);
    assert.equal(rbacAllows(create(RBACSchema, { action: RBAC_Action.LOG, policies }), req), true);
    assert.equal(rbacAllows(create(RBACSchema, { action: RBAC_Action.ALLOW, policies: {} }), req), false);
  });
});
