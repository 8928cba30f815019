import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";

const load = (text: string) => loadManifests([{ path: "grant.yaml", text }], defaultValidator());

const grant = (version: string, spec: string) => `apiVersion: gateway.networking.k8s.io/${version}
kind: ReferenceGrant
metadata: { name: allow-routes, namespace: backends }
spec:
${spec}`;

describe("ReferenceGrant", () => {
  for (const version of ["v1", "v1beta1", "v1alpha2"]) {
    it(`loads ${version} and normalises it to v1`, () => {
      const r = load(grant(version, `  from:
  - { group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: frontend }
  - { group: gateway.networking.k8s.io, kind: Gateway, namespace: infra }
  to:
  - { group: "", kind: Service }
  - { group: "", kind: Secret, name: wildcard-cert }
`));
      assert.deepEqual(r.problems.map(formatProblem), []);
      assert.equal(r.resources[0]!.object.apiVersion, "gateway.networking.k8s.io/v1");
    });
  }

  it("rejects an empty from, a to without group, and a repeated entry", () => {
    const r = load(grant("v1beta1", `  from: []
  to:
  - { kind: Service }
`));
    assert.deepEqual(r.problems.map(formatProblem), [
      "grant.yaml:5:9 ReferenceGrant backends/allow-routes: spec.from must have at least 1 item(s)",
      "grant.yaml:7:5 ReferenceGrant backends/allow-routes: spec.to[0].group is required",
    ]);
    const dup = load(grant("v1", `  from: [{ group: "", kind: Pod, namespace: a }]
  to:
  - { group: "", kind: Service, name: x }
  - { group: "", kind: Service, name: x }
`));
    assert.deepEqual(dup.problems.map(formatProblem), [
      "grant.yaml:8:5 ReferenceGrant backends/allow-routes: spec.to[1] duplicates spec.to[0]",
    ]);
  });
});
