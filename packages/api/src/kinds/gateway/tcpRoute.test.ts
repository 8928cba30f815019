import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";

const load = (text: string) => loadManifests([{ path: "tcp.yaml", text }], defaultValidator());

describe("TCPRoute", () => {
  it("loads a waypoint TCPRoute splitting a Service between two backends", () => {
    const r = load(`apiVersion: gateway.networking.k8s.io/v1alpha2
kind: TCPRoute
metadata: { name: db, namespace: data }
spec:
  parentRefs: [{ group: "", kind: Service, name: db, port: 5432 }]
  rules:
  - backendRefs:
    - { name: db-primary, port: 5432, weight: 90 }
    - { name: db-replica, port: 5432, weight: 10 }
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources.length, 1);
  });

  const cases: { name: string; spec: string; want: string[] }[] = [
    {
      name: "a Service backend without a port",
      spec: "  rules: [{ backendRefs: [{ name: db-primary }] }]\n",
      want: ['tcp.yaml:5:27 TCPRoute data/db: spec.rules[0].backendRefs[0].port is required when the backend is a Service ("db-primary")'],
    },
    {
      name: "a rule without backends (schema)",
      spec: "  rules: [{ name: main }]\n",
      want: ["tcp.yaml:5:11 TCPRoute data/db: spec.rules[0].backendRefs is required"],
    },
    {
      name: "a missing rules list (schema)",
      spec: "  parentRefs: [{ name: gw }]\n",
      want: ["tcp.yaml:5:3 TCPRoute data/db: spec.rules is required"],
    },
    {
      name: "the same parent twice",
      spec: "  parentRefs: [{ name: gw, sectionName: tcp }, { name: gw, sectionName: tcp }]\n  rules: [{ backendRefs: [{ name: db, port: 5432 }] }]\n",
      want: ["tcp.yaml:5:48 TCPRoute data/db: spec.parentRefs[1] duplicates spec.parentRefs[0]"],
    },
  ];

  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const r = load(`apiVersion: gateway.networking.k8s.io/v1alpha2\nkind: TCPRoute\nmetadata: { name: db, namespace: data }\nspec:\n${c.spec}`);
      assert.deepEqual(r.problems.map(formatProblem), c.want);
    });
  }
});
