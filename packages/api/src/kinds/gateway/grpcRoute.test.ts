import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";

const load = (text: string) => loadManifests([{ path: "grpc.yaml", text }], defaultValidator());

/** Lines 1-7; a case's rules start on line 8. */
const head = (version = "v1") => `apiVersion: gateway.networking.k8s.io/${version}
kind: GRPCRoute
metadata: { name: greeter, namespace: apps }
spec:
  parentRefs: [{ group: "", kind: Service, name: greeter, port: 50051 }]
  hostnames: [greeter.apps.svc.cluster.local]
  rules:
`;

describe("GRPCRoute", () => {
  it("loads a realistic route, and normalises v1alpha2 to v1", () => {
    const r = load(`${head("v1alpha2")}  - matches:
    - method: { service: helloworld.Greeter, method: SayHello }
      headers: [{ name: x-tenant, value: acme }]
    - method: { type: RegularExpression, service: "helloworld\\\\..*" }
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: x-route, value: greeter }] }
    - type: RequestMirror
      requestMirror: { backendRef: { name: greeter-shadow, port: 50051 }, percent: 5 }
    backendRefs:
    - { name: greeter-v1, port: 50051, weight: 80 }
    - { name: greeter-v2, port: 50051, weight: 20 }
  - matches: [{ method: { method: Check } }]
    backendRefs: [{ name: health, port: 50051 }]
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources[0]!.object.apiVersion, "gateway.networking.k8s.io/v1");
  });

  const cases: { name: string; rules: string; want: string[] }[] = [
    {
      name: "a method match with neither service nor method",
      rules: "  - matches: [{ method: { type: Exact } }]\n",
      want: ["grpc.yaml:8:25 GRPCRoute apps/greeter: spec.rules[0].matches[0].method needs service, method or both (an empty method match would match every call; omit it instead)"],
    },
    {
      name: "an Exact service written as a path",
      rules: "  - matches: [{ method: { service: /helloworld.Greeter/SayHello } }]\n",
      want: ['grpc.yaml:8:36 GRPCRoute apps/greeter: spec.rules[0].matches[0].method.service must not contain "/" for type Exact: write the service alone, e.g. "helloworld.Greeter", not "/helloworld.Greeter/SayHello"'],
    },
    {
      name: "an Exact method with invalid characters",
      rules: "  - matches: [{ method: { service: helloworld.Greeter, method: say-hello } }]\n",
      want: ['grpc.yaml:8:64 GRPCRoute apps/greeter: spec.rules[0].matches[0].method.method must be a protobuf method name such as "SayHello" for type Exact, not "say-hello"'],
    },
    {
      name: "a RegularExpression method RE2 cannot compile",
      rules: "  - matches: [{ method: { type: RegularExpression, method: \"(Say\" } }]\n",
      want: ["grpc.yaml:8:60 GRPCRoute apps/greeter: spec.rules[0].matches[0].method.method is not a valid RE2 regular expression (Envoy uses RE2): error parsing regexp: missing closing ): `(Say`"],
    },
    {
      name: "an HTTP-only filter type (schema)",
      rules: "  - filters: [{ type: URLRewrite }]\n",
      want: ['grpc.yaml:8:23 GRPCRoute apps/greeter: spec.rules[0].filters[0].type must be one of "RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "ExtensionRef", not "URLRewrite"'],
    },
    {
      name: "a filter whose type does not match its config field",
      rules: "  - filters: [{ type: RequestMirror, extensionRef: { group: example.com, kind: Filter, name: f } }]\n",
      want: [
        "grpc.yaml:8:15 GRPCRoute apps/greeter: spec.rules[0].filters[0].requestMirror is required when type is RequestMirror",
        "grpc.yaml:8:52 GRPCRoute apps/greeter: spec.rules[0].filters[0].extensionRef must not be set when type is RequestMirror; it belongs to a filter of type ExtensionRef",
      ],
    },
    {
      name: "a Service backend without a port",
      rules: "  - backendRefs: [{ name: greeter-v1 }]\n",
      want: ['grpc.yaml:8:19 GRPCRoute apps/greeter: spec.rules[0].backendRefs[0].port is required when the backend is a Service ("greeter-v1")'],
    },
    {
      name: "more than 8 matches in a rule (schema)",
      rules: `  - matches: [${new Array(9).fill("{ method: { method: M } }").join(", ")}]\n`,
      want: ["grpc.yaml:8:14 GRPCRoute apps/greeter: spec.rules[0].matches must have at most 8 matches per rule (Gateway API limit)"],
    },
  ];

  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const r = load(head() + c.rules);
      assert.deepEqual(r.problems.map(formatProblem), c.want);
      assert.equal(r.resources.length, 0);
    });
  }

  it("is not read in v1beta1, which GRPCRoute never had", () => {
    const r = load(head("v1beta1") + "  - backendRefs: [{ name: greeter, port: 50051 }]\n");
    assert.deepEqual(r.problems.map(formatProblem), [
      "grpc.yaml:1:13 GRPCRoute apps/greeter: apiVersion gateway.networking.k8s.io/v1beta1 is not a version of GRPCRoute that Waystation reads; use one of gateway.networking.k8s.io/v1, gateway.networking.k8s.io/v1alpha2",
    ]);
  });
});
