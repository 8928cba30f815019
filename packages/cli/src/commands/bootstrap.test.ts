import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { PassThrough } from "node:stream";
import { main } from "../main.js";

async function run(...args: string[]) {
  const out = new PassThrough(), err = new PassThrough();
  let o = "", e = "";
  out.on("data", (d) => (o += d));
  err.on("data", (d) => (e += d));
  const code = await main(["node", "waystation", ...args], out, err);
  return { code, out: o, err: e };
}

describe("waystation bootstrap", () => {
  it("prints a strictly valid bootstrap with ADS, the internal listener extension and the status listeners", async () => {
    const r = await run("bootstrap", "--node-id", "waypoint~10.0.0.9~waypoint-7d9f-abc.bookinfo~bookinfo.svc.cluster.local", "--xds", "waystation.istio-system.svc:15010");
    assert.equal(r.err, "");
    assert.equal(r.code, 0);
    const b = JSON.parse(r.out) as {
      node: { id: string; cluster: string };
      dynamic_resources: { ads_config: { api_type: string } };
      static_resources: { clusters: { name: string; type: string }[]; listeners: { name: string }[] };
      bootstrap_extensions: { name: string; typed_config: { buffer_size_kb: number } }[];
    };
    assert.equal(b.node.cluster, "waypoint.bookinfo");
    assert.equal(b.dynamic_resources.ads_config.api_type, "DELTA_GRPC");
    assert.deepEqual(b.static_resources.clusters.map((c) => `${c.name}:${c.type}`), ["xds-grpc:STRICT_DNS", "admin:STATIC"]);
    assert.deepEqual(b.static_resources.listeners.map((l) => l.name), ["prometheus_stats", "readiness"]);
    assert.equal(b.bootstrap_extensions[0]?.name, "envoy.bootstrap.internal_listener");
    assert.equal(b.bootstrap_extensions[0]?.typed_config.buffer_size_kb, 64);
  });

  it("refuses a node id of another role, and a bad --xds", async () => {
    assert.equal((await run("bootstrap", "--node-id", "sidecar~1.2.3.4~a.b~b.svc.cluster.local")).code, 2);
    const r = await run("bootstrap", "--node-id", "waypoint~1.2.3.4~w-0.b~b.svc.cluster.local", "--xds", "nowhere");
    assert.equal(r.code, 2);
    assert.match(r.err, /--xds must be host:port/);
  });
});
