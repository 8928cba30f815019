import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLocalConfig } from "./localConfig.js";
import { authorize } from "./authz.js";

const GOOD = `
workloads:
  - name: sleep
    namespace: default
    serviceAccount: sleep
    addresses: [10.0.0.2]
    node: node-a
  - uid: custom-uid
    name: echo
    namespace: default
    serviceAccount: echo
    addresses: ["::ffff:10.0.0.3"]
    node: node-b
    services:
      default/echo.default.svc.cluster.local: [{ servicePort: 80, targetPort: 8080 }]
    waypoint: { address: 10.0.0.9, hbonePort: 15009 }
services:
  - name: echo
    namespace: default
    hostname: echo.default.svc.cluster.local
    vips: [10.96.0.10]
    ports: [{ servicePort: 80, targetPort: 8080 }]
    waypoint: { hostname: waypoint.default.svc.cluster.local, namespace: default }
policies:
  - name: strict
    namespace: istio-system
    scope: Global
    action: Deny
    rules: [{ clauses: [{ matches: [{ notPrincipals: [{ presence: {} }] }] }] }]
  - name: only-sleep
    namespace: default
    scope: Namespace
    action: Allow
    rules:
      - clauses:
          - matches:
              - principals: [{ exact: cluster.local/ns/default/sa/sleep }]
                sourceIps: [10.0.0.0/24]
                destinationPorts: [8080]
listeners:
  outbound: [{ source: default/sleep, listen: "127.0.0.1:9000", target: "echo.default.svc.cluster.local:80" }]
  inbound: [{ listen: "10.0.0.3:15006", target: "10.0.0.3:8080" }]
`;

test("local config: the documented shape parses into state records with defaults", () => {
  const cfg = parseLocalConfig(GOOD, "mesh.yaml");
  assert.deepEqual(cfg.errors, []);
  const [sleep, echo] = cfg.workloads;
  assert.equal(sleep?.uid, "Kubernetes//Pod/default/sleep");
  assert.equal(sleep?.trustDomain, "cluster.local");
  assert.equal(sleep?.tunnelProtocol, "HBONE");
  assert.equal(echo?.uid, "custom-uid");
  assert.deepEqual(echo?.addresses, ["10.0.0.3"]);
  assert.deepEqual(echo?.waypoint, { kind: "address", ip: "10.0.0.9", network: "", hbonePort: 15009 });
  assert.deepEqual(cfg.services[0]?.waypoint, { kind: "hostname", hostname: "waypoint.default.svc.cluster.local", namespace: "default", hbonePort: 15008 });
  assert.equal(cfg.policies.length, 2);
  const conn = { srcIp: "10.0.0.2", dstIp: "10.0.0.3", dstPort: 8080, srcIdentity: "spiffe://cluster.local/ns/default/sa/sleep" };
  assert.equal(authorize(cfg.policies, conn).allow, true);
  assert.equal(authorize(cfg.policies, { ...conn, srcIdentity: undefined }).allow, false, "STRICT denies plaintext");
  assert.deepEqual(cfg.listeners.outbound[0], { source: "default/sleep", listen: { host: "127.0.0.1", port: 9000 }, target: { host: "echo.default.svc.cluster.local", port: 80 } });
  assert.deepEqual(cfg.listeners.inbound[0], { listen: { host: "10.0.0.3", port: 15006 }, target: { host: "10.0.0.3", port: 8080 } });
});

test("local config: every error is reported with its field path", () => {
  const cfg = parseLocalConfig(`
workloads:
  - name: a
    addresses: [10.0.0.300]
    tunnelProtocol: TCP
    colour: blue
policies:
  - name: p
    action: Maybe
    scope: Namespace
    rules: [{ clauses: [{ matches: [{ sourceIps: [10.0.0.0/40], principals: [{ exact: a, prefix: b }], destinationPorts: [0] }] }] }]
listeners:
  outbound: [{ source: a, listen: "localhost:1", target: "x" }]
`, "bad.yaml");
  const want = [
    "bad.yaml: workloads[0].colour: unknown field",
    "bad.yaml: workloads[0].namespace: required",
    "bad.yaml: workloads[0].addresses[0]: \"10.0.0.300\" is not an IP address",
    "bad.yaml: workloads[0].tunnelProtocol: \"TCP\" is not one of HBONE, NONE",
    "bad.yaml: policies[0].rules[0].clauses[0].matches[0].principals[0]: exactly one of exact, prefix, suffix, presence",
    "bad.yaml: policies[0].rules[0].clauses[0].matches[0].sourceIps[0]: \"10.0.0.0/40\" is not an IP or CIDR",
    "bad.yaml: policies[0].rules[0].clauses[0].matches[0].destinationPorts[0]: expected a port 1-65535",
    "bad.yaml: policies[0].action: \"Maybe\" is not one of Allow, Deny",
    "bad.yaml: listeners.outbound[0].listen: \"localhost:1\" must be an IP address and port",
    "bad.yaml: listeners.outbound[0].target: \"x\" is not host:port",
  ];
  for (const w of want) assert.ok(cfg.errors.some((e) => e.startsWith(w)), `missing: ${w}\n got:\n${cfg.errors.join("\n")}`);
  assert.match(parseLocalConfig("workloads: [", "x.yaml").errors[0] ?? "", /^x\.yaml: not YAML or JSON/);
});
