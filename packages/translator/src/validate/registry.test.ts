import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { RouterSchema } from "@waystation/proto/envoy/extensions/filters/http/router/v3/router_pb.js";
import { messageForTypeUrl, registryFiles, typeUrlOf, unpackAny } from "./registry.js";

describe("type registry", () => {
  it("holds every root of proto/roots.mjs (keep registry.ts in step)", async () => {
    const url = new URL("../../../../proto/roots.mjs", import.meta.url).href;
    const { roots } = (await import(url)) as { roots: string[] };
    const have = new Set(registryFiles.map((f) => `${f.name}.proto`));
    assert.deepEqual(roots.filter((r) => !have.has(r)), []);
  });

  it("holds the well-known types and resolves type URLs", () => {
    for (const name of ["google.protobuf.Struct", "google.protobuf.Duration", "google.protobuf.UInt32Value", "google.protobuf.Empty", "xds.type.v3.TypedStruct"]) {
      assert.equal(messageForTypeUrl(`type.googleapis.com/${name}`)?.typeName, name);
    }
    assert.equal(messageForTypeUrl("envoy.config.listener.v3.Listener")?.typeName, "envoy.config.listener.v3.Listener");
    assert.equal(typeUrlOf(RouterSchema), "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router");
  });

  it("unpacks an Any, and says why it cannot", () => {
    const router = create(AnySchema, { typeUrl: typeUrlOf(RouterSchema), value: toBinary(RouterSchema, create(RouterSchema, { suppressEnvoyHeaders: true })) });
    assert.equal(unpackAny(router).desc?.typeName, RouterSchema.typeName);
    assert.match(unpackAny(create(AnySchema, { typeUrl: "type.googleapis.com/a.B" })).error ?? "", /^unknown type "type.googleapis.com\/a.B"/);
    assert.match(unpackAny(create(AnySchema, {})).error ?? "", /^type_url is empty/);
    assert.match(unpackAny(create(AnySchema, { typeUrl: typeUrlOf(RouterSchema), value: new Uint8Array([0xff]) })).error ?? "", /^the payload does not decode as envoy.extensions.filters.http.router.v3.Router/);
  });
});
