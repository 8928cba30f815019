import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultValidator, loadManifests, type LoadedResource } from "@waystation/api";
import { buildModel } from "./build.js";
import { defaultMeshConfig } from "./meshConfig.js";
import { namespace, pod, resource, service } from "./testing.js";

/** An `istio` ConfigMap, loaded (and checked) as the file source loads it. */
function istio(ns: string, mesh: string): LoadedResource {
  const text = `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: ${ns} }
data:
  mesh: |
${mesh.split("\n").map((l) => `    ${l}`).join("\n")}
`;
  const r = loadManifests([{ path: "mesh.yaml", text }], defaultValidator());
  assert.deepEqual(r.problems.filter((p) => p.severity === "error"), []);
  return r.resources[0]!;
}

const mesh = `trustDomain: example.org
trustDomainAliases: [old.example.org]
rootNamespace: mesh-root
connectTimeout: 2.5s
outboundTrafficPolicy: { mode: REGISTRY_ONLY }
defaultProviders: { tracing: [otel] }
extensionProviders:
  - name: http
    envoyExtAuthzHttp:
      service: ext-authz.istio-system.svc.cluster.local
      port: 8000
      includeHeadersInCheck: [authorization]
  - name: grpc
    envoyExtAuthzGrpc: { service: authz/grpc-authz.authz.svc.cluster.local, port: 9000, failOpen: true }
  - name: otel
    opentelemetry: { service: otel.observability.svc.cluster.local, port: 4317 }`;

const app = [namespace("istio-system"), namespace("a", { "istio.io/dataplane-mode": "ambient" }), service("a", "reviews"), pod("a", "reviews-1", "reviews", "10.244.0.5", {}, "reviews")];
const identity = (m: ReturnType<typeof buildModel>) => m.workloads.find((w) => w.name === "reviews-1")!.identity;

describe("mesh config in the model", () => {
  it("uses Istio's defaults when there is no istio ConfigMap", () => {
    const m = buildModel(app);
    assert.deepEqual(m.meshConfig, defaultMeshConfig);
    assert.equal(m.options.trustDomain, "cluster.local");
    assert.equal(m.options.rootNamespace, "istio-system");
    assert.deepEqual(m.conditions, []);
  });

  it("reads the istio ConfigMap of istio-system: providers, timeouts, trust domain and root namespace", () => {
    const cm = istio("istio-system", mesh);
    const m = buildModel([...app, cm]);
    assert.deepEqual(m.meshConfig.source, cm.key);
    assert.equal(m.options.trustDomain, "example.org");
    assert.equal(m.options.rootNamespace, "mesh-root");
    assert.equal(identity(m), "spiffe://example.org/ns/a/sa/reviews");
    assert.deepEqual(m.meshConfig.trustDomainAliases, ["old.example.org"]);
    assert.equal(m.meshConfig.connectTimeoutSeconds, 2.5);
    assert.equal(m.meshConfig.outboundTrafficPolicy, "REGISTRY_ONLY");
    assert.deepEqual(m.meshConfig.defaultProviders, { tracing: ["otel"], metrics: [], accessLogging: [] });
    assert.deepEqual(m.meshConfig.extensionProviders, [
      // The deprecated includeHeadersInCheck becomes includeRequestHeadersInCheck, as istiod reads it.
      { name: "http", envoyExtAuthzHttp: { service: "ext-authz.istio-system.svc.cluster.local", port: 8000, includeRequestHeadersInCheck: ["authorization"] } },
      { name: "grpc", envoyExtAuthzGrpc: { service: "authz/grpc-authz.authz.svc.cluster.local", port: 9000, failOpen: true } },
    ]);
    assert.deepEqual(m.meshConfig.otherProviders, [{ name: "otel", kind: "opentelemetry", config: { service: "otel.observability.svc.cluster.local", port: 4317 } }]);
    assert.deepEqual(m.conditions, []);
  });

  it("lets explicit options win over the mesh config", () => {
    const m = buildModel([...app, istio("istio-system", mesh)], { trustDomain: "override.local" });
    assert.equal(m.options.trustDomain, "override.local");
    assert.equal(m.options.rootNamespace, "mesh-root");
    assert.equal(identity(m), "spiffe://override.local/ns/a/sa/reviews");
  });

  it("honours the mesh config's rootNamespace for policies: a GatewayClass policy must live there", () => {
    const policy = (ns: string) => resource("AuthorizationPolicy", ns, "class-wide", {
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "GatewayClass", name: "istio-waypoint" }], action: "DENY", rules: [{}],
    });
    const m = buildModel([...app, istio("istio-system", "rootNamespace: mesh-root"), policy("istio-system"), policy("mesh-root")]);
    assert.deepEqual(m.conditions.filter((c) => c.reason === "TargetNotFound").map((c) => c.resource.namespace), ["istio-system"]);
  });

  it("ignores an istio ConfigMap outside the root namespace, with a condition on it", () => {
    const stray = istio("default", "trustDomain: stray.example");
    const m = buildModel([...app, stray]);
    assert.equal(m.options.trustDomain, "cluster.local");
    assert.equal(m.meshConfig.source, undefined);
    assert.deepEqual(m.conditions, [{
      resource: stray.key, type: "Accepted", status: "False", reason: "NotRootNamespace",
      message: "the mesh config is read from ConfigMap istio-system/istio only (the namespace istiod runs in); this one is ignored",
    }]);
  });

  it("picks the ConfigMap from an explicitly given root namespace, and reports the one in istio-system", () => {
    const mine = istio("custom-root", "trustDomain: mine.example");
    const other = istio("istio-system", "trustDomain: other.example");
    const m = buildModel([...app, other, mine], { rootNamespace: "custom-root" });
    assert.deepEqual(m.meshConfig.source, mine.key);
    assert.equal(m.options.trustDomain, "mine.example");
    assert.deepEqual(m.conditions.map((c) => `${c.resource.namespace}/${c.resource.name} ${c.reason}`), ["istio-system/istio NotRootNamespace"]);
  });

  it("falls back to the defaults, with a condition, for a mesh config that did not go through validation", () => {
    const raw = resource("ConfigMap", "istio-system", "istio");
    (raw.object as unknown as { data: Record<string, string> }).data = { mesh: "trustDomain: x\nconnectTimeout: 0s\n" };
    const m = buildModel([...app, raw]);
    assert.equal(m.options.trustDomain, "cluster.local");
    assert.deepEqual(m.meshConfig, { ...defaultMeshConfig, source: raw.key });
    assert.deepEqual(m.conditions.map((c) => [c.reason, c.message]), [
      ["InvalidMeshConfig", "data.mesh line 2: connectTimeout must be at least 1ms; Istio's defaults are used instead"],
    ]);
  });
});
