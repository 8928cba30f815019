// The real third-party xDS client: @grpc/grpc-js-xds resolves xds:/// targets from our ADS server.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { buildSnapshot, type SnapshotEntry } from "./snapshot.js";
import { startAds, type AdsHarness } from "./testing/adsClient.js";
import { apiListener, edsCluster, loadAssignment, routeConfig, type WeightedCluster } from "./testing/envoy.js";
import { eventually } from "./testing/wait.js";

const NODE = "sidecar~127.0.0.1~echo-client.default~default.svc.cluster.local";
const TARGET = "echo.test:8080";

/** A one-method service defined by hand: the request is ignored, the reply is the backend's name. */
const echoService = {
  whoami: {
    path: "/waystation.test.Echo/WhoAmI", requestStream: false, responseStream: false,
    requestSerialize: (s: string) => Buffer.from(s), requestDeserialize: (b: Buffer) => b.toString(),
    responseSerialize: (s: string) => Buffer.from(s), responseDeserialize: (b: Buffer) => b.toString(),
  },
} satisfies grpc.ServiceDefinition;
const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");
type Whoami = { whoami(req: string, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: string) => void): void };

interface Backend { readonly name: string; readonly server: grpc.Server; readonly port: number }

async function backend(name: string): Promise<Backend> {
  const server = new grpc.Server();
  server.addService(echoService, { whoami: (_call: unknown, cb: grpc.sendUnaryData<string>) => cb(null, name) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(),
      (e, p) => (e ? reject(e) : resolve(p))));
  return { name, server, port };
}

describe("@grpc/grpc-js-xds against the ADS server", () => {
  let h: AdsHarness;
  let backends: Backend[];
  let client: grpc.Client;

  /** Listener -> RDS "echo-routes" -> weighted clusters; cluster cX -> EDS "cX-eds" -> backend X. */
  const config = (route: readonly WeightedCluster[]): SnapshotEntry[] => [
    apiListener(TARGET, "echo-routes"),
    routeConfig("echo-routes", route, [TARGET]),
    ...route.flatMap(({ name }) => {
      const b = backends.find((x) => `c${x.name}` === name)!;
      return [edsCluster(name, `${name}-eds`), loadAssignment(`${name}-eds`, [{ host: "127.0.0.1", port: b.port }])];
    }),
  ];
  const call = () => new Promise<string>((resolve, reject) =>
    (client as unknown as Whoami).whoami("hi", { deadline: Date.now() + 3000 }, (e, r) => (e ? reject(e) : resolve(r!))));
  /** Calls until the set of backends seen equals `want` exactly over the last 20 calls. */
  const converges = async (want: string[], what: string) => {
    const end = Date.now() + 5000;
    for (;;) {
      const seen = new Set<string>();
      for (let i = 0; i < 20; i++) seen.add(await call());
      if ([...seen].sort().join() === want.join()) return;
      if (Date.now() > end) assert.fail(`${what}: saw ${[...seen].sort().join()} , want ${want.join()}`);
    }
  };

  before(async () => {
    register();
    [h, ...backends] = await Promise.all([startAds(), backend("A"), backend("B"), backend("C")]);
    const bootstrap = {
      xds_servers: [{ server_uri: h.address, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: NODE, locality: {} }, // grpc-js-xds requires node.locality
    };
    client = new EchoClient(`xds:///${TARGET}`, grpc.credentials.createInsecure(),
      { "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config": JSON.stringify(bootstrap) });
  });
  after(async () => {
    client.close();
    await h.close();
    for (const b of backends) b.server.forceShutdown();
  });

  // Clusters are only ever added, never dropped from the route: grpc-js-xds 1.14.1 leaves a 10 s
  // failover timer running when it destroys the priority child of a dropped cluster
  // (load-balancer-priority.ts, PriorityChildImpl.destroy), which would hold this process open.
  it("routes an xds:/// call to the backend, then follows weight and cluster changes", async () => {
    h.cache.setSnapshot(NODE, buildSnapshot(config([{ name: "cA", weight: 1 }, { name: "cB", weight: 0 }])));
    await converges(["A"], "initial route to cA");

    h.cache.setSnapshot(NODE, buildSnapshot(config([{ name: "cA", weight: 0 }, { name: "cB", weight: 1 }])));
    await converges(["B"], "weights moved to cB");

    h.cache.setSnapshot(NODE, buildSnapshot(config([{ name: "cA", weight: 1 }, { name: "cB", weight: 1 }])));
    await converges(["A", "B"], "weights 1:1");

    // A new cluster (new CDS and EDS resources) takes all the traffic.
    h.cache.setSnapshot(NODE, buildSnapshot(config([{ name: "cA", weight: 0 }, { name: "cB", weight: 0 }, { name: "cC", weight: 1 }])));
    await converges(["C"], "new cluster cC");

    // The client ACKed everything: no NACKs, and every type it fetched is in sync.
    assert.deepEqual(h.ads.nacks(), []);
    await eventually(() => {
      const e = h.ads.syncz().find((x) => x.node === NODE);
      return e !== undefined && ["CDS", "EDS", "LDS", "RDS"].every((t) => e.types[t]?.state === "SYNCED");
    }, "all four types SYNCED");
  });
});
