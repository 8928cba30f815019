import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { LoadedResource } from "@waystation/api";
import { FileSource } from "@waystation/controller";
import { buildModel } from "@waystation/model";
import { planDemo } from "./plan.js";

const demoDir = fileURLToPath(new URL("../../../../examples/demo", import.meta.url));
const resources = (await new FileSource([demoDir], { recursive: false }).load()).resources;
const without = (kind: string, name: string) => resources.filter((r) => !(r.key.kind === kind && r.key.name.startsWith(name)));
/** A copy of `r` with its object changed by `edit`. */
function edited<T>(r: LoadedResource, edit: (o: T) => void): LoadedResource {
  const object = structuredClone(r.object);
  edit(object as T);
  return { ...r, object };
}
type PodStatus = { status: { podIP: string; podIPs: { ip: string }[] } };
type ServiceSpec = { spec: { ports: { targetPort: number | string }[] } };

describe("planDemo", () => {
  it("reads examples/demo: two nodes, the echo app behind its Service, the allowed and the denied client", () => {
    const r = planDemo(buildModel(resources));
    assert.ok("plan" in r, JSON.stringify(r));
    const { plan } = r;
    assert.deepEqual(plan.nodes.map((n) => [n.name, n.pods.map((p) => `${p.app} ${p.ip} ${p.identity}`)]), [
      ["node-a", ["sleep 127.0.0.2 spiffe://cluster.local/ns/demo/sa/sleep", "notsleep 127.0.0.3 spiffe://cluster.local/ns/demo/sa/notsleep"]],
      ["node-b", ["echo 127.0.0.4 spiffe://cluster.local/ns/demo/sa/echo"]],
    ]);
    assert.deepEqual(plan.apps.map((a) => `${a.pod.ip}:${a.port} ${a.service}:${a.servicePort}`), ["127.0.0.4:8080 echo.demo.svc.cluster.local:80"]);
    assert.deepEqual(plan.requests.map((q) => `${q.from.app} -> ${q.host}:${q.port} ${q.expect}`), [
      "sleep -> echo.demo.svc.cluster.local:80 allowed",
      "notsleep -> echo.demo.svc.cluster.local:80 denied",
    ]);
  });

  const cases: { name: string; input: () => LoadedResource[]; error: RegExp }[] = [
    { name: "a missing client", input: () => without("Pod", "notsleep"), error: /^no ambient pod labelled app=notsleep in namespace demo$/ },
    { name: "no pod behind the Service", input: () => without("Pod", "echo"), error: /^no ambient pod behind Service demo\/echo$/ },
    {
      name: "a pod IP this host does not have",
      input: () => resources.map((r) => (r.key.kind === "Pod" && r.key.name.startsWith("echo") ? edited<PodStatus>(r, (o) => { o.status.podIP = "10.0.0.4"; o.status.podIPs = [{ ip: "10.0.0.4" }]; }) : r)),
      error: /^pods must have loopback addresses .*: demo\/echo-\S+ 10\.0\.0\.4$/,
    },
    {
      name: "a named target port the pod does not declare",
      input: () => resources.map((r) => (r.key.kind === "Service" ? edited<ServiceSpec>(r, (o) => { o.spec.ports[0]!.targetPort = "grpc"; }) : r)),
      error: /^Service demo\/echo port 80: pod echo-\S+ has no container port named grpc$/,
    },
  ];
  for (const c of cases) {
    it(`says what is wrong: ${c.name}`, () => {
      const r = planDemo(buildModel(c.input()));
      assert.ok("errors" in r, "no error");
      assert.ok(r.errors.some((e) => c.error.test(e)), r.errors.join("\n"));
    });
  }
});
