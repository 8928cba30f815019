import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { PeerAuthenticationSpec } from "./peerAuthentication.js";

const load = (text: string) => loadManifests([{ path: "pa.yaml", text }], defaultValidator());
const problems = (text: string) => load(text).problems.map(formatProblem);

/** A PeerAuthentication `shop/pa` whose spec body starts on line 7. */
const pa = (spec: string, apiVersion = "security.istio.io/v1") => `apiVersion: ${apiVersion}
kind: PeerAuthentication
metadata:
  name: pa
  namespace: shop
spec:
${spec}`;

const realistic = `  selector:
    matchLabels: { app: reviews }
  mtls:
    mode: STRICT
  portLevelMtls:
    8080:
      mode: PERMISSIVE
    "9090": { mode: UNSET }
`;

const disable = "is DISABLE, which ambient mode cannot honour: traffic between ztunnels and waypoints is always HBONE mutual TLS. "
  + "Use PERMISSIVE to also accept plaintext from clients outside the mesh";

describe("PeerAuthentication", () => {
  it("loads a realistic policy clean, typed", () => {
    const r = load(pa(realistic));
    assert.deepEqual(r.problems.map(formatProblem), []);
    const spec = r.resources[0]!.object.spec as PeerAuthenticationSpec;
    assert.equal(spec.portLevelMtls?.["8080"]?.mode, "PERMISSIVE");
  });

  it("loads v1beta1 unchanged and normalises it to v1", () => {
    const r = load(pa(realistic, "security.istio.io/v1beta1"));
    assert.deepEqual(r.problems, []);
    assert.equal(r.resources[0]!.object.apiVersion, "security.istio.io/v1");
  });

  it("accepts a mesh-wide policy with no selector, and an empty spec", () => {
    assert.deepEqual(problems(pa("  mtls: { mode: PERMISSIVE }\n")), []);
    assert.deepEqual(problems(pa("").replace("spec:\n", "spec: {}\n")), []);
  });

  const cases: [name: string, spec: string, want: string[]][] = [
    ["mode DISABLE", "  mtls:\n    mode: DISABLE\n",
      [`pa.yaml:8:11 PeerAuthentication shop/pa: spec.mtls.mode ${disable}`]],
    ["port-level DISABLE", "  selector: { matchLabels: { app: a } }\n  portLevelMtls:\n    \"8080\": { mode: DISABLE }\n",
      [`pa.yaml:9:21 PeerAuthentication shop/pa: spec.portLevelMtls["8080"].mode ${disable}`]],
    ["portLevelMtls without selector", "  portLevelMtls:\n    8080: { mode: STRICT }\n",
      ["pa.yaml:8:5 PeerAuthentication shop/pa: spec.portLevelMtls requires selector: port-level settings apply only to the workloads a selector picks"]],
    ["a port that is not a number", "  selector: { matchLabels: { app: a } }\n  portLevelMtls:\n    http: { mode: STRICT }\n    0: { mode: STRICT }\n", [
      "pa.yaml:9:5 PeerAuthentication shop/pa: spec.portLevelMtls.http must be a port number from 1 to 65535",
      'pa.yaml:10:5 PeerAuthentication shop/pa: spec.portLevelMtls["0"] must be a port number from 1 to 65535',
    ]],
    ["unknown mode", "  mtls: { mode: ISTIO_MUTUAL }\n",
      ['pa.yaml:7:17 PeerAuthentication shop/pa: spec.mtls.mode must be one of "UNSET", "DISABLE", "PERMISSIVE", "STRICT", not "ISTIO_MUTUAL"']],
    ["unknown field", "  mtls: { mode: STRICT }\n  targetRefs: [{ kind: Service, name: a }]\n",
      ["pa.yaml:8:3 PeerAuthentication shop/pa: spec.targetRefs is not a known field"]],
  ];
  for (const [name, spec, want] of cases) {
    it(`rejects: ${name}`, () => assert.deepEqual(problems(pa(spec)), want));
  }
});
