import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { LoadedResource } from "@waystation/api";
import type { MeshOptions } from "@waystation/model";
import {
  IPFamilies, LoadBalancing_HealthPolicy as Health, LoadBalancing_Mode as Mode, LoadBalancing_Scope as Scope, NetworkMode, TunnelProtocol,
  WorkloadStatus, WorkloadType, type Service, type Workload,
} from "@waystation/proto/istio/workload/workload_pb.js";
import { buildModel } from "../../../model/src/build.js";
import { namespace, pod, resource, service, waypointGateway } from "../../../model/src/testing.js";
import { addressName, translateWorkloadApi } from "./index.js";

const ambient = namespace("shop", { "istio.io/dataplane-mode": "ambient" });
const api = (rs: LoadedResource[], opts: Partial<MeshOptions> = {}) => translateWorkloadApi(buildModel([namespace("istio-system"), ambient, ...rs], opts));
const workload = (rs: LoadedResource[], uid: string, opts: Partial<MeshOptions> = {}): Workload => {
  const a = api(rs, opts).addresses.find((x) => addressName(x) === uid);
  assert.ok(a?.type.case === "workload", `no workload ${uid}`);
  return a.type.value;
};
const svc = (rs: LoadedResource[], name: string): Service => {
  const a = api(rs).addresses.find((x) => addressName(x) === name);
  assert.ok(a?.type.case === "service", `no service ${name}`);
  return a.type.value;
};
const podUid = (name: string, ns = "shop") => `Kubernetes//Pod/${ns}/${name}`;
const bytes = (...b: number[]) => new Uint8Array(b);

/** A pod with every field the tests vary. */
function fullPod(name: string, o: {
  labels?: Record<string, string>; annotations?: Record<string, string>; ports?: { name?: string; containerPort: number }[];
  ready?: boolean; ip?: string; owner?: { kind: string; name: string }; hostNetwork?: boolean; deleting?: boolean;
} = {}): LoadedResource {
  const r = resource("Pod", "shop", name, {
    serviceAccountName: "web-sa", nodeName: "node-a", ...(o.hostNetwork ? { hostNetwork: true } : {}),
    containers: [{ name: "app", ports: o.ports ?? [] }],
  }, {
    labels: { app: "web", ...o.labels }, ...(o.annotations ? { annotations: o.annotations } : {}),
    status: { phase: "Running", podIP: o.ip ?? "10.244.1.10", conditions: [{ type: "Ready", status: o.ready === false ? "False" : "True" }] },
  });
  if (o.owner) r.object.metadata.ownerReferences = [{ apiVersion: "apps/v1", controller: true, ...o.owner }];
  if (o.deleting) r.object.metadata.deletionTimestamp = "2025-01-01T00:00:00Z";
  return r;
}

describe("workload API: pods", () => {
  it("fills every field of a captured pod as istiod does", () => {
    const w = workload([fullPod("web-6b7f6d9c5-x2k9p", { labels: { version: "v2", "topology.istio.io/network": "net-1" } }), service("shop", "web", {}, 80)], podUid("web-6b7f6d9c5-x2k9p"));
    assert.equal(w.uid, "Kubernetes//Pod/shop/web-6b7f6d9c5-x2k9p");
    assert.equal(w.name, "web-6b7f6d9c5-x2k9p");
    assert.equal(w.namespace, "shop");
    assert.deepEqual(w.addresses, [bytes(10, 244, 1, 10)]);
    assert.equal(w.hostname, "");
    assert.equal(w.network, "net-1");
    assert.equal(w.tunnelProtocol, TunnelProtocol.HBONE, "enrolled through the namespace");
    assert.equal(w.trustDomain, "", "cluster.local is left empty");
    assert.equal(w.serviceAccount, "web-sa");
    assert.equal(w.node, "node-a");
    assert.equal(w.canonicalName, "web");
    assert.equal(w.canonicalRevision, "v2");
    assert.equal(w.workloadType, WorkloadType.POD);
    assert.equal(w.workloadName, "web");
    assert.equal(w.nativeTunnel, false);
    assert.equal(w.waypoint, undefined);
    assert.equal(w.status, WorkloadStatus.HEALTHY);
    assert.equal(w.clusterId, "Kubernetes");
    assert.equal(w.networkMode, NetworkMode.STANDARD);
    assert.deepEqual(Object.keys(w.services), ["shop/web.shop.svc.cluster.local"]);
    assert.deepEqual(w.services["shop/web.shop.svc.cluster.local"]?.ports.map((p) => [p.servicePort, p.targetPort]), [[80, 80]]);
  });

  it("resolves a named target port per pod; the service says 0", () => {
    const named = resource("Service", "shop", "web", { selector: { app: "web" }, clusterIP: "10.96.0.1", ports: [
      { name: "http", port: 80, targetPort: "http-web" },
      { name: "grpc", port: 9090, targetPort: 9091 },
    ] });
    const rs = [named, fullPod("web-a", { ports: [{ name: "http-web", containerPort: 8080 }] }), fullPod("web-b", { ip: "10.244.1.11", ports: [{ name: "other", containerPort: 7000 }] })];
    assert.deepEqual(svc(rs, "shop/web.shop.svc.cluster.local").ports.map((p) => [p.servicePort, p.targetPort]), [[80, 0], [9090, 9091]]);
    const ports = (pod: string) => workload(rs, podUid(pod)).services["shop/web.shop.svc.cluster.local"]?.ports.map((p) => [p.servicePort, p.targetPort]);
    assert.deepEqual(ports("web-a"), [[80, 8080], [9090, 9091]]);
    assert.deepEqual(ports("web-b"), [[9090, 9091]], "a pod without the named port is not an endpoint of that port");
  });

  const cases: { name: string; pod: LoadedResource; check: (w: Workload) => void }[] = [
    { name: "not Ready -> UNHEALTHY", pod: fullPod("p", { ready: false }), check: (w) => assert.equal(w.status, WorkloadStatus.UNHEALTHY) },
    { name: "terminating -> UNHEALTHY", pod: fullPod("p", { deleting: true }), check: (w) => assert.equal(w.status, WorkloadStatus.UNHEALTHY) },
    { name: "native tunnel label", pod: fullPod("p", { labels: { "networking.istio.io/tunnel": "http", "istio.io/dataplane-mode": "none" } }),
      check: (w) => { assert.equal(w.tunnelProtocol, TunnelProtocol.HBONE); assert.equal(w.nativeTunnel, true); } },
    { name: "opted out of ambient", pod: fullPod("p", { labels: { "istio.io/dataplane-mode": "none" } }), check: (w) => assert.equal(w.tunnelProtocol, TunnelProtocol.NONE) },
    { name: "redirection pending", pod: fullPod("p", { annotations: { "ambient.istio.io/redirection": "pending" } }), check: (w) => assert.equal(w.tunnelProtocol, TunnelProtocol.NONE) },
    { name: "hostNetwork", pod: fullPod("p", { hostNetwork: true }), check: (w) => assert.equal(w.networkMode, NetworkMode.HOST_NETWORK) },
    { name: "canonical labels win", pod: fullPod("p", { labels: { "service.istio.io/canonical-name": "shopfront", "service.istio.io/canonical-revision": "r7", "app.kubernetes.io/name": "x", version: "v1" } }),
      check: (w) => assert.deepEqual([w.canonicalName, w.canonicalRevision], ["shopfront", "r7"]) },
    { name: "app.kubernetes.io labels before app/version", pod: fullPod("p", { labels: { "app.kubernetes.io/name": "kname", "app.kubernetes.io/version": "kv", version: "v1" } }),
      check: (w) => assert.deepEqual([w.canonicalName, w.canonicalRevision], ["kname", "kv"]) },
    { name: "no version label -> latest", pod: fullPod("p"), check: (w) => assert.deepEqual([w.canonicalName, w.canonicalRevision], ["web", "latest"]) },
    { name: "workload name from a ReplicaSet owner", pod: fullPod("p", { labels: { "pod-template-hash": "5d8f7" }, owner: { kind: "ReplicaSet", name: "web-api-5d8f7" } }),
      check: (w) => assert.equal(w.workloadName, "web-api") },
    { name: "workload name from a StatefulSet owner", pod: fullPod("p", { owner: { kind: "StatefulSet", name: "db" } }), check: (w) => assert.equal(w.workloadName, "db") },
    { name: "bare pod keeps its name", pod: fullPod("p"), check: (w) => assert.equal(w.workloadName, "p") },
  ];
  for (const c of cases) it(c.name, () => c.check(workload([c.pod], podUid(c.pod.key.name))));

  it("derives the workload name from a pod name with Kubernetes suffixes, and uses the pod-template-hash label", () => {
    assert.equal(workload([fullPod("reviews-v1-5b5d6494f4-7lr2c")], podUid("reviews-v1-5b5d6494f4-7lr2c")).workloadName, "reviews-v1");
    assert.equal(workload([fullPod("api-abc12-xyz12", { labels: { "pod-template-hash": "abc12" } })], podUid("api-abc12-xyz12")).workloadName, "api");
  });

  it("sets the trust domain only when it is not cluster.local", () => {
    assert.equal(workload([fullPod("p")], podUid("p"), { trustDomain: "example.org" }).trustDomain, "example.org");
  });

  it("encodes IPv6 addresses in 16 bytes", () => {
    const w = workload([fullPod("p", { ip: "fd00::a" })], podUid("p"));
    assert.equal(w.addresses[0]?.length, 16);
    assert.equal(w.addresses[0]?.[15], 10);
  });
});

describe("workload API: WorkloadEntry and ServiceEntry", () => {
  const vm = resource("WorkloadEntry", "shop", "vm-1", { address: "10.10.0.5", labels: { app: "web" }, serviceAccount: "vm-sa", network: "vm-net", locality: "eu/eu-west-1a/rack1", ports: { http: 8081 } });
  it("a WorkloadEntry: uid, address, network, locality and the port of its `ports` entry", () => {
    const w = workload([vm, service("shop", "web", {}, 80)], "Kubernetes/networking.istio.io/WorkloadEntry/shop/vm-1");
    assert.equal(w.name, "vm-1");
    assert.deepEqual(w.addresses, [bytes(10, 10, 0, 5)]);
    assert.equal(w.network, "vm-net");
    assert.equal(w.serviceAccount, "vm-sa");
    assert.equal(w.workloadName, "vm-1");
    assert.deepEqual(w.locality, { $typeName: "istio.workload.Locality", region: "eu", zone: "eu-west-1a", subzone: "rack1" });
    assert.deepEqual(w.services["shop/web.shop.svc.cluster.local"]?.ports.map((p) => [p.servicePort, p.targetPort]), [[80, 8081]], "ports.http overrides the target port");
  });

  it("a DNS WorkloadEntry has a host name instead of addresses", () => {
    const w = workload([resource("WorkloadEntry", "shop", "vm-dns", { address: "vm.example.com", labels: { app: "web" } })], "Kubernetes/networking.istio.io/WorkloadEntry/shop/vm-dns");
    assert.deepEqual(w.addresses, []);
    assert.equal(w.hostname, "vm.example.com");
  });

  const se = resource("ServiceEntry", "shop", "legacy", {
    hosts: ["legacy.internal"], addresses: ["10.50.0.1"], location: "MESH_INTERNAL", resolution: "STATIC",
    ports: [{ number: 8080, name: "http", protocol: "HTTP" }], subjectAltNames: ["spiffe://cluster.local/ns/shop/sa/legacy"],
    endpoints: [{ address: "10.60.0.1", labels: { app: "legacy" } }, { address: "10.60.0.2", ports: { http: 18080 }, network: "dc2" }],
  });
  it("ServiceEntry inline endpoints become workloads with the ServiceEntry uid form", () => {
    const names = api([se]).addresses.map(addressName);
    assert.deepEqual(names, [
      "Kubernetes/networking.istio.io/ServiceEntry/shop/legacy/10.60.0.1",
      "Kubernetes/networking.istio.io/ServiceEntry/shop/legacy/10.60.0.2",
      "shop/legacy.internal",
    ]);
    const a = workload([se], "Kubernetes/networking.istio.io/ServiceEntry/shop/legacy/10.60.0.1");
    assert.equal(a.name, "legacy");
    assert.equal(a.canonicalName, "legacy");
    assert.equal(a.tunnelProtocol, TunnelProtocol.NONE);
    assert.deepEqual(a.services["shop/legacy.internal"]?.ports.map((p) => [p.servicePort, p.targetPort]), [[8080, 8080]]);
    const b = workload([se], "Kubernetes/networking.istio.io/ServiceEntry/shop/legacy/10.60.0.2");
    assert.equal(b.network, "dc2");
    assert.deepEqual(b.services["shop/legacy.internal"]?.ports.map((p) => [p.servicePort, p.targetPort]), [[8080, 18080]]);
  });

  it("a ServiceEntry service: VIPs, ports, subject alt names", () => {
    const s = svc([se], "shop/legacy.internal");
    assert.equal(s.name, "legacy");
    assert.equal(s.hostname, "legacy.internal");
    assert.deepEqual(s.addresses.map((a) => [a.network, [...a.address]]), [["", [10, 50, 0, 1]]]);
    assert.deepEqual(s.subjectAltNames, ["spiffe://cluster.local/ns/shop/sa/legacy"]);
    assert.equal(s.ipFamilies, IPFamilies.AUTOMATIC);
  });

  it("a DNS ServiceEntry without endpoints: an auto-allocated VIP and one workload per host, by host name", () => {
    const dns = resource("ServiceEntry", "shop", "ext", { hosts: ["api.example.com"], location: "MESH_EXTERNAL", resolution: "DNS", ports: [{ number: 443, name: "tls", protocol: "TLS" }] });
    const s = svc([dns], "shop/api.example.com");
    assert.equal(s.addresses.length, 1);
    assert.equal(s.addresses[0]?.address[0], 240, "from Istio's auto-allocation range 240.240.0.0/16");
    const w = workload([dns], "Kubernetes/networking.istio.io/ServiceEntry/shop/ext/api.example.com");
    assert.equal(w.hostname, "api.example.com");
    assert.deepEqual(Object.keys(w.services), ["shop/api.example.com"]);
  });

  it("a ServiceEntry with a CIDR address leaves the range out and says why", () => {
    const r = api([resource("ServiceEntry", "shop", "range", { hosts: ["r.internal"], addresses: ["10.70.0.0/16"], resolution: "STATIC", ports: [{ number: 80, name: "http" }], endpoints: [{ address: "10.70.0.1" }] })]);
    const a = r.addresses.find((x) => addressName(x) === "shop/r.internal");
    assert.ok(a?.type.case === "service");
    assert.deepEqual(a.type.value.addresses, []);
    assert.ok(r.conditions.some((c) => c.resource.name === "range" && /range/.test(c.message)));
  });
});

describe("workload API: waypoints", () => {
  const svcWaypoint = waypointGateway("shop", "waypoint");
  const wlWaypoint = waypointGateway("shop", "wl-waypoint", { "istio.io/waypoint-for": "workload" });
  it("a service bound to a waypoint carries its host name and HBONE port", () => {
    const s = svc([svcWaypoint, service("shop", "web", { "istio.io/use-waypoint": "waypoint" })], "shop/web.shop.svc.cluster.local");
    assert.equal(s.waypoint?.destination.case, "hostname");
    assert.deepEqual(s.waypoint?.destination.value, { $typeName: "istio.workload.NamespacedHostname", namespace: "shop", hostname: "waypoint.shop.svc.cluster.local" });
    assert.equal(s.waypoint?.hboneMtlsPort, 15008);
  });

  it("a workload gets Workload.waypoint only from a waypoint for workload traffic", () => {
    const labels = { "istio.io/use-waypoint": "wl-waypoint" };
    const w = workload([wlWaypoint, fullPod("p", { labels })], podUid("p"));
    assert.equal(w.waypoint?.destination.case, "hostname");
    assert.equal((w.waypoint?.destination.value as { hostname: string }).hostname, "wl-waypoint.shop.svc.cluster.local");
    const viaNamespace = api([svcWaypoint, fullPod("q"), service("shop", "web")].concat([namespace("shop", { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" })]));
    const q = viaNamespace.addresses.find((x) => addressName(x) === podUid("q"));
    assert.ok(q?.type.case === "workload");
    assert.equal(q.type.value.waypoint, undefined, "a service waypoint never binds a workload");
  });

  it("a waypoint's own pod gets no waypoint and is not captured", () => {
    const ns = namespace("shop", { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" });
    const wpPod = pod("shop", "waypoint-7d9f8-abcde", "waypoint", "10.244.1.50", { "gateway.networking.k8s.io/gateway-name": "waypoint" }, "waypoint");
    const m = buildModel([ns, svcWaypoint, wpPod]);
    const a = translateWorkloadApi(m).addresses.find((x) => addressName(x) === podUid("waypoint-7d9f8-abcde"));
    assert.ok(a?.type.case === "workload");
    assert.equal(a.type.value.waypoint, undefined);
    assert.equal(a.type.value.tunnelProtocol, TunnelProtocol.NONE);
    assert.equal(a.type.value.applicationTunnel, undefined, "class istio-waypoint has no inbound binding");
  });
});

describe("workload API: service load balancing and IP families", () => {
  const kube = (spec: Record<string, unknown>, annotations?: Record<string, string>) =>
    resource("Service", "shop", "web", { selector: { app: "web" }, clusterIP: "10.96.0.1", ports: [{ name: "http", port: 80 }], ...spec }, annotations ? { annotations } : {});
  const lb = (s: Service) => s.loadBalancing ? [s.loadBalancing.routingPreference, s.loadBalancing.mode, s.loadBalancing.healthPolicy] : undefined;
  const cases: [string, LoadedResource, unknown][] = [
    ["nothing set", kube({}), undefined],
    ["internalTrafficPolicy Local", kube({ internalTrafficPolicy: "Local" }), [[Scope.NODE], Mode.STRICT, Health.ONLY_HEALTHY]],
    ["trafficDistribution PreferClose", kube({ trafficDistribution: "PreferClose" }), [[Scope.NETWORK, Scope.REGION, Scope.ZONE], Mode.FAILOVER, Health.ONLY_HEALTHY]],
    ["traffic-distribution annotation", kube({}, { "networking.istio.io/traffic-distribution": "PreferClose" }), [[Scope.NETWORK, Scope.REGION, Scope.ZONE], Mode.FAILOVER, Health.ONLY_HEALTHY]],
    ["PreferSameNode", kube({ trafficDistribution: "PreferSameNode" }), [[Scope.NETWORK, Scope.REGION, Scope.ZONE, Scope.SUBZONE, Scope.NODE], Mode.FAILOVER, Health.ONLY_HEALTHY]],
    ["Local wins over PreferClose", kube({ internalTrafficPolicy: "Local", trafficDistribution: "PreferClose" }), [[Scope.NODE], Mode.STRICT, Health.ONLY_HEALTHY]],
    ["publishNotReadyAddresses", kube({ publishNotReadyAddresses: true }), [[], Mode.UNSPECIFIED_MODE, Health.ALLOW_ALL]],
  ];
  for (const [name, r, want] of cases) it(name, () => assert.deepEqual(lb(svc([r], "shop/web.shop.svc.cluster.local")), want));

  it("a ServiceEntry with resolution NONE is PASSTHROUGH", () => {
    const s = svc([resource("ServiceEntry", "shop", "any", { hosts: ["any.internal"], addresses: ["10.80.0.1"], resolution: "NONE", ports: [{ number: 80, name: "http" }] })], "shop/any.internal");
    assert.equal(s.loadBalancing?.mode, Mode.PASSTHROUGH);
  });

  const fam: [string, Record<string, unknown>, IPFamilies][] = [
    ["IPv4 cluster IP", {}, IPFamilies.IPV4_ONLY],
    ["IPv6 cluster IP", { clusterIP: "fd00::1" }, IPFamilies.IPV6_ONLY],
    ["dual stack", { clusterIPs: ["10.96.0.1", "fd00::1"] }, IPFamilies.DUAL],
    ["spec.ipFamilies wins", { ipFamilies: ["IPv6"] }, IPFamilies.IPV6_ONLY],
    ["headless", { clusterIP: "None" }, IPFamilies.AUTOMATIC],
  ];
  for (const [name, spec, want] of fam) it(`ip_families: ${name}`, () => assert.equal(svc([kube(spec)], "shop/web.shop.svc.cluster.local").ipFamilies, want));
});
