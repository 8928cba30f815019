/* eslint-disable @typescript-eslint/no-explicit-any -- Envoy JSON is inspected freely */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson } from "@bufbuild/protobuf";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { defaultValidator, loadManifests } from "@waystation/api";
import { buildModel, type MeshModel } from "@waystation/model";
import { registry } from "../validate/index.js";
import { routeConfigForPort, waypointResolver } from "./index.js";

const base = `
apiVersion: v1
kind: Namespace
metadata: { name: ns, labels: { istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: ns }
spec: { gatewayClassName: istio-waypoint, listeners: [{ name: mesh, port: 15008, protocol: HBONE }] }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: ns }
spec: { selector: { app: web }, clusterIP: 10.96.0.10, ports: [{ name: http, port: 80 }, { name: http-alt, port: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: api, namespace: ns }
spec: { selector: { app: api }, clusterIP: 10.96.0.11, ports: [{ name: http, port: 9080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: novip, namespace: ns }
spec: { selector: { app: novip }, clusterIP: None, ports: [{ name: http, port: 80 }] }
---
apiVersion: v1
kind: Service
metadata: { name: elsewhere, namespace: other }
spec: { selector: { app: elsewhere }, clusterIP: 10.96.0.12, ports: [{ name: http, port: 80 }] }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: ns }
spec: { host: api, subsets: [{ name: v1, labels: { version: v1 } }] }
`;

function model(extra = ""): MeshModel {
  const loaded = loadManifests([{ path: "t.yaml", text: base + extra }], defaultValidator());
  assert.deepEqual(loaded.problems.filter((p) => p.severity === "error"), []);
  return buildModel(loaded.resources);
}

function portRoutes(m: MeshModel, svcName: string, portNumber: number) {
  const w = m.waypoints[0]!;
  const svc = m.services.find((s) => s.name === svcName)!;
  const port = svc.ports.find((p) => p.port === portNumber)!;
  const r = routeConfigForPort(m, w, svc, port, `chain-${portNumber}`);
  const json = toJson(RouteConfigurationSchema, r.routeConfig, { registry, useProtoFieldName: true }) as any;
  return { ...r, json, routes: json.virtual_hosts[0].routes as any[] };
}

describe("waypointResolver", () => {
  const m = model();
  const w = m.waypoints[0]!;
  const web = m.services.find((s) => s.name === "web")!;
  const resolve = waypointResolver(m, w, web, web.ports[1]!);

  it("defaults the port to the chain's for its own service, else to the only port", () => {
    assert.deepEqual(resolve({ host: "web.ns.svc.cluster.local" }), { cluster: "inbound-vip|8080|http|web.ns.svc.cluster.local" });
    assert.deepEqual(resolve({ host: "api.ns.svc.cluster.local" }), { cluster: "inbound-vip|9080|http|api.ns.svc.cluster.local" });
    assert.deepEqual(resolve({ host: "web.ns.svc.cluster.local", port: 80 }), { cluster: "inbound-vip|80|http|web.ns.svc.cluster.local" });
  });

  it("checks ports and DestinationRule subsets", () => {
    assert.match((resolve({ host: "api.ns.svc.cluster.local", port: 1 }) as { error: string }).error, /has no port 1/);
    assert.deepEqual(resolve({ host: "api.ns.svc.cluster.local", subset: "v1" }), { cluster: "inbound-vip|9080|http/v1|api.ns.svc.cluster.local" });
    assert.match((resolve({ host: "api.ns.svc.cluster.local", subset: "v9" }) as { error: string }).error, /subset "v9" .* not declared by DestinationRule ns\/api/);
    assert.match((resolve({ host: "web.ns.svc.cluster.local", subset: "v1" }) as { error: string }).error, /no DestinationRule/);
  });

  it("refuses hosts the waypoint does not serve (other waypoints, no VIP, unknown)", () => {
    for (const host of ["elsewhere.other.svc.cluster.local", "novip.ns.svc.cluster.local", "nope.example"]) {
      assert.match((resolve({ host }) as { error: string }).error, /is not served by waypoint ns\/waypoint/);
    }
  });
});

describe("routeConfigForPort", () => {
  it("builds the default route when nothing routes the service", () => {
    const r = portRoutes(model(), "web", 80);
    assert.equal(r.json.name, "chain-80");
    assert.equal(r.json.virtual_hosts[0].name, "inbound|http|80");
    assert.deepEqual(r.json.virtual_hosts[0].domains, ["*"]);
    assert.deepEqual(r.routes, [{ name: "default", match: { prefix: "/" }, route: { cluster: "inbound-vip|80|http|web.ns.svc.cluster.local", timeout: "0s" } }]);
    assert.deepEqual(r.conditions, []);
    assert.deepEqual(r.filters, []);
  });

  it("gives other ports of a routed service the default route, and reports conditions once", () => {
    const m = model(`
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: ns }
spec:
  parentRefs: [{ group: "", kind: Service, name: web, port: 80 }]
  rules: [{ matches: [{ path: { type: Exact, value: /x } }], backendRefs: [{ name: api, port: 9080 }] }]
`);
    const p80 = portRoutes(m, "web", 80);
    const p8080 = portRoutes(m, "web", 8080);
    assert.deepEqual(p80.routes.map((x) => x.name), ["ns.web.0"]);
    assert.equal(p80.routes[0].route.cluster, "inbound-vip|9080|http|api.ns.svc.cluster.local");
    assert.deepEqual(p8080.routes.map((x) => x.name), ["default"]);
    assert.deepEqual(p80.conditions.map((c) => `${c.type}=${c.status}`), ["Accepted=True", "ResolvedRefs=True"]);
    assert.deepEqual(p8080.conditions, []);
  });

  it("applies a route without port to every HTTP port, reporting on the first", () => {
    const m = model(`
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: ns }
spec:
  parentRefs: [{ group: "", kind: Service, name: web }]
  rules: [{ backendRefs: [{ name: web, port: 80 }] }]
`);
    const p80 = portRoutes(m, "web", 80);
    const p8080 = portRoutes(m, "web", 8080);
    assert.equal(p8080.routes[0].route.cluster, "inbound-vip|80|http|web.ns.svc.cluster.local");
    assert.match(p80.conditions[0]!.message, /ports 80, 8080/);
    assert.deepEqual(p8080.conditions, []);
  });

  it("answers 500 and reports a backend on another waypoint", () => {
    const m = model(`
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: { name: g, namespace: other }
spec: { from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: ns }], to: [{ group: "", kind: Service }] }
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: ns }
spec:
  parentRefs: [{ group: "", kind: Service, name: web, port: 80 }]
  rules: [{ backendRefs: [{ name: elsewhere, namespace: other, port: 80 }] }]
`);
    const r = portRoutes(m, "web", 80);
    assert.equal(r.routes[0].direct_response.status, 500);
    const refs = r.conditions.find((c) => c.type === "ResolvedRefs")!;
    assert.equal(refs.status, "False");
    assert.equal(refs.reason, "BackendNotServed");
  });

  it("asks for the fault filter when a share answers 500", () => {
    const m = model(`
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: ns }
spec:
  parentRefs: [{ group: "", kind: Service, name: web, port: 80 }]
  rules: [{ backendRefs: [{ name: web, port: 80 }, { name: missing, port: 80 }] }]
`);
    const r = portRoutes(m, "web", 80);
    assert.equal(r.needsFault, true);
    assert.deepEqual(r.filters.map((f) => f.name), ["envoy.filters.http.fault"]);
  });
});
