/**
 * The gRPC role, checked by gRPC itself: every resource translateGrpc builds for the grpc-*
 * golden inputs and examples/grpc is decoded and validated by @grpc/grpc-js-xds's own resource
 * types (what its client does before it ACKs or NACKs), plus table tests of what is dropped.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { toBinary, type DescMessage, type Message } from "@bufbuild/protobuf";
import { ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "@waystation/proto/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "@waystation/proto/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { defaultValidator, loadManifests } from "@waystation/api";
import { buildModel } from "@waystation/model";
import type { RouteIR } from "../routing/ir.js";
import { grpcRoutesIR } from "./honoured.js";
import { translateGrpc } from "./index.js";

const require = createRequire(import.meta.url);
const xdsDir = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
(require("@grpc/grpc-js-xds") as { register(): void }).register(); // the router and fault filters
type Decoder = { get(): { decode(ctx: unknown, r: { type_url: string; value: Buffer }): { name: string; error?: string } } };
const decoder = (file: string, name: string) => (require(`${xdsDir}/build/src/xds-resource-type/${file}`) as Record<string, Decoder>)[name]!.get();
const kinds: [string, DescMessage, ReturnType<typeof decoder>][] = [
  ["envoy.config.listener.v3.Listener", ListenerSchema, decoder("listener-resource-type", "ListenerResourceType")],
  ["envoy.config.route.v3.RouteConfiguration", RouteConfigurationSchema, decoder("route-config-resource-type", "RouteConfigurationResourceType")],
  ["envoy.config.cluster.v3.Cluster", ClusterSchema, decoder("cluster-resource-type", "ClusterResourceType")],
  ["envoy.config.endpoint.v3.ClusterLoadAssignment", ClusterLoadAssignmentSchema, decoder("endpoint-resource-type", "EndpointResourceType")],
];
const context = { bootstrap: { certificateProviders: {} } };

const testdata = fileURLToPath(new URL("../../testdata", import.meta.url));
const example = fileURLToPath(new URL("../../../../examples/grpc", import.meta.url));
const inputs = [
  ...readdirSync(testdata).filter((f) => f.startsWith("grpc-") && f.endsWith(".in.yaml")).map((f) => [join(testdata, f)]),
  readdirSync(example).filter((f) => f.endsWith(".yaml")).map((f) => join(example, f)),
];

describe("gRPC accepts what translateGrpc builds", () => {
  for (const files of inputs) {
    const label = files.length === 1 ? files[0]!.slice(testdata.length + 1) : "examples/grpc";
    it(label, () => {
      const loaded = loadManifests(files.map((path) => ({ path, text: readFileSync(path, "utf8") })), defaultValidator());
      assert.deepEqual(loaded.problems, []);
      const t = translateGrpc(buildModel(loaded.resources));
      const all = [...t.resources.listeners, ...t.resources.routes, ...t.resources.clusters, ...t.resources.endpoints] as Message[];
      assert.ok(t.resources.listeners.length > 0);
      const rejected: string[] = [];
      for (const m of all) {
        const [typeName, schema, type] = kinds.find(([n]) => n === m.$typeName)!;
        const r = type.decode(context, { type_url: `type.googleapis.com/${typeName}`, value: Buffer.from(toBinary(schema, m)) });
        if (r.error) rejected.push(`${r.name}: ${r.error}`);
      }
      assert.deepEqual(rejected, []);
    });
  }
});

const key = { group: "networking.istio.io", kind: "VirtualService", namespace: "ns", name: "vs" };
const route = (extra: Partial<RouteIR>): RouteIR => ({
  name: "r", source: { key, path: ["spec", "http", 0] }, matches: [],
  action: { kind: "forward", backends: [{ host: "a", weight: 1, path: [] }], mirrors: [] }, ...extra,
});

describe("grpcRoutesIR", () => {
  it("keeps a match-all route and splits a Gateway API path prefix into exact and prefix", () => {
    const out = grpcRoutesIR([route({}), route({ matches: [{ path: { kind: "segmentPrefix", value: "/pkg.Svc/" }, headers: [], queryParams: [] }] })]);
    assert.deepEqual(out.routes[0]!.matches, []);
    assert.deepEqual(out.routes[1]!.matches.map((m) => m.path), [{ kind: "exact", value: "/pkg.Svc" }, { kind: "prefix", value: "/pkg.Svc/" }]);
    assert.deepEqual(out.notes, []);
  });

  it("drops matches gRPC can never satisfy, and a route left without any", () => {
    const out = grpcRoutesIR([
      route({ matches: [{ headers: [], queryParams: [{ name: "q" }] }] }),
      route({ matches: [{ headers: [{ name: ":authority", value: { exact: "x" } }], queryParams: [] }, { headers: [{ name: "x-user" }], queryParams: [] }] }),
      route({ matches: [{ headers: [{ name: "token-bin" }], queryParams: [] }] }),
    ]);
    assert.equal(out.routes.length, 1);
    assert.deepEqual(out.routes[0]!.matches, [{ headers: [{ name: "x-user" }], queryParams: [] }]);
    assert.equal(out.notes.length, 3);
  });

  it("keeps only gRPC retry codes, and drops a policy with none or with zero attempts", () => {
    const retry = (r: Partial<NonNullable<Extract<RouteIR["action"], { kind: "forward" }>["retry"]>>) =>
      route({ action: { kind: "forward", backends: [{ host: "a", weight: 1, path: [] }], mirrors: [], retry: { attempts: 2, retriableStatusCodes: [503], ...r } } });
    const out = grpcRoutesIR([retry({}), retry({ retryOn: "5xx,deadline-exceeded" }), retry({ retryOn: "5xx" }), retry({ attempts: 0 })]);
    const retries = out.routes.map((r) => (r.action.kind === "forward" ? r.action.retry : undefined));
    assert.deepEqual(retries, [
      { attempts: 2, retryOn: "unavailable,cancelled", retriableStatusCodes: [] },
      { attempts: 2, retryOn: "deadline-exceeded", retriableStatusCodes: [] },
      undefined,
      undefined,
    ]);
    assert.deepEqual(out.notes.map((n) => n.message.split(";")[1]!.trim()), ["5xx, HTTP 503 are ignored", "this policy retries on 5xx, HTTP 503, none of which is one, so gRPC clients do not retry on this route"]);
  });
});
