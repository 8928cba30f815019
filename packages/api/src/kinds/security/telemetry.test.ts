import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { TelemetrySpec } from "./telemetry.js";

const load = (text: string) => loadManifests([{ path: "tel.yaml", text }], defaultValidator());
const problems = (text: string) => load(text).problems.map(formatProblem);

/** A Telemetry `shop/t` whose spec body starts on line 7. */
const tel = (spec: string, apiVersion = "telemetry.istio.io/v1") => `apiVersion: ${apiVersion}
kind: Telemetry
metadata:
  name: t
  namespace: shop
spec:
${spec}`;

const realistic = `  targetRefs:
    - { kind: Service, group: "", name: reviews }
  tracing:
    - providers: [{ name: otel }]
      randomSamplingPercentage: 12.5
      match: { mode: SERVER }
      customTags:
        cluster: { literal: { value: east } }
        pod: { environment: { name: POD_NAME, defaultValue: unknown } }
        tenant: { header: { name: x-tenant } }
  metrics:
    - providers: [{ name: prometheus }]
      reportingInterval: 15s
      overrides:
        - match: { metric: REQUEST_COUNT, mode: CLIENT_AND_SERVER }
          tagOverrides:
            request_host: { operation: REMOVE }
            tenant: { value: "request.headers['x-tenant']" }
        - match: { customMetric: my_metric }
          disabled: true
        - disabled: false
  accessLogging:
    - providers: [{ name: envoy }]
      filter: { expression: "response.code >= 400" }
      match: { mode: CLIENT }
    - disabled: true
`;

describe("Telemetry", () => {
  it("loads a realistic Telemetry clean, typed", () => {
    const r = load(tel(realistic));
    assert.deepEqual(r.problems.map(formatProblem), []);
    const spec = r.resources[0]!.object.spec as TelemetrySpec;
    assert.equal(spec.tracing?.[0]?.randomSamplingPercentage, 12.5);
  });

  it("loads v1alpha1 unchanged and normalises it to v1", () => {
    const r = load(tel(realistic, "telemetry.istio.io/v1alpha1"));
    assert.deepEqual(r.problems, []);
    assert.equal(r.resources[0]!.object.apiVersion, "telemetry.istio.io/v1");
  });

  it("accepts a mesh-wide default with only a sampling rate", () => {
    assert.deepEqual(problems(tel("  tracing: [{ randomSamplingPercentage: 100 }]\n")), []);
  });

  const cases: [name: string, spec: string, want: (string | RegExp)[]][] = [
    ["sampling above 100", "  tracing: [{ randomSamplingPercentage: 100.5 }]\n",
      ["tel.yaml:7:41 Telemetry shop/t: spec.tracing[0].randomSamplingPercentage must be a percentage from 0 to 100"]],
    ["negative sampling", "  tracing: [{ randomSamplingPercentage: -1 }]\n",
      ["tel.yaml:7:41 Telemetry shop/t: spec.tracing[0].randomSamplingPercentage must be a percentage from 0 to 100"]],
    ["bad reporting interval", "  metrics:\n    - reportingInterval: 15\n",
      ["tel.yaml:8:26 Telemetry shop/t: spec.metrics[0].reportingInterval must be a string"]],
    ["reporting interval not a duration", "  metrics:\n    - reportingInterval: 15 s\n",
      ['tel.yaml:8:26 Telemetry shop/t: spec.metrics[0].reportingInterval must be a duration such as "10s", "1m30s" or "250ms", not "15 s"']],
    ["zero reporting interval", "  metrics:\n    - reportingInterval: 0s\n",
      ["tel.yaml:8:26 Telemetry shop/t: spec.metrics[0].reportingInterval must be greater than 0"]],
    ["unknown metric", "  metrics:\n    - overrides: [{ match: { metric: REQUESTS } }]\n",
      [/^tel\.yaml:8:38 Telemetry shop\/t: spec\.metrics\[0\]\.overrides\[0\]\.match\.metric must be one of "ALL_METRICS", "REQUEST_COUNT", .*, not "REQUESTS"$/]],
    ["metric and customMetric together", "  metrics:\n    - overrides: [{ match: { metric: REQUEST_COUNT, customMetric: x } }]\n",
      ["tel.yaml:8:67 Telemetry shop/t: spec.metrics[0].overrides[0].match.customMetric cannot be combined with metric: name an Istio metric or a custom one, not both"]],
    ["UPSERT without value, REMOVE with value", "  metrics:\n    - overrides:\n        - tagOverrides:\n            a: { operation: UPSERT }\n            b: { operation: REMOVE, value: x }\n", [
      "tel.yaml:10:16 Telemetry shop/t: spec.metrics[0].overrides[0].tagOverrides.a must set value (a CEL expression) to add or change a tag",
      "tel.yaml:11:44 Telemetry shop/t: spec.metrics[0].overrides[0].tagOverrides.b.value must not be set when operation is REMOVE",
    ]],
    ["unknown tag operation", "  metrics:\n    - overrides: [{ tagOverrides: { a: { operation: DELETE } } }]\n",
      ['tel.yaml:8:53 Telemetry shop/t: spec.metrics[0].overrides[0].tagOverrides.a.operation must be one of "UPSERT", "REMOVE", not "DELETE"']],
    ["custom tag with two sources", "  tracing:\n    - customTags:\n        a: { literal: { value: x }, header: { name: y } }\n        b: {}\n", [
      "tel.yaml:9:12 Telemetry shop/t: spec.tracing[0].customTags.a must set exactly one of literal, environment or header (has literal and header)",
      "tel.yaml:10:12 Telemetry shop/t: spec.tracing[0].customTags.b must set exactly one of literal, environment or header",
    ]],
    ["unknown mode", "  accessLogging: [{ match: { mode: BOTH } }]\n",
      ['tel.yaml:7:36 Telemetry shop/t: spec.accessLogging[0].match.mode must be one of "CLIENT_AND_SERVER", "CLIENT", "SERVER", not "BOTH"']],
    ["provider without a name", "  accessLogging: [{ providers: [{}] }]\n",
      ["tel.yaml:7:33 Telemetry shop/t: spec.accessLogging[0].providers[0].name is required"]],
    ["empty filter expression", "  accessLogging: [{ filter: { expression: \"\" } }]\n",
      ["tel.yaml:7:43 Telemetry shop/t: spec.accessLogging[0].filter.expression must not be empty"]],
    ["selector with targetRefs", "  selector: { matchLabels: { app: a } }\n  targetRefs: [{ kind: Service, name: a }]\n",
      ["tel.yaml:8:15 Telemetry shop/t: spec.targetRefs cannot be combined with selector: a policy attaches either to workloads (selector) or to Gateways and Services (targetRefs)"]],
    ["two tracing entries and two providers warn", "  tracing:\n    - providers: [{ name: a }, { name: b }]\n    - providers: [{ name: c }]\n", [
      "tel.yaml:8:32 warning: Telemetry shop/t: spec.tracing[0].providers[1] is ignored: Istio sends spans to one tracing provider",
      "tel.yaml:9:7 warning: Telemetry shop/t: spec.tracing[1] is ignored: Istio supports one tracing entry per Telemetry",
    ]],
  ];
  for (const [name, spec, want] of cases) {
    it(`rejects: ${name}`, () => {
      const got = problems(tel(spec));
      assert.equal(got.length, want.length, got.join("\n"));
      want.forEach((w, i) => (typeof w === "string" ? assert.equal(got[i], w) : assert.match(got[i]!, w)));
    });
  }
});
