import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { AddressSchema, TunnelProtocol, WorkloadStatus } from "@waystation/proto/istio/workload/workload_pb.js";
import { Action, AuthorizationSchema, Scope } from "@waystation/proto/istio/security/authorization_pb.js";
import { addressFromProto, policyFromProto } from "./protoConvert.js";

const ip = (...b: number[]) => new Uint8Array(b);

test("proto: a workload decodes with Istio's defaults (trust domain, service account)", () => {
  const d = addressFromProto(create(AddressSchema, { type: { case: "workload", value: {
    uid: "Kubernetes//Pod/default/echo-1", name: "echo-1", namespace: "default", addresses: [ip(10, 0, 0, 3)], tunnelProtocol: TunnelProtocol.HBONE,
    node: "node-b", status: WorkloadStatus.UNHEALTHY, services: { "default/echo.default.svc.cluster.local": { ports: [{ servicePort: 80, targetPort: 8080 }] } },
    waypoint: { destination: { case: "hostname", value: { namespace: "default", hostname: "wp.default.svc.cluster.local" } } },
  } } }));
  assert.ok(d.ok);
  assert.ok(d.value.kind === "workload");
  const w = d.value.workload;
  assert.equal(w.trustDomain, "cluster.local");
  assert.equal(w.serviceAccount, "default");
  assert.deepEqual(w.addresses, ["10.0.0.3"]);
  assert.equal(w.status, "Unhealthy");
  assert.deepEqual(w.waypoint, { kind: "hostname", namespace: "default", hostname: "wp.default.svc.cluster.local", hbonePort: 15008 });
});

test("proto: bad resources become reasons with field paths", () => {
  const cases: [string, ReturnType<typeof addressFromProto> | ReturnType<typeof policyFromProto>, RegExp][] = [
    ["empty Address", addressFromProto(create(AddressSchema, {})), /neither a workload nor a service/],
    ["no uid", addressFromProto(create(AddressSchema, { type: { case: "workload", value: { name: "x" } } })), /uid is empty/],
    ["3-byte address", addressFromProto(create(AddressSchema, { type: { case: "workload", value: { uid: "u", addresses: [ip(1, 2, 3)] } } })), /addresses\[0\]: 3 bytes/],
    ["service port 0", addressFromProto(create(AddressSchema, { type: { case: "service", value: { hostname: "h", ports: [{ servicePort: 0 }] } } })), /ports\[0\]\.service_port 0/],
    ["bad waypoint", addressFromProto(create(AddressSchema, { type: { case: "service", value: { hostname: "h", waypoint: {} } } })), /waypoint has neither/],
    ["unknown action", policyFromProto(create(AuthorizationSchema, { name: "p", action: 7 as Action })), /action 7/],
    ["bad CIDR", policyFromProto(create(AuthorizationSchema, { name: "p", rules: [{ clauses: [{ matches: [{ sourceIps: [{ address: ip(1, 2), length: 8 }] }] }] }] })),
      /rules\[0\]\.clauses\[0\]\.matches\[0\]\.source_ips\[0\]: not a CIDR/],
    ["empty StringMatch", policyFromProto(create(AuthorizationSchema, { name: "p", rules: [{ clauses: [{ matches: [{ principals: [{}] }] }] }] })), /principals\[0\]: no match type/],
  ];
  for (const [name, d, re] of cases) {
    assert.ok(!d.ok, name);
    assert.match(d.reason, re, name);
  }
  const ok = policyFromProto(create(AuthorizationSchema, { name: "p", namespace: "ns", scope: Scope.WORKLOAD_SELECTOR, action: Action.DENY,
    rules: [{ clauses: [{ matches: [{ principals: [{ matchType: { case: "presence", value: {} } }], destinationPorts: [80] }] }] }] }));
  assert.ok(ok.ok);
  assert.equal(ok.value.scope, "WorkloadSelector");
  assert.deepEqual(ok.value.rules[0]?.clauses[0]?.matches[0]?.principals, [{ presence: true }]);
});
