import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { ServiceEntrySpec } from "./serviceEntry.js";

const load = (text: string) => loadManifests([{ path: "t.yaml", text }], defaultValidator());

/** Wraps an indented spec body in a 4-line header, so the spec's first line is line 5 of t.yaml. */
function problems(spec: string): string[] {
  const lines = spec.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  const body = lines.map((l) => `  ${l.slice(indent)}`).join("\n");
  return load(`apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: r, namespace: ns }\nspec:\n${body}\n`).problems.map(formatProblem);
}

const external = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: httpbin-ext, namespace: egress }
spec:
  hosts: [httpbin.org, www.httpbin.org]
  location: MESH_EXTERNAL
  resolution: DNS
  ports:
  - { number: 80, name: http, protocol: HTTP }
  - { number: 443, name: https, protocol: TLS, targetPort: 8443 }
  exportTo: ["*"]
  subjectAltNames: [httpbin.org]
`;

describe("ServiceEntry", () => {
  it("loads realistic manifests with no problems", () => {
    const r = load(`${external}---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: vms, namespace: bookinfo }
spec:
  hosts: [ratings.vm.internal]
  addresses: [10.10.0.5]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: http }]
  endpoints:
  - { address: 10.10.0.21, ports: { http: 8080 }, labels: { app: ratings, version: v1 }, locality: us-east1/b, weight: 2, network: vm-net, serviceAccount: ratings }
  - { address: "2001:db8::21", labels: { app: ratings } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: selected, namespace: bookinfo }
spec:
  hosts: [details.vm.internal]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  workloadSelector: { labels: { app: details } }
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: corp-net, namespace: egress }
spec:
  hosts: [corp.internal]
  addresses: [192.168.0.0/16, "fd00::/8"]
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  location: MESH_EXTERNAL
  exportTo: ["~"]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: any-example, namespace: egress }
spec:
  hosts: ["*.example.com"]
  resolution: DYNAMIC_DNS
  ports: [{ number: 443, name: tls, protocol: TLS }]
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources.length, 5);
    const vms = r.resources.find((x) => x.key.name === "vms")!.object.spec as ServiceEntrySpec;
    assert.equal(vms.endpoints?.[0]?.ports?.http, 8080);
  });

  for (const version of ["v1beta1", "v1alpha3"]) {
    it(`loads networking.istio.io/${version} unchanged and normalises it to v1`, () => {
      const r = load(external.replace("networking.istio.io/v1\n", `networking.istio.io/${version}\n`));
      assert.deepEqual(r.problems.map(formatProblem), []);
      assert.equal(r.resources[0]!.object.apiVersion, "networking.istio.io/v1");
      assert.deepEqual(r.resources[0]!.object.spec, load(external).resources[0]!.object.spec);
    });
  }

  const cases: { name: string; spec: string; want: string[] }[] = [
    {
      name: "unknown field points at the key and suggests the near name",
      spec: `
        hosts: [api.example.com]
        ports: [{ number: 443, name: https, protocol: TLS }]
        resolution: DNS
        loaction: MESH_EXTERNAL`,
      want: [
        "t.yaml:8:3 ServiceEntry ns/r: spec.loaction is not a known field (did you mean \"location\"?)",
      ],
    },
    {
      name: "empty hosts",
      spec: `
        hosts: []`,
      want: [
        "t.yaml:5:10 ServiceEntry ns/r: spec.hosts must list at least one host",
      ],
    },
    {
      name: "host *",
      spec: `
        hosts: ["*"]`,
      want: [
        "t.yaml:5:11 ServiceEntry ns/r: spec.hosts[0] must not be \"*\": a ServiceEntry names the hosts it adds",
      ],
    },
    {
      name: "duplicate port number and name",
      spec: `
        hosts: [api.example.com]
        resolution: DNS
        ports:
        - { number: 443, name: https, protocol: TLS }
        - { number: 443, name: https, protocol: HTTPS }`,
      want: [
        "t.yaml:9:15 ServiceEntry ns/r: spec.ports[1].number duplicates spec.ports[0].number 443",
        "t.yaml:9:26 ServiceEntry ns/r: spec.ports[1].name duplicates spec.ports[0].name \"https\"",
      ],
    },
    {
      name: "unknown protocol",
      spec: `
        hosts: [api.example.com]
        resolution: DNS
        ports: [{ number: 443, name: https, protocol: QUIC }]`,
      want: [
        "t.yaml:7:49 ServiceEntry ns/r: spec.ports[0].protocol must be one of HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS, UDP (or GRPC-Web, HTTP_PROXY, Redis, MySQL), not \"QUIC\"",
      ],
    },
    {
      name: "STATIC endpoint with a host name",
      spec: `
        hosts: [db.internal]
        resolution: STATIC
        ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
        endpoints:
        - address: db1.internal`,
      want: [
        "t.yaml:9:14 ServiceEntry ns/r: spec.endpoints[0].address must be an IP address with resolution STATIC, not \"db1.internal\"",
      ],
    },
    {
      name: "STATIC without endpoints or selector warns",
      spec: `
        hosts: [db.internal]
        resolution: STATIC
        ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]`,
      want: [
        "t.yaml:6:15 warning: ServiceEntry ns/r: spec.resolution is STATIC but there are no endpoints and no workloadSelector, so the service has no endpoints",
      ],
    },
    {
      name: "DNS resolution of a wildcard host",
      spec: `
        hosts: ["*.example.com"]
        resolution: DNS
        ports: [{ number: 443, name: https, protocol: TLS }]`,
      want: [
        "t.yaml:5:11 ServiceEntry ns/r: spec.hosts[0] must be a DNS name Envoy can resolve (no wildcard) when resolution is DNS without endpoints; use DYNAMIC_DNS or NONE for wildcard hosts",
      ],
    },
    {
      name: "DYNAMIC_DNS with a wildcard host is fine",
      spec: `
        hosts: ["*.example.com"]
        resolution: DYNAMIC_DNS
        ports: [{ number: 443, name: https, protocol: TLS }]`,
      want: [],
    },
    {
      name: "endpoints together with workloadSelector",
      spec: `
        hosts: [vm.internal]
        resolution: STATIC
        ports: [{ number: 80, name: http, protocol: HTTP }]
        workloadSelector: { labels: { app: vm } }
        endpoints: [{ address: 10.0.0.1 }]`,
      want: [
        "t.yaml:8:21 ServiceEntry ns/r: spec.workloadSelector cannot be set together with endpoints: endpoints come either from the list or from the selected workloads",
      ],
    },
    {
      name: "CIDR address with DNS resolution",
      spec: `
        hosts: [api.example.com]
        addresses: [10.0.0.0/24]
        resolution: DNS
        ports: [{ number: 443, name: https, protocol: TLS }]`,
      want: [
        "t.yaml:6:15 ServiceEntry ns/r: spec.addresses[0] is a CIDR range, which only resolution NONE or STATIC allows (resolution is DNS)",
      ],
    },
    {
      name: "invalid address",
      spec: `
        hosts: [api.example.com]
        addresses: [10.0.0.300]`,
      want: [
        "t.yaml:6:15 ServiceEntry ns/r: spec.addresses[0] must be an IP address or CIDR such as \"10.0.0.0/8\", not \"10.0.0.300\"",
      ],
    },
    {
      name: "resolution NONE with endpoints",
      spec: `
        hosts: [api.example.com]
        endpoints: [{ address: 1.2.3.4 }]`,
      want: [
        "t.yaml:6:14 ServiceEntry ns/r: spec.endpoints must not be set with resolution NONE, which forwards to the address the client dialled",
      ],
    },
    {
      name: "endpoint port not named in ports",
      spec: `
        hosts: [db.internal]
        resolution: STATIC
        ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
        endpoints: [{ address: 10.0.0.5, ports: { pg: 6432 } }]`,
      want: [
        "t.yaml:8:45 ServiceEntry ns/r: spec.endpoints[0].ports.pg is not the name of a port in spec.ports (tcp-pg)",
      ],
    },
    {
      name: "several hosts on a TCP port",
      spec: `
        hosts: [a.example.com, b.example.com]
        resolution: DNS
        ports: [{ number: 5432, name: pg, protocol: TCP }]`,
      want: [
        "t.yaml:5:10 ServiceEntry ns/r: spec.hosts lists several hosts, but port spec.ports[0] is not HTTP or TLS, so connections to it cannot be told apart by host; use one ServiceEntry per host",
      ],
    },
    {
      name: "DNS_ROUND_ROBIN with two endpoints",
      spec: `
        hosts: [api.example.com]
        resolution: DNS_ROUND_ROBIN
        ports: [{ number: 443, name: https, protocol: TLS }]
        endpoints: [{ address: a.example.com }, { address: b.example.com }]`,
      want: [
        "t.yaml:8:14 ServiceEntry ns/r: spec.endpoints must have at most one endpoint with resolution DNS_ROUND_ROBIN",
      ],
    },
    {
      name: "exportTo mixing ~ with others",
      spec: `
        hosts: [api.example.com]
        exportTo: ["~", "."]`,
      want: [
        "t.yaml:6:13 ServiceEntry ns/r: spec.exportTo must not mix \"~\" (no namespace) with other entries",
      ],
    },
    {
      name: "port without a name",
      spec: `
        hosts: [api.example.com]
        ports: [{ number: 443, protocol: TLS }]`,
      want: [
        "t.yaml:6:11 ServiceEntry ns/r: spec.ports[0].name is required",
      ],
    },
    {
      name: "wildcard in workloadSelector",
      spec: `
        hosts: [vm.internal]
        location: MESH_INTERNAL
        resolution: STATIC
        ports: [{ number: 80, name: http, protocol: HTTP }]
        workloadSelector: { labels: { "*": vm } }`,
      want: [
        "t.yaml:9:33 ServiceEntry ns/r: spec.workloadSelector.labels[\"*\"] must not contain a wildcard: selectors match labels exactly",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(problems(c.spec), c.want));
  }
});
