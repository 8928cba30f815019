// Table tests of the outbound decision (istio-ambient.md §4.4, §1.2 authority values).
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildOutbound, type OutboundPlan } from "./outbound.js";
import { MeshState } from "./state.js";
import { serviceDefaults, workloadDefaults, type Workload } from "./types.js";

const id = (ns: string, sa: string) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
const ECHO_SVC = "default/echo.default.svc.cluster.local";

function mesh(): MeshState {
  const s = new MeshState();
  s.batch(() => {
    s.upsertWorkload(workloadDefaults({ uid: "sleep", name: "sleep", namespace: "default", serviceAccount: "sleep", addresses: ["10.0.0.2"], node: "a" }));
    s.upsertWorkload(workloadDefaults({ uid: "echo-1", name: "echo-1", namespace: "default", serviceAccount: "echo", addresses: ["10.0.1.1"], services: { [ECHO_SVC]: [{ servicePort: 80, targetPort: 8080 }] } }));
    s.upsertWorkload(workloadDefaults({ uid: "echo-2", name: "echo-2", namespace: "default", serviceAccount: "echo", addresses: ["10.0.1.2"], services: { [ECHO_SVC]: [{ servicePort: 80, targetPort: 8081 }] } }));
    s.upsertWorkload(workloadDefaults({ uid: "echo-sick", name: "echo-sick", namespace: "default", serviceAccount: "echo", addresses: ["10.0.1.3"], status: "Unhealthy", services: { [ECHO_SVC]: [{ servicePort: 80, targetPort: 8080 }] } }));
    s.upsertService(serviceDefaults({ name: "echo", namespace: "default", hostname: "echo.default.svc.cluster.local", vips: ["10.96.0.10"], ports: [{ servicePort: 80, targetPort: 8080 }] }));
    // A service with a waypoint; the waypoint is itself a service with one pod.
    s.upsertWorkload(workloadDefaults({ uid: "wp", name: "waypoint", namespace: "default", serviceAccount: "waypoint", addresses: ["10.0.9.9"], services: { "default/waypoint.default.svc.cluster.local": [{ servicePort: 15008, targetPort: 15008 }] } }));
    s.upsertService(serviceDefaults({ name: "waypoint", namespace: "default", hostname: "waypoint.default.svc.cluster.local", vips: ["10.96.0.99"], ports: [{ servicePort: 15008, targetPort: 15008 }] }));
    s.upsertWorkload(workloadDefaults({ uid: "reviews-1", name: "reviews-1", namespace: "default", serviceAccount: "reviews", addresses: ["10.0.2.1"], services: { "default/reviews.default.svc.cluster.local": [{ servicePort: 9080, targetPort: 9080 }] } }));
    s.upsertService(serviceDefaults({
      name: "reviews", namespace: "default", hostname: "reviews.default.svc.cluster.local", vips: ["10.96.0.20"], ports: [{ servicePort: 9080, targetPort: 9080 }],
      waypoint: { kind: "hostname", namespace: "default", hostname: "waypoint.default.svc.cluster.local", hbonePort: 15008 },
    }));
    // A pod with a workload waypoint (by address), and one outside the mesh.
    s.upsertWorkload(workloadDefaults({ uid: "db", name: "db", namespace: "default", serviceAccount: "db", addresses: ["10.0.3.1"], waypoint: { kind: "address", network: "", ip: "10.0.9.9", hbonePort: 15008 } }));
    s.upsertWorkload(workloadDefaults({ uid: "legacy", name: "legacy", namespace: "default", addresses: ["10.0.4.1"], tunnelProtocol: "NONE" }));
    s.upsertWorkload(workloadDefaults({ uid: "remote", name: "remote", namespace: "default", addresses: ["10.1.0.1"], network: "west" }));
    s.upsertService(serviceDefaults({ name: "empty", namespace: "default", hostname: "empty.default.svc.cluster.local", vips: ["10.96.0.30"], ports: [{ servicePort: 80, targetPort: 80 }] }));
    s.upsertService(serviceDefaults({ name: "ext", namespace: "default", hostname: "ext.example.com", vips: ["240.240.0.1"], ports: [{ servicePort: 443, targetPort: 443 }], mode: "Passthrough" }));
    s.upsertService(serviceDefaults({
      name: "broken", namespace: "default", hostname: "broken.default.svc.cluster.local", vips: ["10.96.0.40"], ports: [{ servicePort: 80, targetPort: 80 }],
      waypoint: { kind: "hostname", namespace: "default", hostname: "missing.default.svc.cluster.local", hbonePort: 15008 },
    }));
  });
  return s;
}

test("buildOutbound(): one row per branch of the decision", () => {
  const s = mesh();
  const sleep = s.workload("sleep");
  const waypoint = s.workload("wp");
  const opts = { hbonePort: 15008, pick: () => 0, ownPorts: [15001, 15006, 15008, 15080] };
  type Want = Partial<Record<keyof Extract<OutboundPlan, { kind: "hbone" }>, unknown>> & { kind: OutboundPlan["kind"]; reason?: RegExp };
  const cases: { name: string; source: Workload | undefined; host: string; port: number; pick?: number; want: Want }[] = [
    { name: "unknown source: deny", source: undefined, host: "10.0.1.1", port: 8080, want: { kind: "deny", reason: /unknown source/ } },
    { name: "self-call on loopback: deny", source: sleep, host: "127.0.0.1", port: 15008, want: { kind: "deny", reason: /self-call/ } },
    {
      name: "pod IP: HBONE to podIP:15008, authority podIP:port", source: sleep, host: "10.0.1.1", port: 8080,
      want: { kind: "hbone", nextHop: { host: "10.0.1.1", port: 15008 }, authority: "10.0.1.1:8080", expectedIdentities: [id("default", "echo")] },
    },
    {
      name: "service VIP: an endpoint, port translated", source: sleep, host: "10.96.0.10", port: 80,
      want: { kind: "hbone", nextHop: { host: "10.0.1.1", port: 15008 }, authority: "10.0.1.1:8080", expectedIdentities: [id("default", "echo")] },
    },
    {
      name: "service VIP: the pick chooses; per-workload target port wins", source: sleep, host: "10.96.0.10", port: 80, pick: 1,
      want: { kind: "hbone", nextHop: { host: "10.0.1.2", port: 15008 }, authority: "10.0.1.2:8081" },
    },
    { name: "unhealthy endpoints are not candidates", source: sleep, host: "10.96.0.10", port: 80, pick: 2, want: { kind: "hbone", authority: "10.0.1.2:8081" } },
    {
      name: "service hostname (SOCKS5 domain) resolves like its VIP", source: sleep, host: "echo.default.svc.cluster.local", port: 80,
      want: { kind: "hbone", authority: "10.0.1.1:8080" },
    },
    { name: "unknown hostname: deny", source: sleep, host: "nope.example.com", port: 80, want: { kind: "deny", reason: /unknown host/ } },
    { name: "service port not served: deny", source: sleep, host: "10.96.0.10", port: 81, want: { kind: "deny", reason: /no healthy endpoint/ } },
    { name: "service without endpoints: deny", source: sleep, host: "10.96.0.30", port: 80, want: { kind: "deny", reason: /no healthy endpoint/ } },
    { name: "PASSTHROUGH service without endpoints: plain TCP to the VIP", source: sleep, host: "240.240.0.1", port: 443, want: { kind: "passthrough", nextHop: { host: "240.240.0.1", port: 443 } } },
    {
      name: "service with a waypoint: HBONE to the waypoint, authority VIP:port", source: sleep, host: "10.96.0.20", port: 9080,
      want: { kind: "hbone", nextHop: { host: "10.0.9.9", port: 15008 }, authority: "10.96.0.20:9080", expectedIdentities: [id("default", "waypoint")] },
    },
    {
      name: "the waypoint itself goes to the endpoint", source: waypoint, host: "10.96.0.20", port: 9080,
      want: { kind: "hbone", nextHop: { host: "10.0.2.1", port: 15008 }, authority: "10.0.2.1:9080", expectedIdentities: [id("default", "reviews")] },
    },
    { name: "unresolvable waypoint fails closed", source: sleep, host: "10.96.0.40", port: 80, want: { kind: "deny", reason: /waypoint unusable/ } },
    {
      name: "pod with a workload waypoint: waypoint, authority the original podIP:port", source: sleep, host: "10.0.3.1", port: 5432,
      want: { kind: "hbone", nextHop: { host: "10.0.9.9", port: 15008 }, authority: "10.0.3.1:5432", expectedIdentities: [id("default", "waypoint")] },
    },
    { name: "destination without HBONE: plain TCP", source: sleep, host: "10.0.4.1", port: 80, want: { kind: "passthrough", nextHop: { host: "10.0.4.1", port: 80 } } },
    { name: "destination unknown to the mesh: plain TCP", source: sleep, host: "192.0.2.7", port: 443, want: { kind: "passthrough", nextHop: { host: "192.0.2.7", port: 443 } } },
    { name: "another network: deny (no double-HBONE)", source: sleep, host: "10.1.0.1", port: 80, want: { kind: "deny", reason: /double-HBONE/ } },
  ];
  for (const c of cases) {
    const plan = buildOutbound(s, c.source, { host: c.host, port: c.port }, { ...opts, pick: () => c.pick ?? 0 });
    assert.equal(plan.kind, c.want.kind, `${c.name}: ${JSON.stringify(plan)}`);
    const { reason, ...fields } = c.want;
    if (reason) assert.match((plan as { reason: string }).reason, reason, c.name);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual((plan as unknown as Record<string, unknown>)[k], v, `${c.name}: ${k}`);
  }
});

test("buildOutbound(): the endpoint choice is the injected pick's, bounded", () => {
  const s = mesh();
  const seen = new Set<string>();
  for (const i of [0, 1, 7, -3]) {
    const plan = buildOutbound(s, s.workload("sleep"), { host: "10.96.0.10", port: 80 }, { hbonePort: 15008, pick: () => i });
    assert.equal(plan.kind, "hbone");
    if (plan.kind === "hbone") seen.add(plan.nextHop.host);
  }
  assert.deepEqual([...seen].sort(), ["10.0.1.1", "10.0.1.2"]);
});
