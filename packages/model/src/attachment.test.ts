import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildModel } from "./build.js";
import { explainService } from "./explain.js";
import { namespace, pod, resource, service, waypointGateway } from "./testing.js";

const mesh = [
  namespace("istio-system"),
  namespace("a", { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" }),
  waypointGateway("a", "waypoint"),
  resource("Gateway", "a", "ingress", { gatewayClassName: "istio", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] }),
  service("a", "reviews", {}, 9080, "10.96.0.12"),
  service("a", "legacy", { "istio.io/use-waypoint": "none" }, 8080, "10.96.0.13"),
  pod("a", "reviews-v1", "reviews", "10.244.0.5", { version: "v1" }, "bookinfo-reviews"),
  resource("ServiceEntry", "a", "ext", { hosts: ["api.example.com", "www.example.com"], ports: [{ number: 443, name: "tls", protocol: "TLS" }], location: "MESH_EXTERNAL", resolution: "DNS" }),
];

const policy = (name: string, targetRefs: unknown[] | undefined, ns = "a") =>
  resource("AuthorizationPolicy", ns, name, { ...(targetRefs ? { targetRefs } : {}), action: "ALLOW", rules: [{}] });

describe("policy attachment", () => {
  it("attaches by Gateway, Service, ServiceEntry and GatewayClass, and leaves targetless policies to ztunnel", () => {
    const m = buildModel([
      ...mesh,
      policy("gw", [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" }]),
      policy("svc", [{ group: "", kind: "Service", name: "reviews" }]),
      policy("se", [{ group: "networking.istio.io", kind: "ServiceEntry", name: "ext" }]),
      policy("class", [{ group: "gateway.networking.k8s.io", kind: "GatewayClass", name: "istio-waypoint" }], "istio-system"),
      policy("l4", undefined),
    ]);
    const by = (n: string) => m.attachments.find((a) => a.policy.key.name === n)!;
    assert.deepEqual(by("gw").waypoints.map((w) => w.name), ["waypoint"]);
    assert.deepEqual(by("svc").services.map((s) => s.hostname), ["reviews.a.svc.cluster.local"]);
    // The ServiceEntry has no waypoint binding of its own, but its namespace's label binds it.
    assert.deepEqual(by("se").services.map((s) => s.hostname), ["api.example.com", "www.example.com"]);
    assert.deepEqual(by("class").waypoints.map((w) => w.name), ["waypoint"]);
    assert.equal(by("l4").ztunnel, true);
    assert.equal(by("svc").ztunnel, false);
  });

  it("reports targets that do not exist, are not waypoints, have no waypoint, or sit in another namespace", () => {
    const m = buildModel([
      ...mesh,
      policy("bad", [
        { group: "", kind: "Service", name: "ghost" },
        { group: "gateway.networking.k8s.io", kind: "Gateway", name: "ingress" },
        { group: "", kind: "Service", name: "legacy" },
        { group: "", kind: "Service", name: "reviews", namespace: "other" },
        { group: "apps", kind: "Deployment", name: "x" },
        { group: "gateway.networking.k8s.io", kind: "GatewayClass", name: "istio-waypoint" },
      ]),
    ]);
    const msgs = m.conditions.filter((c) => c.resource.name === "bad").map((c) => `${c.reason}: ${c.message}`);
    assert.deepEqual(msgs, [
      "TargetNotFound: spec.targetRefs[0]: Service a/ghost does not exist",
      "TargetNotFound: spec.targetRefs[1]: Gateway a/ingress is not a waypoint (gatewayClassName istio-waypoint); Waystation does not apply policies to other gateways yet",
      "NoWaypoint: spec.targetRefs[2]: Service a/legacy has no waypoint, so no proxy enforces this policy for it",
      "TargetNotFound: spec.targetRefs[3]: targets must be in the policy's namespace a, not other",
      "InvalidKind: spec.targetRefs[4]: cannot target apps/Deployment; use Gateway, GatewayClass, Service or ServiceEntry",
      "TargetNotFound: spec.targetRefs[5]: a policy targeting GatewayClass istio-waypoint must be in the root namespace istio-system",
    ]);
  });

  it("explains a service: binding, ports, workloads and policies", () => {
    const m = buildModel([...mesh, policy("gw", [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" }]), policy("svc", [{ kind: "Service", name: "reviews" }])]);
    assert.deepEqual(explainService(m, "reviews.a"), [
      "Service a/reviews (reviews.a.svc.cluster.local)",
      "  waypoint: uses waypoint a/waypoint (istio.io/use-waypoint=waypoint on Namespace a)",
      "  addresses: 10.96.0.12",
      "  ports: 9080/HTTP (http)",
      "  workloads: Pod reviews-v1 10.244.0.5",
      "  policy: AuthorizationPolicy a/gw (targets its waypoint)",
      "  policy: AuthorizationPolicy a/svc (targets this service)",
    ]);
    assert.equal(explainService(m, "nope.a"), undefined);
  });

  it("derives identities, uids and capture from the pod", () => {
    const m = buildModel(mesh);
    const w = m.workloads.find((x) => x.name === "reviews-v1")!;
    assert.equal(w.identity, "spiffe://cluster.local/ns/a/sa/bookinfo-reviews");
    assert.equal(w.uid, "Kubernetes//Pod/a/reviews-v1");
    assert.equal(w.tunnel, "HBONE");
    assert.deepEqual(w.services, ["reviews.a.svc.cluster.local"]);
  });
});

describe("ServiceEntry VIP auto-allocation", () => {
  it("gives hosts without addresses a stable 240.240/16 VIP, distinct per host, and leaves NONE resolution alone", () => {
    const se = (name: string, hosts: string[], resolution = "DNS") => resource("ServiceEntry", "a", name, { hosts, ports: [{ number: 80, name: "http", protocol: "HTTP" }], location: "MESH_EXTERNAL", resolution });
    const m1 = buildModel([namespace("a"), se("x", ["a.example.com", "b.example.com"]), se("p", ["pass.example.com"], "NONE")]);
    const m2 = buildModel([se("p", ["pass.example.com"], "NONE"), se("x", ["a.example.com", "b.example.com"]), namespace("a")]);
    const vips = (m: ReturnType<typeof buildModel>) => m.services.map((s) => `${s.hostname}=${s.vips.join(",")}`);
    assert.deepEqual(vips(m1), vips(m2));
    const [a, b, p] = m1.services;
    assert.match(a!.vips[0]!, /^240\.240\.\d+\.\d+$/);
    assert.notEqual(a!.vips[0], b!.vips[0]);
    assert.deepEqual(p!.vips, []);
    assert.equal(a!.autoAllocated, true);
  });
});

describe("resolveShortHost", () => {
  it("expands only dotless names, as Istio does", async () => {
    const { resolveShortHost } = await import("./names.js");
    const { defaultMeshOptions } = await import("./options.js");
    assert.equal(resolveShortHost("reviews", "a", defaultMeshOptions), "reviews.a.svc.cluster.local");
    assert.equal(resolveShortHost("httpbin.org", "a", defaultMeshOptions), "httpbin.org");
    assert.equal(resolveShortHost("reviews.other", "a", defaultMeshOptions), "reviews.other");
    assert.equal(resolveShortHost("*.example.com", "a", defaultMeshOptions), "*.example.com");
    assert.equal(resolveShortHost("10.0.0.1", "a", defaultMeshOptions), "10.0.0.1");
  });
});
