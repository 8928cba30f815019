/**
 * The workload API as a ztunnel sees it: start the control plane on the bundled example (port 0),
 * open a Delta ADS stream as a ztunnel with the wildcard subscription ztunnel sends (empty
 * subscribe lists) for istio.workload.Address and istio.security.Authorization, follow a file edit
 * to a `removed_resources` push, and reconnect with `initial_resource_versions`.
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import type { DeltaDiscoveryResponse } from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { Action, AuthorizationSchema, Scope } from "@waystation/proto/istio/security/authorization_pb.js";
import { AddressSchema, TunnelProtocol, type Address } from "@waystation/proto/istio/workload/workload_pb.js";
import { ControlPlane } from "@waystation/controller";
import { RawAdsClient, type DeltaStream } from "@waystation/xds/testing";
import { TypeUrl } from "@waystation/xds";

const root = new URL("..", import.meta.url).pathname;
/** What ztunnel sends (istio-ambient.md §3.1): node type ztunnel, NODE_NAME in the metadata. */
const ztunnelNode = {
  id: "ztunnel~10.0.0.2~ztunnel-abc.istio-system~istio-system.svc.cluster.local",
  metadata: { NAME: "ztunnel-abc", NAMESPACE: "istio-system", NODE_NAME: "node-a", CLUSTER_ID: "Kubernetes" },
};
const ratingsUid = "Kubernetes//Pod/bookinfo/ratings-v1-744894fbdb-9cq7h";

const addressesOf = (res: DeltaDiscoveryResponse) => new Map(res.resources.map((r) => [r.name, fromBinary(AddressSchema, r.resource!.value)]));
const versionsOf = (res: DeltaDiscoveryResponse) => Object.fromEntries(res.resources.map((r) => [r.name, r.version]));
const service = (a: Address | undefined) => (a?.type.case === "service" ? a.type.value : assert.fail("not a service"));
const workload = (a: Address | undefined) => (a?.type.case === "workload" ? a.type.value : assert.fail("not a workload"));

describe("ztunnel over Delta ADS", () => {
  let dir: string;
  let cpl: ControlPlane;
  let client: RawAdsClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "waystation-ztunnel-"));
    await cp(join(root, "examples"), dir, { recursive: true, filter: (src) => !src.includes("/invalid") });
    cpl = new ControlPlane({ config: [dir], xdsPort: 0, secureXdsPort: -1, monitorPort: 0, rateLimit: { port: 0 }, host: "127.0.0.1", debounceMs: 20 });
    await cpl.start();
    client = new RawAdsClient(`127.0.0.1:${cpl.xdsPort}`);
  });
  after(async () => {
    client?.close();
    await cpl?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Wildcard subscription as ztunnel opens it: no names at all; then ACK. */
  async function subscribe(s: DeltaStream, typeUrl: string, init: { node?: typeof ztunnelNode; initialResourceVersions?: Record<string, string> } = {}) {
    s.send({ ...init, typeUrl, resourceNamesSubscribe: [], resourceNamesUnsubscribe: [] });
    const res = await s.next(5000);
    assert.equal(res.typeUrl, typeUrl);
    s.send({ typeUrl, responseNonce: res.nonce });
    return res;
  }

  let before1: { addresses: Record<string, string>; authorizations: Record<string, string> };

  it("sends every workload, service and L4 policy on a wildcard subscription, and removes a deleted pod", async () => {
    const s = client.delta();
    const addr = await subscribe(s, TypeUrl.Address, { node: ztunnelNode });
    const all = addressesOf(addr);
    const pods = [...all.keys()].filter((n) => n.startsWith("Kubernetes//Pod/bookinfo/")).sort();
    assert.deepEqual(pods, [
      "Kubernetes//Pod/bookinfo/details-v1-79f774bdb9-q8z5m", "Kubernetes//Pod/bookinfo/productpage-v1-6b7f6d9c5-x2k9p", ratingsUid,
      "Kubernetes//Pod/bookinfo/reviews-v1-5b5d6494f4-7lr2c", "Kubernetes//Pod/bookinfo/reviews-v2-5b667bcbf8-m4nxt", "Kubernetes//Pod/bookinfo/reviews-v3-5b9bd44f4-kp6wd",
      // The waypoint's own pod: ztunnel resolves the waypoint through its Service to this workload.
      "Kubernetes//Pod/bookinfo/waypoint-6f7d9c8b4-x2x9q",
    ]);
    const wp = workload(all.get("Kubernetes//Pod/bookinfo/waypoint-6f7d9c8b4-x2x9q"));
    assert.equal(wp.waypoint, undefined, "a waypoint's pod uses no waypoint");
    assert.ok(all.has("bookinfo/waypoint.bookinfo.svc.cluster.local"), "the waypoint Service is served");
    assert.ok(all.has("Kubernetes/networking.istio.io/WorkloadEntry/bookinfo/ratings-vm"));
    for (const name of ["productpage", "details", "reviews", "ratings"]) {
      const svc = service(all.get(`bookinfo/${name}.bookinfo.svc.cluster.local`));
      assert.equal(svc.waypoint?.destination.case, "hostname", `${name} uses the namespace waypoint`);
      assert.equal((svc.waypoint?.destination.value as { hostname: string }).hostname, "waypoint.bookinfo.svc.cluster.local");
      assert.equal(svc.waypoint?.hboneMtlsPort, 15008);
    }
    assert.ok(service(all.get("istio-egress/httpbin.org")).waypoint, "the egress ServiceEntry uses the egress waypoint");
    const details = workload(all.get("Kubernetes//Pod/bookinfo/details-v1-79f774bdb9-q8z5m"));
    assert.equal(details.node, "node-a");
    assert.equal(details.tunnelProtocol, TunnelProtocol.HBONE);
    assert.deepEqual(details.addresses.map((b) => [...b]), [[10, 244, 1, 11]]);
    assert.deepEqual(details.authorizationPolicies, ["bookinfo/details-namespace-only", "istio-system/istio_converted_static_strict"]);

    const authz = await subscribe(s, TypeUrl.Authorization);
    assert.deepEqual(authz.resources.map((r) => r.name), ["bookinfo/details-namespace-only", "istio-system/istio_converted_static_strict"]);
    const l4 = fromBinary(AuthorizationSchema, authz.resources[0]!.resource!.value);
    assert.equal(l4.scope, Scope.WORKLOAD_SELECTOR);
    assert.equal(l4.action, Action.ALLOW);
    assert.deepEqual(l4.rules[0]?.clauses[0]?.matches[0]?.namespaces.map((m) => m.matchType.value), ["bookinfo"]);
    await s.none(200);
    before1 = { addresses: versionsOf(addr), authorizations: versionsOf(authz) };

    // Delete the ratings pod from the files: ztunnel is told to remove exactly its uid.
    const file = join(dir, "workloads.yaml");
    const docs = (await readFile(file, "utf8")).split(/^---\n/m);
    await writeFile(file, docs.filter((d) => !d.includes("name: ratings-v1-744894fbdb-9cq7h")).join("---\n"));
    const pushed = await s.next(5000);
    assert.equal(pushed.typeUrl, TypeUrl.Address);
    assert.deepEqual(pushed.removedResources, [ratingsUid]);
    assert.deepEqual(pushed.resources, [], "nothing else changed");
    s.send({ typeUrl: TypeUrl.Address, responseNonce: pushed.nonce });
    await s.none(300);
    s.close();
  });

  it("on reconnect with initial_resource_versions, sends only what differs", async () => {
    // The client still holds the ratings pod (removed while it was away) and a stale reviews service.
    const held = { ...before1.addresses, "bookinfo/reviews.bookinfo.svc.cluster.local": "" };
    const s = client.delta();
    const addr = await subscribe(s, TypeUrl.Address, { node: ztunnelNode, initialResourceVersions: held });
    assert.deepEqual(addr.resources.map((r) => r.name), ["bookinfo/reviews.bookinfo.svc.cluster.local"]);
    assert.deepEqual(addr.removedResources, [ratingsUid]);
    const authz = await subscribe(s, TypeUrl.Authorization, { initialResourceVersions: before1.authorizations });
    assert.deepEqual([authz.resources.length, authz.removedResources.length], [0, 0], "an up-to-date type gets an empty answer");
    await s.none(200);
    s.close();
  });

  it("reports the ztunnel snapshot and its conditions in /debug/status", async () => {
    const status = await (await fetch(`http://127.0.0.1:${cpl.monitorPort}/debug/status`)).json() as {
      snapshots: { group: string; ok: boolean; versions: Record<string, string> }[]; conditions: { resource: string; type: string; reason: string }[];
    };
    const z = status.snapshots.find((x) => x.group === "ztunnel");
    assert.ok(z?.ok, JSON.stringify(status.snapshots));
    assert.ok(status.conditions.some((c) => c.resource === "AuthorizationPolicy bookinfo/details-namespace-only" && c.type === "ZtunnelAccepted" && c.reason === "Accepted"));
  });
});
