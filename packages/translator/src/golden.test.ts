/**
 * Golden tests of the translator: testdata/<case>.in.yaml (plain manifests) -> <case>.out.yaml
 * (load problems, conditions, and the Envoy resources in Envoy's JSON form). Every snapshot must
 * also pass the strict validator. UPDATE_GOLDEN=1 rewrites the outputs and deletes stale ones.
 *
 * The proxy is the waypoint pod waypoint-0 of the first waypoint's namespace,
 * waypoint~10.0.0.9~waypoint-0.<ns>~<ns>.svc.cluster.local, unless the first document is
 *   apiVersion: waystation.io/test
 *   kind: TestCase
 *   spec: { proxy: <node id>, userAgent: <xDS node user_agent_name, optional> }
 * (a proxyless gRPC client is recognised by its user agent, e.g. "gRPC Node Pure JS").
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { defaultValidator, describeKey, formatProblem, loadManifests } from "@waystation/api";
import { buildModel, type Condition } from "@waystation/model";
import { expectGolden, goldenCases, goldenYaml, pruneGolden } from "@waystation/testing";
import { toEnvoyJson } from "./output.js";
import { translateFor } from "./translate.js";
import { formatValidationError, validateSnapshot } from "./validate/index.js";

const dir = fileURLToPath(new URL("../testdata", import.meta.url));

/** The proxy named by a leading TestCase document, if any. */
function testCaseProxy(text: string): { proxy?: string; userAgent?: string } {
  const first = parseAllDocuments(text)[0];
  const doc = first && !Array.isArray(first) ? (first.toJSON() as { apiVersion?: string; kind?: string; spec?: { proxy?: string; userAgent?: string } } | null) : null;
  return doc?.apiVersion === "waystation.io/test" && doc.kind === "TestCase" ? doc.spec ?? {} : {};
}

/** One line per condition, as `waystation translate` prints them. */
function formatCondition(c: Condition): string {
  return `${describeKey(c.resource)}: ${c.type}=${c.status} ${c.reason}: ${c.message}`;
}

describe("translator golden files", () => {
  after(() => pruneGolden(dir));
  for (const c of goldenCases(dir)) {
    it(c.name, () => {
      const loaded = loadManifests([{ path: `${c.name}.in.yaml`, text: c.input }], defaultValidator());
      const model = buildModel(loaded.resources);
      const ns = model.waypoints[0]?.namespace ?? "default";
      const tc = testCaseProxy(c.input);
      const proxy = tc.proxy ?? `waypoint~10.0.0.9~waypoint-0.${ns}~${ns}.svc.cluster.local`;
      const t = translateFor(model, { id: proxy, ...(tc.userAgent ? { userAgentName: tc.userAgent } : {}) });
      const errors = validateSnapshot(t.resources, { external: { secrets: ["default", "ROOTCA"] } });
      assert.deepEqual(errors.map(formatValidationError), [], `${c.name}: the snapshot must pass validation`);
      expectGolden(c, goldenYaml({
        proxy,
        ...(tc.userAgent ? { userAgent: tc.userAgent } : {}),
        ...(t.error ? { error: t.error } : {}),
        problems: loaded.problems.map(formatProblem),
        // The translator's conditions, and the model's refusals (bindings, attachments) that explain
        // why something is missing from the output.
        conditions: [...model.conditions.filter((x) => x.status === "False"), ...t.conditions].map(formatCondition),
        ...toEnvoyJson(t.resources),
      }));
    });
  }
});
