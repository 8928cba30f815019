import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { AddressSchema } from "@waystation/proto/istio/workload/workload_pb.js";
import { AuthorizationSchema } from "@waystation/proto/istio/security/authorization_pb.js";
import { buildModel } from "../../../model/src/build.js";
import { namespace, pod, resource, service, waypointGateway } from "../../../model/src/testing.js";
import { addressName, authorizationName, checkWorkloadApi, translateWorkloadApi } from "./index.js";

const mesh = [
  namespace("istio-system"),
  namespace("shop", { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" }),
  waypointGateway("shop", "waypoint"),
  service("shop", "web", {}, 80, "10.96.0.2"),
  service("shop", "api", {}, 80, "10.96.0.1"),
  pod("shop", "web-1", "web", "10.244.1.11"),
  pod("shop", "web-0", "web", "10.244.1.10"),
  pod("shop", "api-0", "api", "10.244.1.12"),
  resource("AuthorizationPolicy", "shop", "b", { rules: [{}] }),
  resource("AuthorizationPolicy", "shop", "a", { action: "DENY", rules: [{ from: [{ source: { namespaces: ["x"] } }] }] }),
];

describe("translateWorkloadApi", () => {
  it("sorts resources by name and is deterministic whatever the input order", () => {
    const one = translateWorkloadApi(buildModel(mesh));
    const two = translateWorkloadApi(buildModel([...mesh].reverse()));
    assert.deepEqual(one.addresses.map(addressName), [
      "Kubernetes//Pod/shop/api-0", "Kubernetes//Pod/shop/web-0", "Kubernetes//Pod/shop/web-1",
      "shop/api.shop.svc.cluster.local", "shop/web.shop.svc.cluster.local",
    ]);
    assert.deepEqual(one.authorizations.map(authorizationName), ["shop/a", "shop/b"]);
    const bytes = (r: typeof one) => [...r.addresses.map((a) => toBinary(AddressSchema, a)), ...r.authorizations.map((a) => toBinary(AuthorizationSchema, a))];
    assert.deepEqual(bytes(one), bytes(two));
    assert.deepEqual(checkWorkloadApi(one), []);
  });

  it("says on the waypoint Gateway when ztunnel cannot resolve it (no waypoint Service)", () => {
    const without = translateWorkloadApi(buildModel(mesh));
    const c = without.conditions.find((x) => x.resource.kind === "Gateway" && x.resource.name === "waypoint");
    assert.equal(c?.reason, "NoWaypointService");
    const withSvc = translateWorkloadApi(buildModel([...mesh, service("shop", "waypoint", { "gateway.networking.k8s.io/gateway-name": "waypoint" }, 15008, "10.96.0.9")]));
    assert.equal(withSvc.conditions.find((x) => x.resource.kind === "Gateway"), undefined);
    const wp = withSvc.addresses.find((a) => addressName(a) === "shop/waypoint.shop.svc.cluster.local");
    assert.ok(wp?.type.case === "service");
    assert.equal(wp.type.value.waypoint, undefined, "a waypoint's own Service never has a waypoint");
  });

  it("keeps one Service per namespace/hostname and reports the other definition", () => {
    const dup = resource("ServiceEntry", "shop", "web-alias", { hosts: ["web.shop.svc.cluster.local"], addresses: ["10.96.5.5"], resolution: "STATIC", ports: [{ number: 80, name: "http" }] });
    const r = translateWorkloadApi(buildModel([...mesh, dup]));
    const web = r.addresses.filter((a) => addressName(a) === "shop/web.shop.svc.cluster.local");
    assert.equal(web.length, 1);
    assert.ok(web[0]?.type.case === "service" && web[0].type.value.name === "web", "the Kubernetes Service wins");
    assert.ok(r.conditions.some((c) => c.resource.name === "web-alias" && c.reason === "Conflicted"));
    assert.deepEqual(checkWorkloadApi(r), []);
  });
});

describe("checkWorkloadApi", () => {
  const wl = (uid: string, addresses: Uint8Array[], hostname = "") => create(AddressSchema, { type: { case: "workload", value: { uid, addresses, hostname } } });
  const cases: [string, Parameters<typeof checkWorkloadApi>[0], RegExp[]][] = [
    ["fine", { addresses: [wl("a", [new Uint8Array(4)]), wl("b", [], "b.example.com")], authorizations: [] }, []],
    ["duplicate uid", { addresses: [wl("a", [new Uint8Array(4)]), wl("a", [new Uint8Array(16)])], authorizations: [] }, [/^Address a: duplicate resource name$/]],
    ["5-byte address", { addresses: [wl("a", [new Uint8Array(5)])], authorizations: [] }, [/4 or 16 bytes/]],
    ["no address, no host name", { addresses: [wl("a", [])], authorizations: [] }, [/needs an address or a host name/]],
    ["empty name", { addresses: [wl("", [new Uint8Array(4)])], authorizations: [] }, [/without a name/]],
    ["duplicate policy", { addresses: [], authorizations: [create(AuthorizationSchema, { namespace: "n", name: "p" }), create(AuthorizationSchema, { namespace: "n", name: "p" })] }, [/Authorization n\/p: duplicate/]],
    ["bad CIDR", { addresses: [], authorizations: [create(AuthorizationSchema, { namespace: "n", name: "p", rules: [{ clauses: [{ matches: [{ sourceIps: [{ address: new Uint8Array(4), length: 33 }] }] }] }] })] }, [/prefix \/33/]],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => {
      const errors = checkWorkloadApi(input);
      assert.equal(errors.length, want.length, errors.join("\n"));
      want.forEach((re, i) => assert.match(errors[i]!, re));
    });
  }
});
