import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatProblem } from "./problem.js";
import { loadManifests } from "./load.js";
import { defaultValidator } from "./registry.js";

const load = (text: string, path = "mesh.yaml") => loadManifests([{ path, text }], defaultValidator());

describe("loadManifests", () => {
  it("loads several documents, sorted, with namespaces defaulted", () => {
    const r = load(`# comment
apiVersion: v1
kind: Service
metadata: { name: reviews }
spec:
  ports: [{ port: 9080, name: http }]
---
apiVersion: v1
kind: Namespace
metadata: { name: bookinfo }
`);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.resources.map((x) => `${x.key.kind} ${x.key.namespace}/${x.key.name}`), ["Namespace /bookinfo", "Service default/reviews"]);
    assert.equal(r.resources[1]!.origin.line, 2);
  });

  it("names file, line, column, resource and field for a wrong type, and keeps the good document", () => {
    const r = load(`apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: bookinfo
spec:
  ports:
    - name: http
      port: ninety
---
apiVersion: v1
kind: Namespace
metadata: { name: bookinfo }
`, "examples/bad/svc.yaml");
    assert.equal(r.resources.length, 1);
    assert.deepEqual(r.problems.map(formatProblem), [
      "examples/bad/svc.yaml:9:13 Service bookinfo/reviews: spec.ports[0].port must be an integer",
    ]);
  });

  it("points at the key of an unknown field and suggests the near name", () => {
    const r = load(`apiVersion: v1
kind: Pod
metadata:
  name: p
  lables: { app: x }
spec: {}
`);
    assert.deepEqual(r.problems.map(formatProblem), ['mesh.yaml:5:3 Pod default/p: metadata.lables is not a known field (did you mean "labels"?)']);
  });

  it("reports YAML syntax errors and still loads the other documents", () => {
    const r = load(`apiVersion: v1
kind: Namespace
metadata: { name: a }
---
apiVersion: v1
kind: Namespace
metadata: { name: [b
---
apiVersion: v1
kind: Namespace
metadata: { name: c }
`);
    assert.deepEqual(r.resources.map((x) => x.key.name), ["a", "c"]);
    assert.equal(r.problems.length > 0, true);
    assert.match(formatProblem(r.problems[0]!), /^mesh\.yaml:[78]:\d+ YAML: /);
    assert.deepEqual(r.brokenFiles, ["mesh.yaml"]);
  });

  it("resolves anchors and aliases", () => {
    const r = load(`apiVersion: v1
kind: Service
metadata: { name: a, labels: &l { app: a } }
spec: { selector: *l, ports: [{ port: 80 }] }
`);
    assert.deepEqual(r.problems, []);
    assert.deepEqual((r.resources[0]!.object.spec as { selector: unknown }).selector, { app: "a" });
  });

  it("ignores kinds it does not read, and reports a duplicate", () => {
    const r = load(`apiVersion: apps/v1
kind: Deployment
metadata: { name: x }
---
apiVersion: v1
kind: Namespace
metadata: { name: a }
---
apiVersion: v1
kind: Namespace
metadata: { name: a }
`);
    assert.equal(r.ignored.length, 1);
    assert.match(r.ignored[0]!.reason, /apps\/v1 Deployment is not a kind/);
    assert.equal(r.problems.length, 1);
    assert.match(formatProblem(r.problems[0]!), /^mesh\.yaml:11:\d+ Namespace a: metadata\.name duplicates the definition at mesh\.yaml:5:1, which is the one used$/);
  });

  it("expands kind: List", () => {
    const r = load(`apiVersion: v1
kind: List
items:
  - { apiVersion: v1, kind: Namespace, metadata: { name: a } }
  - { apiVersion: v1, kind: Namespace, metadata: { name: "B" } }
`);
    assert.deepEqual(r.resources.map((x) => x.key.name), ["a"]);
    assert.match(formatProblem(r.problems[0]!), /^mesh\.yaml:5:\d+ Namespace B: metadata\.name must be a DNS-1123 subdomain/);
  });
});
