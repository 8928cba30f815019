/**
 * The ztunnel's Delta xDS client against (1) a fake ADS server that records every request and
 * sends what the test says, (2) Waystation's own AdsServer over a snapshot cache, and (3) the whole
 * path in xDS mode with certificates from the CA over gRPC (impersonation by node token).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryResponseSchema, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse,
} from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { AddressSchema, TunnelProtocol, type Address } from "@waystation/proto/istio/workload/workload_pb.js";
import { Action, AuthorizationSchema, Scope } from "@waystation/proto/istio/security/authorization_pb.js";
import { CaClient, NodeCredentials, startCaServer } from "@waystation/pki";
import { adsServiceDefinition, buildSnapshot } from "@waystation/xds";
import { startAds } from "@waystation/xds/testing";
import { ADDRESS_TYPE, AUTHORIZATION_TYPE, MeshState, XdsClient, caCertificateSource, startZtunnel, ztunnelNodeId } from "@waystation/ztunnel";
import { ControlPlane } from "@waystation/controller";
import { buildOutbound } from "@waystation/ztunnel";
import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, echoApp, eventually, freePortOn } from "./harness.js";

const ip = (text: string) => Uint8Array.from(text.split(".").map(Number));
type AddressInit = MessageInitShape<typeof AddressSchema>;
const workload = (uid: string, addr: string, extra: Record<string, unknown> = {}): AddressInit =>
  ({ type: { case: "workload", value: { uid, name: uid, namespace: "default", addresses: [ip(addr)], tunnelProtocol: TunnelProtocol.HBONE, ...extra } } });
const resource = (name: string, typeUrl: string, body: Uint8Array, version = "v1") => ({ name, version, resource: { typeUrl, value: body } });
const addressBody = (a: AddressInit) => toBinary(AddressSchema, create(AddressSchema, a));

/** A Delta ADS server whose streams the test drives. */
async function fakeAds() {
  const streams: { requests: DeltaDiscoveryRequest[]; call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>; wake: () => void }[] = [];
  let onStream: (() => void) | undefined;
  const server = new grpc.Server();
  server.addService(adsServiceDefinition, {
    streamAggregatedResources: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end(),
    deltaAggregatedResources: (call: grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>) => {
      const s = { requests: [] as DeltaDiscoveryRequest[], call, wake: () => {} };
      call.on("data", (r: DeltaDiscoveryRequest) => { s.requests.push(r); s.wake(); });
      call.on("error", () => {});
      streams.push(s);
      onStream?.();
    },
  } as never);
  const port = await new Promise<number>((r, j) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? j(e) : r(p))));
  let nonce = 0;
  return {
    address: `127.0.0.1:${port}`, streams,
    /** The n-th request of the current stream, waiting for it. */
    async request(n: number, ms = 3000): Promise<DeltaDiscoveryRequest> {
      const deadline = Date.now() + ms;
      while (streams.length === 0) {
        if (Date.now() > deadline) throw new Error("no stream opened");
        await new Promise((r) => setTimeout(r, 10));
      }
      const s = streams.at(-1)!;
      while (s.requests.length <= n) {
        if (Date.now() > deadline) throw new Error(`request ${n} not received; got ${s.requests.length}`);
        await new Promise<void>((r) => { s.wake = r; setTimeout(r, 50); });
      }
      return s.requests[n]!;
    },
    async nextStream(count: number, ms = 5000): Promise<void> {
      if (streams.length >= count) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => (onStream = r)), new Promise((_, j) => (timer = setTimeout(() => j(new Error("no new stream")), ms)))]);
      clearTimeout(timer);
    },
    send(res: { typeUrl: string; resources?: ReturnType<typeof resource>[]; removedResources?: string[] }): string {
      const n = `n${++nonce}`;
      streams.at(-1)!.call.write(create(DeltaDiscoveryResponseSchema, { ...res, nonce: n }));
      return n;
    },
    close: () => server.forceShutdown(),
  };
}

describe("ztunnel Delta xDS client", () => {
  const cleanup: (() => unknown)[] = [];
  after(async () => { for (const c of cleanup.reverse()) await c(); });

  it("subscribes wildcard, applies partial updates, NACKs bad resources one by one, and reconnects with what it holds", async () => {
    const ads = await fakeAds();
    cleanup.push(() => ads.close());
    const state = new MeshState();
    const client = new XdsClient({ address: ads.address, nodeId: ztunnelNodeId("10.0.0.1", "ztunnel-x", "istio-system"), metadata: { NODE_NAME: "node-a" }, state, backoffMs: 50 });
    cleanup.push(() => client.close());
    client.start();

    const first = await ads.request(0);
    assert.equal(first.typeUrl, ADDRESS_TYPE);
    assert.equal(first.node?.id, "ztunnel~10.0.0.1~ztunnel-x.istio-system~istio-system.svc.cluster.local");
    assert.deepEqual(first.node?.metadata, { NODE_NAME: "node-a" });
    assert.deepEqual([first.resourceNamesSubscribe, first.initialResourceVersions], [[], {}], "wildcard: no names");
    assert.equal((await ads.request(1)).typeUrl, AUTHORIZATION_TYPE);

    // Two good workloads, a service, one workload with a 3-byte address, one whose name lies.
    const n1 = ads.send({ typeUrl: ADDRESS_TYPE, resources: [
      resource("w1", ADDRESS_TYPE, addressBody(workload("w1", "10.0.0.5"))),
      resource("w2", ADDRESS_TYPE, addressBody(workload("w2", "10.0.0.6"))),
      resource("default/echo.default.svc.cluster.local", ADDRESS_TYPE, addressBody({ type: { case: "service", value: { name: "echo", namespace: "default", hostname: "echo.default.svc.cluster.local", addresses: [{ address: ip("10.96.0.1") }] } } })),
      resource("bad", ADDRESS_TYPE, addressBody({ type: { case: "workload", value: { uid: "bad", addresses: [new Uint8Array([1, 2, 3])] } } })),
      resource("liar", ADDRESS_TYPE, addressBody(workload("someone-else", "10.0.0.7"))),
    ] });
    const nack = await ads.request(2);
    assert.equal(nack.responseNonce, n1);
    assert.equal(nack.errorDetail?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(nack.errorDetail?.message,
      "istio.workload.Address/bad: addresses[0]: 3 bytes, expected 4 or 16; istio.workload.Address/liar: resource name does not match its content (someone-else)");
    assert.equal(state.workloadByIp("10.0.0.5")?.uid, "w1", "the good ones of a NACKed response are applied");
    assert.equal(state.serviceByVip("10.96.0.1")?.name, "echo");
    assert.equal(state.workload("bad"), undefined);

    const n2 = ads.send({ typeUrl: AUTHORIZATION_TYPE, resources: [resource("default/deny-all", AUTHORIZATION_TYPE,
      toBinary(AuthorizationSchema, create(AuthorizationSchema, { name: "deny-all", namespace: "default", scope: Scope.NAMESPACE, action: Action.DENY, rules: [{ clauses: [] }] })))] });
    const ack = await ads.request(3);
    assert.deepEqual([ack.typeUrl, ack.responseNonce, ack.errorDetail], [AUTHORIZATION_TYPE, n2, undefined]);
    await client.synced();
    assert.equal(state.policy("default/deny-all")?.action, "Deny");

    // A removal, then an update of w1.
    ads.send({ typeUrl: ADDRESS_TYPE, removedResources: ["w2"], resources: [resource("w1", ADDRESS_TYPE, addressBody(workload("w1", "10.0.0.15")), "v2")] });
    await ads.request(4);
    assert.equal(state.workload("w2"), undefined);
    assert.equal(state.workloadByIp("10.0.0.15")?.uid, "w1");

    // The control plane goes away: the state stays; the client comes back saying what it holds.
    ads.streams.at(-1)!.call.end();
    await ads.nextStream(2);
    assert.equal(state.workload("w1")?.addresses[0], "10.0.0.15", "last state kept while disconnected");
    const again = await ads.request(0);
    assert.deepEqual(again.initialResourceVersions, { "w1": "v2", "default/echo.default.svc.cluster.local": "v1" });
    assert.deepEqual((await ads.request(1)).initialResourceVersions, { "default/deny-all": "v1" });
    assert.equal(client.status.connects, 2);
    assert.equal(client.status.nacks.length, 1);
  });

  it("reads Waystation's own ADS server (snapshot cache, Delta)", async () => {
    const ads = await startAds();
    cleanup.push(() => ads.close());
    const nodeId = ztunnelNodeId("10.0.0.1", "ztunnel-y", "istio-system");
    ads.cache.setSnapshot(nodeId, buildSnapshot([
      create(AddressSchema, workload("Kubernetes//Pod/default/a", "10.1.0.1", { node: "node-a", serviceAccount: "a" })),
      create(AuthorizationSchema, { name: "strict", namespace: "istio-system", scope: Scope.GLOBAL, action: Action.DENY,
        rules: [{ clauses: [{ matches: [{ notPrincipals: [{ matchType: { case: "presence", value: {} } }] }] }] }] }),
    ]));
    const state = new MeshState();
    const client = new XdsClient({ address: ads.address, nodeId, state });
    cleanup.push(() => client.close());
    client.start();
    await client.synced();
    assert.equal(state.workloadByIp("10.1.0.1")?.serviceAccount, "a");
    assert.equal(state.policy("istio-system/strict")?.scope, "Global");
    // An update removes the workload.
    ads.cache.setSnapshot(nodeId, buildSnapshot([]));
    await eventually(() => state.workload("Kubernetes//Pod/default/a") === undefined, 3000, "removal applied");
    assert.equal(client.status.nacks.length, 0);
  });

  it("reads the control plane's workload API for the bundled example without a NACK", async () => {
    const dir = await mkdtemp(join(tmpdir(), "waystation-ztunnel-client-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await cp(new URL("../../examples", import.meta.url).pathname, dir, { recursive: true, filter: (src) => !src.includes("/invalid") });
    const cpl = new ControlPlane({ config: [dir], xdsPort: 0, secureXdsPort: -1, monitorPort: 0, host: "127.0.0.1", debounceMs: 20 });
    await cpl.start();
    cleanup.push(() => cpl.close());
    const state = new MeshState();
    const client = new XdsClient({
      address: `127.0.0.1:${cpl.xdsPort}`, nodeId: ztunnelNodeId("10.0.0.2", "ztunnel-abc", "istio-system"), state,
      metadata: { NAME: "ztunnel-abc", NAMESPACE: "istio-system", NODE_NAME: "node-a", CLUSTER_ID: "Kubernetes" },
    });
    cleanup.push(() => client.close());
    client.start();
    await client.synced();
    assert.deepEqual(client.status.nacks, []);
    const { workloads, services, policies } = state.dump();
    assert.ok(workloads.length > 0 && services.length > 0 && policies.length > 0, `${workloads.length} workloads, ${services.length} services, ${policies.length} policies`);
    // Decisions over what the control plane sent: a waypoint-bound service goes to its waypoint with
    // authority VIP:port, or fails closed while the waypoint's own Service is not published (the
    // example declares the Gateway but runs no waypoint); other workloads get HBONE to podIP:15008.
    const source = workloads[0]!;
    for (const svc of services.filter((x) => x.vips.length > 0 && x.ports.length > 0)) {
      const plan = buildOutbound(state, source, { host: svc.vips[0]!, port: svc.ports[0]!.servicePort }, { hbonePort: 15008, pick: () => 0 });
      const why = `${svc.hostname}: ${JSON.stringify(plan)}`;
      if (!svc.waypoint) assert.ok(plan.kind === "hbone" || plan.kind === "passthrough" || /no healthy endpoint/.test(plan.reason), why);
      else if (plan.kind === "hbone") assert.equal(plan.authority, `${svc.vips[0]}:${svc.ports[0]!.servicePort}`, why);
      else assert.ok(plan.kind === "deny" && /waypoint unusable/.test(plan.reason), why);
    }
    const direct = workloads.find((w) => !w.waypoint && w.tunnelProtocol === "HBONE" && w.addresses.length > 0)!;
    const plan = buildOutbound(state, source, { host: direct.addresses[0]!, port: 9080 }, { hbonePort: 15008, pick: () => 0 });
    assert.deepEqual(plan.kind === "hbone" && [plan.nextHop, plan.authority], [{ host: direct.addresses[0], port: 15008 }, `${direct.addresses[0]}:9080`]);
  });

  it("xDS mode end to end: state from ADS, certificates from the CA by impersonation, a flow over HBONE", async () => {
    const SLEEP = "127.11.0.2", ECHO = "127.11.0.3";
    const token = "ztunnel-node-a-token-xds-test";
    const identities = ["spiffe://cluster.local/ns/default/sa/sleep", "spiffe://cluster.local/ns/default/sa/echo"];
    const caServer = await startCaServer({
      credentials: NodeCredentials.parse(`tokens:\n  ${token}: { kind: ztunnel, node: node-a }\n`),
      workloadsOnNode: (node) => (node === "node-a" ? identities : []),
    });
    cleanup.push(() => caServer.close());
    const echo = await echoApp(ECHO);
    cleanup.push(() => echo.close());
    const ads = await startAds();
    cleanup.push(() => ads.close());
    const nodeId = ztunnelNodeId("127.11.0.1", "ztunnel-a", "istio-system");
    const svcKey = "default/echo.default.svc.cluster.local";
    const addresses: Address[] = [
      create(AddressSchema, workload("Kubernetes//Pod/default/sleep", SLEEP, { serviceAccount: "sleep", node: "node-a" })),
      create(AddressSchema, workload("Kubernetes//Pod/default/echo", ECHO, { serviceAccount: "echo", node: "node-a", services: { [svcKey]: { ports: [{ servicePort: 80, targetPort: echo.port }] } } })),
      create(AddressSchema, { type: { case: "service", value: { name: "echo", namespace: "default", hostname: "echo.default.svc.cluster.local", addresses: [{ address: ip("127.11.1.10") }], ports: [{ servicePort: 80, targetPort: echo.port }] } } }),
    ];
    ads.cache.setSnapshot(nodeId, buildSnapshot(addresses));
    const bundle = caServer.ca.trustBundle().pem();
    const zt = await startZtunnel({
      node: "node-a",
      config: { kind: "xds", xds: { address: ads.address, nodeId, metadata: { NODE_NAME: "node-a" } } },
      certificates: caCertificateSource(new CaClient({ address: caServer.address, token }), { trustBundlePem: bundle }),
      trustBundlePem: bundle,
      ports: { hbone: await freePortOn([SLEEP, ECHO]), socks5: false, metrics: false, readiness: 0, admin: false },
      hosts: { readiness: "127.0.0.1" },
      explicitListeners: [{ source: SLEEP, listen: { host: "127.0.0.1", port: 0 }, target: { host: "echo.default.svc.cluster.local", port: 80 } }],
    });
    cleanup.push(() => zt.close());
    await eventually(() => zt.ready(), 5000, "ready after sync and certificates");
    assert.deepEqual(zt.certs.dump().map((c) => c.identity), [identities[1], identities[0]]);
    const c = await connect(zt.addresses.explicit[0]!, SLEEP);
    await c.roundTrip("over xds");
    c.socket.end();
    await c.until(() => c.ended);
    assert.equal(c.data, "over xds<fin>");
  });
});

