import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allKinds, type KindDef } from "@waystation/api";
import { enforcementRisk, enforcementTable, normalizePath } from "./table.js";

const kindName = (k: KindDef) => `${k.group}/${k.kind}`;

interface Schema { type?: string; properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; allOf?: Schema[]; oneOf?: Schema[]; patternProperties?: Record<string, Schema>; additionalProperties?: Schema | boolean }

/** The sub-schemas a field path reaches (through unions), or [] if it does not exist. */
function resolve(schema: Schema, segs: string[]): Schema[] {
  const alts = [schema, ...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])];
  if (segs.length === 0) return [schema];
  const [head, ...rest] = segs as [string, ...string[]];
  const list = head.endsWith("[]");
  const name = list ? head.slice(0, -2) : head;
  return alts.flatMap((s) => {
    const next = s.properties?.[name];
    if (!next) return [];
    const after = list ? [next, ...(next.anyOf ?? [])].flatMap((n) => (n.items ? [n.items] : [])) : [next];
    return after.flatMap((n) => resolve(n, rest));
  });
}

describe("double-enforcement table", () => {
  it("has entries for every kind Waystation loads, and only for those", () => {
    const loaded = allKinds.map(kindName);
    for (const k of loaded) assert.ok(enforcementTable.some((x) => x.kind === k), `no entry for ${k}`);
    for (const x of enforcementTable) assert.ok(loaded.includes(x.kind), `entry for unknown kind ${x.kind}`);
  });

  it("gives every entry a one-line reason and a well-formed path", () => {
    for (const x of enforcementTable) {
      const at = `${x.kind} ${x.path}${x.value ? `=${x.value}` : ""}`;
      assert.ok(x.reason.length >= 20 && x.reason.length <= 300, `${at}: reason length ${x.reason.length}`);
      assert.ok(!x.reason.includes("\n") && !x.reason.endsWith("."), `${at}: one line, no trailing period`);
      assert.match(x.path, /^(spec|metadata)(\.[a-zA-Z]+(\[\])?)*$/, at);
      assert.ok(["harmless", "potentially-harmful", "breaking"].includes(x.risk), at);
    }
  });

  it("has no duplicate entries", () => {
    const keys = enforcementTable.map((x) => `${x.kind} ${x.path} ${x.value ?? "*"}`);
    assert.deepEqual(keys.filter((k, i) => keys.indexOf(k) !== i), []);
  });

  it("names only fields that exist in the kinds' schemas", () => {
    const byName = new Map(allKinds.map((k) => [kindName(k), k]));
    for (const x of enforcementTable) {
      const def = byName.get(x.kind)!;
      const [root, ...rest] = x.path.split(".");
      if (root === "metadata") continue;
      if (rest.length === 0) continue;
      assert.ok(def.spec, `${x.kind} has no spec schema for ${x.path}`);
      assert.ok(resolve(def.spec as Schema, rest).length > 0, `${x.kind}: ${x.path} is not a field of its schema`);
    }
    // The resolver does reject what is not there.
    const vs = byName.get("networking.istio.io/VirtualService")!.spec as Schema;
    assert.equal(resolve(vs, ["http[]", "retriez"]).length, 0);
    assert.equal(resolve(vs, ["http", "retries"]).length, 0, "a list needs []");
    assert.ok(resolve(vs, ["http[]", "retries"]).length > 0);
  });

  it("finds the most specific entry for a field path, by value where one is given", () => {
    const risk = (kind: string, path: string, value?: string | boolean) => enforcementRisk(kind, path, value)?.risk;
    assert.equal(risk("VirtualService", "spec.http[0].retries.attempts"), "potentially-harmful");
    assert.equal(risk("networking.istio.io/VirtualService", "spec.http[3].fault.abort.percentage"), "potentially-harmful");
    assert.equal(risk("VirtualService", "spec.http[0].timeout"), "harmless");
    assert.equal(risk("VirtualService", "spec.http[0].headers.request.add"), "potentially-harmful");
    assert.equal(risk("VirtualService", "spec.http[0].headers.request.set"), "harmless");
    assert.equal(risk("VirtualService", "spec.http[0].rewrite.uri"), "breaking");
    assert.equal(risk("AuthorizationPolicy", "spec.action", "CUSTOM"), "breaking");
    assert.equal(risk("AuthorizationPolicy", "spec.action", "ALLOW"), "harmless");
    assert.equal(risk("AuthorizationPolicy", "spec.rules[0].from[0].source.principals[1]"), "breaking");
    assert.equal(risk("RequestAuthentication", "spec.jwtRules[0].forwardOriginalToken", false), "breaking");
    assert.equal(risk("RequestAuthentication", "spec.jwtRules[0].forwardOriginalToken", true), "harmless");
    assert.equal(risk("RequestAuthentication", "spec.jwtRules[0].outputPayloadToHeader"), "potentially-harmful");
    assert.equal(risk("PeerAuthentication", "spec.mtls.mode", "DISABLE"), "breaking");
    assert.equal(risk("PeerAuthentication", "spec.mtls.mode", "STRICT"), "harmless");
    assert.equal(risk("DestinationRule", "spec.trafficPolicy.tls.mode", "SIMPLE"), "breaking");
    assert.equal(risk("DestinationRule", "spec.trafficPolicy.tls.mode", "ISTIO_MUTUAL"), "harmless");
    assert.equal(risk("DestinationRule", "spec.trafficPolicy.outlierDetection.consecutive5xxErrors"), "potentially-harmful");
    assert.equal(risk("RateLimitPolicy", "spec.global.rules[0]"), "potentially-harmful");
    assert.equal(risk("Telemetry", "spec.metrics[0].overrides"), "harmless");
    assert.equal(risk("HTTPRoute", "spec.rules[0].filters[1].urlRewrite.path"), "breaking");
    assert.equal(risk("Service", "spec.ports[0].appProtocol"), "harmless");
    assert.equal(enforcementRisk("VirtualService", "spec.exportTo"), undefined);
    assert.equal(enforcementRisk("Gateway", "spec.listeners[0]")?.kind, "gateway.networking.k8s.io/Gateway");
  });

  it("normalizes list indexes", () => {
    assert.equal(normalizePath("spec.http[12].route[0].weight"), "spec.http[].route[].weight");
    assert.equal(normalizePath("spec.portLevelMtls"), "spec.portLevelMtls");
  });
});
