/* eslint-disable @typescript-eslint/no-explicit-any -- Envoy JSON is inspected freely */
/**
 * ext_authz provider clusters: from a mesh loaded from YAML (the `istio` ConfigMap included) to
 * the Envoy JSON of the clusters and endpoints, each run through the strict validator, and a whole
 * waypoint snapshot whose ext_authz filters find their clusters.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson } from "@bufbuild/protobuf";
import { defaultValidator, loadManifests } from "@waystation/api";
import { buildModel, type MeshModel } from "@waystation/model";
import { ClusterSchema, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { formatValidationError, registry, validateResource, validateSnapshot } from "../validate/index.js";
import { translateWaypoint } from "../waypoint/index.js";
import { extAuthzClusters } from "./providerClusters.js";

const base = `apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint } }
---
apiVersion: v1
kind: Namespace
metadata: { name: auth, labels: { istio.io/dataplane-mode: ambient } }
---
apiVersion: v1
kind: Namespace
metadata: { name: legacy }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: shop }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec: { selector: { app: web }, clusterIP: 10.96.0.10, ports: [{ name: http, port: 80, targetPort: 8080 }] }
---
apiVersion: v1
kind: Service
metadata: { name: ext-authz, namespace: auth }
spec:
  selector: { app: ext-authz }
  clusterIP: 10.96.1.10
  ports: [{ name: http, port: 8000, targetPort: 8000 }, { name: tcp-grpc, port: 9000, targetPort: 9000 }]
---
apiVersion: v1
kind: Pod
metadata: { name: ext-authz-1, namespace: auth, labels: { app: ext-authz } }
spec: { serviceAccountName: ext-authz, nodeName: node-a, containers: [{ name: ext-authz }] }
status: { phase: Running, podIP: 10.244.1.20 }
---
apiVersion: v1
kind: Service
metadata: { name: opa, namespace: legacy }
spec: { selector: { app: opa }, clusterIP: 10.96.2.10, ports: [{ name: grpc, port: 9191 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: opa-1, namespace: legacy, labels: { app: opa } }
spec: { containers: [{ name: opa }] }
status: { phase: Running, podIP: 10.244.2.30 }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    extensionProviders:
      - name: http-authz
        envoyExtAuthzHttp: { service: ext-authz.auth.svc.cluster.local, port: 8000, timeout: 0.5s }
      - name: grpc-authz
        envoyExtAuthzGrpc: { service: auth/ext-authz.auth.svc.cluster.local, port: 9000 }
      - name: opa
        envoyExtAuthzGrpc: { service: opa.legacy.svc.cluster.local, port: 9191 }
      - name: external
        envoyExtAuthzHttp: { service: authz.example.com, port: 443, failOpen: true }
      - name: by-ip
        envoyExtAuthzGrpc: { service: 192.0.2.7, port: 9000 }
      - name: no-port
        envoyExtAuthzHttp: { service: ext-authz.auth.svc.cluster.local, port: 8081 }
      - name: no-endpoints
        envoyExtAuthzHttp: { service: web.shop.svc.cluster.local, port: 80 }
      - name: unused
        envoyExtAuthzHttp: { service: unused.auth.svc.cluster.local, port: 80 }
`;

/** A CUSTOM policy on the waypoint (or on a service, with `target`). */
const custom = (name: string, provider: string, extra = "", target = "{ kind: Gateway, group: gateway.networking.k8s.io, name: waypoint }") => `---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: shop${extra} }
spec:
  targetRefs: [${target}]
  action: CUSTOM
  provider: { name: ${provider} }
  rules: [{ to: [{ operation: { paths: ["/admin/*"] } }] }]
`;

function model(...policies: string[]): MeshModel {
  const r = loadManifests([{ path: "mesh.yaml", text: base + policies.join("") }], defaultValidator());
  assert.deepEqual(r.problems.filter((p) => p.severity === "error"), []);
  return buildModel(r.resources);
}

function build(...policies: string[]) {
  const m = model(...policies);
  return extAuthzClusters(m, m.waypoints.find((w) => w.name === "waypoint")!);
}

/** Envoy JSON of a cluster, after the strict validator accepted it. */
function clusterJson(c: Cluster): any {
  assert.deepEqual(validateResource(ClusterSchema, c).errors.map(formatValidationError), [], `cluster ${c.name} must validate`);
  return toJson(ClusterSchema, c, { registry, useProtoFieldName: true });
}
function endpointsJson(e: ClusterLoadAssignment): any {
  assert.deepEqual(validateResource(ClusterLoadAssignmentSchema, e).errors.map(formatValidationError), []);
  return toJson(ClusterLoadAssignmentSchema, e, { registry, useProtoFieldName: true });
}
const h2 = (c: any) => c.typed_extension_protocol_options?.["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]?.explicit_http_config;

describe("ext_authz provider clusters", () => {
  it("reaches a provider in an ambient namespace over HBONE: EDS through connect_originate", () => {
    const r = build(custom("admin", "http-authz"));
    assert.deepEqual(r.conditions, []);
    assert.deepEqual(r.clusters.map((c) => c.name), ["outbound|8000||ext-authz.auth.svc.cluster.local"]);
    const c = clusterJson(r.clusters[0]!);
    assert.equal(c.type, "EDS");
    assert.deepEqual(c.eds_cluster_config, { eds_config: { ads: {}, resource_api_version: "V3" } });
    assert.equal(c.connect_timeout, "10s");
    assert.equal(c.transport_socket.name, "internal_upstream");
    assert.equal(h2(c), undefined, "an HTTP provider on an HTTP port speaks HTTP/1.1");
    assert.deepEqual(c.metadata.filter_metadata.istio.services, [{ host: "ext-authz.auth.svc.cluster.local", name: "ext-authz", namespace: "auth" }]);
    assert.deepEqual(r.endpoints.map(endpointsJson), [{
      cluster_name: "outbound|8000||ext-authz.auth.svc.cluster.local",
      endpoints: [{ lb_endpoints: [{
        endpoint: { address: { envoy_internal_address: { server_listener_name: "connect_originate", endpoint_id: "10.244.1.20:8000" } } },
        health_status: "HEALTHY",
        metadata: { filter_metadata: { "envoy.filters.listener.original_dst": { local: "10.244.1.20:8000" } } },
      }] }],
    }]);
  });

  it("gives a gRPC provider HTTP/2 even on a port declared tcp, and honours the namespace qualifier", () => {
    const r = build(custom("admin", "grpc-authz"));
    assert.deepEqual(r.clusters.map((c) => c.name), ["outbound|9000||ext-authz.auth.svc.cluster.local"]);
    assert.deepEqual(h2(clusterJson(r.clusters[0]!)), { http2_protocol_options: {} });
    assert.equal(endpointsJson(r.endpoints[0]!).endpoints[0].lb_endpoints[0].endpoint.address.envoy_internal_address.endpoint_id, "10.244.1.20:9000");
  });

  it("reaches a provider outside ambient with plain socket endpoints", () => {
    const r = build(custom("admin", "opa"));
    assert.deepEqual(h2(clusterJson(r.clusters[0]!)), { http2_protocol_options: {} });
    assert.deepEqual(endpointsJson(r.endpoints[0]!).endpoints[0].lb_endpoints[0].endpoint, { address: { socket_address: { address: "10.244.2.30", port_value: 9191 } } });
  });

  it("reaches a host the mesh does not know by DNS, and says so on the policy", () => {
    const r = build(custom("admin", "external"));
    assert.deepEqual(r.clusters.map(clusterJson), [{
      name: "outbound|443||authz.example.com",
      type: "LOGICAL_DNS",
      connect_timeout: "10s",
      dns_lookup_family: "V4_PREFERRED",
      load_assignment: {
        cluster_name: "outbound|443||authz.example.com",
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "authz.example.com", port_value: 443 } } } }] }],
      },
    }]);
    assert.deepEqual(r.endpoints, []);
    assert.deepEqual(r.conditions, [{
      resource: { group: "security.istio.io", kind: "AuthorizationPolicy", namespace: "shop", name: "admin" },
      type: "WaypointAccepted", status: "True", reason: "ProviderServiceNotFound",
      message: 'spec.provider.name: extension provider "external" names service "authz.example.com", which is not the fully qualified host of a Service or ServiceEntry '
        + "Waystation knows; waypoint shop/waypoint reaches authz.example.com:443 by DNS instead, and if that fails the requests this policy selects are allowed (failOpen is true)",
    }]);
  });

  it("uses a STATIC cluster for an IP address, with HTTP/2 for gRPC", () => {
    const c = clusterJson(build(custom("admin", "by-ip")).clusters[0]!);
    assert.equal(c.type, "STATIC");
    assert.equal(c.dns_lookup_family, undefined);
    assert.deepEqual(h2(c), { http2_protocol_options: {} });
  });

  it("reports a mesh service without the provider's port", () => {
    const r = build(custom("admin", "no-port"));
    assert.equal(clusterJson(r.clusters[0]!).type, "LOGICAL_DNS");
    assert.deepEqual(r.conditions.map((c) => c.reason), ["ProviderServiceNotFound"]);
    assert.match(r.conditions[0]!.message, /whose Service auth\/ext-authz has no port 8081 \(ports: 8000, 9000\)/);
  });

  it("builds clusters only for providers that enforced CUSTOM policies on this waypoint use, one per provider, sorted", () => {
    const r = build(
      custom("a", "http-authz"),
      custom("b", "http-authz", "", '{ kind: Service, group: "", name: web }'),
      custom("c", "opa"),
      custom("dry", "external", ", annotations: { istio.io/dry-run: \"true\" }"),
      custom("other-service", "by-ip", "", '{ kind: Service, group: "", name: not-here }'),
      custom("unknown", "not-defined"),
    );
    assert.deepEqual(r.clusters.map((c) => c.name), ["outbound|8000||ext-authz.auth.svc.cluster.local", "outbound|9191||opa.legacy.svc.cluster.local"]);
    assert.deepEqual(r.endpoints.map((e) => e.clusterName), r.clusters.map((c) => c.name));
    assert.deepEqual(r.conditions, [], "unknown providers are reported by the RBAC translator, not here");
  });

  it("takes the mesh config's connect timeout, and options override the providers", () => {
    const m = model(custom("admin", "external"));
    const w = m.waypoints[0]!;
    const slow = extAuthzClusters({ ...m, meshConfig: { ...m.meshConfig, connectTimeoutSeconds: 2.5 } }, w);
    assert.equal(clusterJson(slow.clusters[0]!).connect_timeout, "2.500s");
    assert.deepEqual(extAuthzClusters(m, w, { extensionProviders: [] }).clusters, []);
  });

  it("completes the waypoint snapshot: translateWaypoint carries the provider's cluster, and the snapshot validates", () => {
    const m = model(custom("admin", "http-authz"));
    const w = m.waypoints[0]!;
    const t = translateWaypoint(m, w);
    const p = extAuthzClusters(m, w);
    assert.ok(p.clusters.length > 0);
    for (const c of p.clusters) assert.ok(t.resources.clusters.some((x) => x.name === c.name), `${c.name} is in the waypoint's CDS`);
    assert.deepEqual(validateSnapshot(t.resources, { external: { secrets: ["default", "ROOTCA"] } }).map(formatValidationError), []);
  });

  it("reports a provider service without endpoints", () => {
    const r = build(custom("admin", "no-endpoints"));
    assert.deepEqual(r.conditions.map((c) => [c.reason, c.message]), [["ProviderNoEndpoints",
      'spec.provider.name: extension provider "no-endpoints": web.shop.svc.cluster.local has no endpoints for port 80, so checks fail and the requests this policy selects are denied (failOpen is false)']]);
    assert.deepEqual(endpointsJson(r.endpoints[0]!), { cluster_name: "outbound|80||web.shop.svc.cluster.local" });
  });
});
