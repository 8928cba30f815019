/**
 * `waystation serve` as a proxy sees it: start the control plane on the bundled example (port 0),
 * connect a raw ADS client as the bookinfo waypoint, follow a file edit through to a push of only
 * what changed, and read the monitoring endpoints.
 */
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { SecretSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { X509Certificate } from "node:crypto";
import { ControlPlane } from "@waystation/controller";
import { RawAdsClient, namesOf, type SotwStream } from "@waystation/xds/testing";
import { TypeUrl } from "@waystation/xds";

const root = new URL("..", import.meta.url).pathname;
const waypointNode = { id: "waypoint~10.0.0.9~waypoint-6f7d9-x2x.bookinfo~bookinfo.svc.cluster.local", userAgentName: "envoy" };

describe("waystation serve", () => {
  let dir: string;
  let cpl: ControlPlane;
  let client: RawAdsClient;
  const monitor = (path: string) => fetch(`http://127.0.0.1:${cpl.monitorPort}${path}`);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "waystation-serve-"));
    await cp(join(root, "examples"), dir, { recursive: true, filter: (src) => !src.includes("/invalid") });
    cpl = new ControlPlane({ config: [dir], xdsPort: 0, secureXdsPort: 0, monitorPort: 0, rateLimit: { port: 0 }, host: "127.0.0.1", debounceMs: 20 });
    await cpl.start();
    client = new RawAdsClient(`127.0.0.1:${cpl.xdsPort}`);
  });
  after(async () => {
    client?.close();
    await cpl?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function subscribe(s: SotwStream, typeUrl: string, names: string[] = [], first = false) {
    s.send({ ...(first ? { node: waypointNode } : {}), typeUrl, resourceNames: names });
    const res = await s.next(5000);
    assert.equal(res.typeUrl, typeUrl);
    s.send({ typeUrl, resourceNames: names, versionInfo: res.versionInfo, responseNonce: res.nonce });
    return res;
  }

  it("serves the waypoint its HBONE chain and reports the proxy in /debug/syncz", async () => {
    const s = client.sotw();
    const cds = await subscribe(s, TypeUrl.CDS, [], true);
    assert.ok(namesOf(cds).includes("connect_originate"));
    assert.ok(namesOf(cds).includes("inbound-vip|9080|http/v2|reviews.bookinfo.svc.cluster.local"));
    const lds = await subscribe(s, TypeUrl.LDS);
    assert.deepEqual(namesOf(lds), ["connect_originate", "connect_terminate", "main_internal"]);
    const rds = await subscribe(s, TypeUrl.RDS, ["inbound-vip|9080|http|reviews.bookinfo.svc.cluster.local"]);
    assert.equal(rds.resources.length, 1);

    const sds = await subscribe(s, TypeUrl.SDS, ["default", "ROOTCA"]);
    const secrets = new Map(sds.resources.map((a) => { const x = fromBinary(SecretSchema, a.value); return [x.name, x] as const; }));
    const def = secrets.get("default")!, root = secrets.get("ROOTCA")!;
    assert.equal(def.type.case, "tlsCertificate");
    assert.equal(root.type.case, "validationContext");
    const chain = def.type.case === "tlsCertificate" ? String(def.type.value.certificateChain?.specifier.value) : "";
    const bundle = root.type.case === "validationContext" ? String(root.type.value.trustedCa?.specifier.value) : "";
    const leaf = new X509Certificate(chain);
    assert.equal(leaf.subjectAltName, "URI:spiffe://cluster.local/ns/bookinfo/sa/waypoint");
    const rootCert = new X509Certificate(bundle);
    assert.ok(leaf.checkIssued(rootCert) && leaf.verify(rootCert.publicKey), "the waypoint certificate is signed by the ROOTCA root");

    const syncz = await (await monitor("/debug/syncz")).json() as { node: string; types: Record<string, { state: string }> }[];
    const mine = syncz.find((x) => x.node === waypointNode.id);
    assert.ok(mine, JSON.stringify(syncz));
    assert.equal(mine.types.LDS?.state, "SYNCED");

    const metrics = await (await monitor("/metrics")).text();
    assert.match(metrics, /waystation_xds_connected_proxies\{type="waypoint"\} 1/);

    const dump = await (await monitor(`/debug/config_dump?proxy=${encodeURIComponent(waypointNode.id)}`)).json() as { resources: Record<string, { name?: string }[]> };
    assert.deepEqual(dump.resources.LDS?.map((l) => l.name), ["connect_originate", "connect_terminate", "main_internal"]);

    // Edit a VirtualService: the route configuration is pushed, nothing else.
    const vsFile = join(dir, "traffic.yaml");
    await writeFile(vsFile, (await readFile(vsFile, "utf8")).replace("weight: 50\n        - destination: { host: reviews, subset: v3 }\n          weight: 50", "weight: 20\n        - destination: { host: reviews, subset: v3 }\n          weight: 80"));
    const pushed = await s.next(5000);
    assert.equal(pushed.typeUrl, TypeUrl.RDS);
    assert.notEqual(pushed.versionInfo, rds.versionInfo);
    const rc = fromBinary(RouteConfigurationSchema, pushed.resources[0]!.value);
    assert.equal(rc.name, "inbound-vip|9080|http|reviews.bookinfo.svc.cluster.local");
    s.send({ typeUrl: TypeUrl.RDS, resourceNames: ["inbound-vip|9080|http|reviews.bookinfo.svc.cluster.local"], versionInfo: pushed.versionInfo, responseNonce: pushed.nonce });
    await s.none(300);
    s.close();
  });

  it("a waypoint proxy that connects before its Gateway exists is served once the Gateway appears", async () => {
    const s = client.sotw();
    s.send({ node: { id: "waypoint~10.0.0.51~late-wp-7c9f-q2x.bookinfo~bookinfo.svc.cluster.local", userAgentName: "envoy" }, typeUrl: TypeUrl.LDS, resourceNames: [] });
    await s.none(300);
    await writeFile(join(dir, "late-waypoint.yaml"), [
      "apiVersion: gateway.networking.k8s.io/v1", "kind: Gateway",
      "metadata: { name: late-wp, namespace: bookinfo }",
      "spec:", "  gatewayClassName: istio-waypoint",
      "  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]", "",
    ].join("\n"));
    const lds = await s.next(5000);
    assert.deepEqual(namesOf(lds), ["connect_originate", "connect_terminate", "main_internal"]);
    const syncz = await (await monitor("/debug/syncz")).json() as { node: string; group?: string }[];
    assert.equal(syncz.find((x) => x.node.includes("late-wp"))?.group, "waypoint/bookinfo/late-wp");
    s.close();
    await rm(join(dir, "late-waypoint.yaml"));
    for (let i = 0; i < 100 && cpl.currentModel()!.waypoints.some((w) => w.name === "late-wp"); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!cpl.currentModel()!.waypoints.some((w) => w.name === "late-wp"), "the removed Gateway is gone");
  });

  it("keeps serving the last good configuration when a file becomes invalid, and says why", async () => {
    const svcFile = join(dir, "services.yaml");
    const good = await readFile(svcFile, "utf8");
    await writeFile(svcFile, good.replace("port: 9080, targetPort: 9080 }\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: details", "port: ninety }\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: details"));
    let status: { problems: string[]; stale: { resource: string }[] } = { problems: [], stale: [] };
    for (let i = 0; i < 50 && status.problems.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      status = await (await monitor("/debug/status")).json() as typeof status;
    }
    assert.equal(status.problems.length, 1, JSON.stringify(status));
    assert.match(status.problems[0]!, /services\.yaml:\d+:\d+ Service bookinfo\/productpage: spec\.ports\[0\]\.port must be an integer$/);
    assert.deepEqual(status.stale.map((x) => x.resource), ["Service bookinfo/productpage"]);
    const m = cpl.currentModel()!;
    assert.ok(m.services.some((x) => x.name === "productpage"), "the last good productpage is still in the model");
    await writeFile(svcFile, good);
  });
});
