import { test } from "node:test";
import assert from "node:assert/strict";
import { buildBaggage, buildForwarded, newTraceparent, parseBaggage, parseForwarded, validTraceparent } from "./hboneHeaders.js";
import { serviceDefaults, workloadDefaults } from "./types.js";

test("HBONE headers: baggage and forwarded round-trip; traceparent is W3C", () => {
  const w = workloadDefaults({ uid: "u", name: "sleep-5f7b", namespace: "default", workloadName: "sleep", canonicalName: "sleep", canonicalRevision: "v1", clusterId: "c1" });
  const baggage = buildBaggage(w);
  assert.equal(baggage, "k8s.cluster.name=c1,k8s.namespace.name=default,k8s.deployment.name=sleep,service.name=sleep,service.version=v1");
  assert.deepEqual(parseBaggage(baggage), { clusterId: "c1", namespace: "default", workloadName: "sleep", workloadType: "deployment", canonicalName: "sleep", canonicalRevision: "v1" });
  const svc = serviceDefaults({ name: "echo", namespace: "default", hostname: "echo.default.svc.cluster.local" });
  assert.equal(buildForwarded("10.0.0.2:4242", svc), 'for="10.0.0.2:4242";host=echo.default.svc.cluster.local');
  assert.deepEqual(parseForwarded('for="10.0.0.2:4242";host=echo.default.svc.cluster.local, for=1.2.3.4'), { for: "10.0.0.2:4242", host: "echo.default.svc.cluster.local" });
  assert.deepEqual(parseForwarded('For="[fd00::1]:80"'), { for: "[fd00::1]:80" });
  const tp = newTraceparent();
  assert.equal(validTraceparent(tp), tp);
  assert.equal(validTraceparent("00-00000000000000000000000000000000-0000000000000001-01"), undefined);
  assert.equal(validTraceparent("garbage"), undefined);
});
