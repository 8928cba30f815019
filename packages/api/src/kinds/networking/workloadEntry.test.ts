import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { WorkloadEntrySpec } from "./workloadEntry.js";

const load = (text: string) => loadManifests([{ path: "t.yaml", text }], defaultValidator());

/** Wraps an indented spec body in a 4-line header, so the spec's first line is line 5 of t.yaml. */
function problems(spec: string): string[] {
  const lines = spec.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  const body = lines.map((l) => `  ${l.slice(indent)}`).join("\n");
  return load(`apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: { name: r, namespace: ns }\nspec:\n${body}\n`).problems.map(formatProblem);
}

const vm = `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ratings-vm-1, namespace: bookinfo }
spec:
  address: 10.10.0.21
  ports: { http: 8080, grpc-admin: 9090 }
  labels: { app: ratings, version: v1, topology.istio.io/network: vm-net }
  network: vm-net
  locality: us-east1/us-east1-b
  weight: 2
  serviceAccount: ratings
`;

describe("WorkloadEntry", () => {
  it("loads a realistic manifest with no problems", () => {
    const r = load(vm);
    assert.deepEqual(r.problems.map(formatProblem), []);
    const spec = r.resources[0]!.object.spec as WorkloadEntrySpec;
    assert.deepEqual(spec.ports, { http: 8080, "grpc-admin": 9090 });
  });

  for (const version of ["v1beta1", "v1alpha3"]) {
    it(`loads networking.istio.io/${version} unchanged and normalises it to v1`, () => {
      const r = load(vm.replace("networking.istio.io/v1\n", `networking.istio.io/${version}\n`));
      assert.deepEqual(r.problems.map(formatProblem), []);
      assert.equal(r.resources[0]!.object.apiVersion, "networking.istio.io/v1");
      assert.deepEqual(r.resources[0]!.object.spec, load(vm).resources[0]!.object.spec);
    });
  }

  it("requires a spec", () => {
    const r = load("apiVersion: networking.istio.io/v1\nkind: WorkloadEntry\nmetadata: { name: w }\n");
    assert.deepEqual(r.problems.map(formatProblem), ["t.yaml:1:1 WorkloadEntry default/w: spec is required"]);
  });

  const cases: { name: string; spec: string; want: string[] }[] = [
    {
      name: "a full entry is fine",
      spec: `
        address: 10.0.0.7
        ports: { http: 8080, grpc: 9090 }
        labels: { app: ratings, version: v1 }
        serviceAccount: ratings
        network: vm-net
        locality: us-west1/zone-a
        weight: 10`,
      want: [],
    },
    {
      name: "port above 65535",
      spec: `
        address: 10.0.0.7
        ports: { http: 70000 }`,
      want: [
        "t.yaml:6:18 WorkloadEntry ns/r: spec.ports.http must be a port number from 1 to 65535",
      ],
    },
    {
      name: "port 0",
      spec: `
        address: 10.0.0.7
        ports: { http: 0 }`,
      want: [
        "t.yaml:6:18 WorkloadEntry ns/r: spec.ports.http must be a port number from 1 to 65535",
      ],
    },
    {
      name: "invalid port name",
      spec: `
        address: 10.0.0.7
        ports: { "http_1": 8080 }`,
      want: [
        "t.yaml:6:12 WorkloadEntry ns/r: spec.ports.http_1 is not a valid port name (letters, digits and '-', at most 63 characters)",
      ],
    },
    {
      name: "no address and no network",
      spec: `
        labels: { app: x }`,
      want: [
        "t.yaml:5:3 WorkloadEntry ns/r: spec.address is required (unless network is set, for a workload reached through that network's gateway)",
      ],
    },
    {
      name: "network without address warns",
      spec: `
        network: remote`,
      want: [
        "t.yaml:5:3 warning: WorkloadEntry ns/r: spec.address is not set; the workload is only reachable through network \"remote\"'s gateway",
      ],
    },
    {
      name: "unix socket with ports",
      spec: `
        address: unix:///var/run/app.sock
        ports: { http: 80 }`,
      want: [
        "t.yaml:6:10 WorkloadEntry ns/r: spec.ports must not be set for a unix domain socket address",
      ],
    },
    {
      name: "unix socket with a relative path",
      spec: `
        address: unix://run/app.sock`,
      want: [
        "t.yaml:5:12 WorkloadEntry ns/r: spec.address must be unix:// followed by an absolute socket path (or @abstract-name), not a directory",
      ],
    },
    {
      name: "address that is neither IP nor DNS name",
      spec: `
        address: "not a host"`,
      want: [
        "t.yaml:5:12 WorkloadEntry ns/r: spec.address must be an IP address, a DNS name or unix:///path, not \"not a host\"",
      ],
    },
    {
      name: "a DNS name address is fine",
      spec: `
        address: vm1.example.com`,
      want: [],
    },
    {
      name: "unknown field points at the key and suggests the near name",
      spec: `
        adress: 10.0.0.1`,
      want: [
        "t.yaml:5:3 WorkloadEntry ns/r: spec.adress is not a known field (did you mean \"address\"?)",
      ],
    },
    {
      name: "invalid label key and value",
      spec: `
        address: 10.0.0.1
        labels: { "a/b/c": x, app: "bad value!" }`,
      want: [
        "t.yaml:6:13 WorkloadEntry ns/r: spec.labels[\"a/b/c\"] is not a valid label key (an optional DNS prefix and '/', then at most 63 letters, digits, '-', '_' or '.')",
        "t.yaml:6:30 WorkloadEntry ns/r: spec.labels.app is not a valid label value: \"bad value!\" (at most 63 letters, digits, '-', '_' or '.')",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(problems(c.spec), c.want));
  }
});
