import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { VirtualServiceSpec } from "./virtualService.js";

const load = (text: string) => loadManifests([{ path: "t.yaml", text }], defaultValidator());

/** Wraps an indented spec body in a 4-line header, so the spec's first line is line 5 of t.yaml. */
function problems(spec: string): string[] {
  const lines = spec.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  const body = lines.map((l) => `  ${l.slice(indent)}`).join("\n");
  return load(`apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: r, namespace: ns }\nspec:\n${body}\n`).problems.map(formatProblem);
}

const bookinfo = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: bookinfo }
spec:
  hosts: [reviews, reviews.bookinfo.svc.cluster.local]
  http:
  - name: jason
    match:
    - headers:
        end-user: { exact: jason }
        x-present: {}
      uri: { prefix: /api }
      ignoreUriCase: true
    route:
    - destination: { host: reviews, subset: v2 }
      weight: 80
      headers: { request: { set: { x-canary: "true" } }, response: { remove: [x-internal] } }
    - destination: { host: reviews, subset: v3, port: { number: 9080 } }
      weight: 20
    retries: { attempts: 3, perTryTimeout: 2s, retryOn: "5xx,connect-failure,503", retryIgnorePreviousHosts: true, backoff: 25ms }
    timeout: 10s
    fault:
      delay: { fixedDelay: 5s, percentage: { value: 10 } }
      abort: { httpStatus: 503, percentage: { value: 1.5 } }
    corsPolicy:
      allowOrigins: [{ exact: "https://example.com" }, { regex: "https://.*\\\\.example\\\\.com" }]
      allowMethods: [GET, POST]
      allowCredentials: true
      maxAge: 24h
      unmatchedPreflights: IGNORE
    mirrors:
    - destination: { host: reviews-shadow }
      percentage: { value: 5 }
    rewrite: { uriRegexRewrite: { match: "^/api/(.*)$", rewrite: "/\\\\1" } }
  - name: old-path
    match: [{ uri: { exact: /old }, method: { exact: GET } }]
    redirect: { uri: /new, redirectCode: 301, derivePort: FROM_REQUEST_PORT }
  - name: teapot
    match: [{ uri: { exact: /teapot } }]
    directResponse: { status: 418, body: { string: "short and stout" } }
  - route: [{ destination: { host: reviews, subset: v1 } }]
  tcp:
  - match: [{ port: 3306, destinationSubnets: [10.0.0.0/8] }]
    route: [{ destination: { host: mysql } }]
  exportTo: [".", istio-system]
`;

describe("VirtualService", () => {
  it("loads a realistic manifest with no problems", () => {
    const r = load(bookinfo);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources.length, 1);
    const spec = r.resources[0]!.object.spec as VirtualServiceSpec;
    assert.equal(spec.http?.[0]?.route?.[1]?.destination.port?.number, 9080);
    assert.equal(spec.http?.[0]?.rewrite?.uriRegexRewrite?.rewrite, "/\\1");
  });

  it("loads a gateway TLS passthrough and a delegate pair", () => {
    const r = load(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: passthrough, namespace: istio-system }
spec:
  hosts: ["*.example.com"]
  gateways: [istio-system/egress]
  tls:
  - match: [{ sniHosts: [api.example.com], port: 443, gateways: [istio-system/egress] }]
    route: [{ destination: { host: api.example.com, port: { number: 443 } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: root, namespace: shop }
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/ingress]
  http:
  - match: [{ uri: { prefix: /cart } }]
    delegate: { name: cart, namespace: cart }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: cart, namespace: cart }
spec:
  http:
  - route: [{ destination: { host: cart.cart.svc.cluster.local } }]
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources.length, 3);
  });

  for (const version of ["v1beta1", "v1alpha3"]) {
    it(`loads networking.istio.io/${version} unchanged and normalises it to v1`, () => {
      const text = bookinfo.replace("networking.istio.io/v1\n", `networking.istio.io/${version}\n`);
      const r = load(text);
      assert.deepEqual(r.problems.map(formatProblem), []);
      const obj = r.resources[0]!.object;
      assert.equal(obj.apiVersion, "networking.istio.io/v1");
      assert.deepEqual(obj.spec, load(bookinfo).resources[0]!.object.spec);
    });
  }

  it("rejects an unknown version", () => {
    const r = load(bookinfo.replace("networking.istio.io/v1\n", "networking.istio.io/v2\n"));
    assert.deepEqual(r.problems.map(formatProblem), [
      "t.yaml:1:13 VirtualService bookinfo/reviews: apiVersion networking.istio.io/v2 is not a version of VirtualService that Waystation reads; use one of networking.istio.io/v1, networking.istio.io/v1beta1, networking.istio.io/v1alpha3",
    ]);
  });

  const cases: { name: string; spec: string; want: string[] }[] = [
    {
      name: "unknown field points at the key and suggests the near name",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          timeot: 5s`,
      want: [
        "t.yaml:8:5 VirtualService ns/r: spec.http[0].timeot is not a known field (did you mean \"timeout\"?)",
      ],
    },
    {
      name: "empty host",
      spec: `
        hosts: [""]
        http:
        - route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:5:11 VirtualService ns/r: spec.hosts[0] must not be empty",
      ],
    },
    {
      name: "host * bound to the mesh",
      spec: `
        hosts: ["*"]
        http:
        - route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:5:11 VirtualService ns/r: spec.hosts[0] must not be \"*\" when the VirtualService applies to the mesh (no gateways, or \"mesh\" among them)",
      ],
    },
    {
      name: "wildcard inside a host",
      spec: `
        hosts: ["foo.*.com"]
        http:
        - route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:5:11 VirtualService ns/r: spec.hosts[0] must be a DNS name, not \"foo.*.com\" (label \"*\" is invalid)",
      ],
    },
    {
      name: "overlapping hosts (an IP host is fine)",
      spec: `
        hosts: ["10.0.0.1", "*.example.com", "api.example.com"]
        http:
        - route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:5:40 VirtualService ns/r: spec.hosts[2] overlaps spec.hosts[1] \"*.example.com\"; list each host once",
      ],
    },
    {
      name: "SNI host outside the VirtualService hosts",
      spec: `
        hosts: ["*.example.com"]
        gateways: [istio-system/egress]
        tls:
        - match: [{ sniHosts: [api.other.com], port: 443 }]
          route: [{ destination: { host: api.other.com } }]`,
      want: [
        "t.yaml:8:26 VirtualService ns/r: spec.tls[0].match[0].sniHosts[0] \"api.other.com\" is not covered by any of spec.hosts (*.example.com); SNI hosts must be a subset of them",
      ],
    },
    {
      name: "delegate VirtualService (no hosts) with tcp routes",
      spec: `
        http:
        - route: [{ destination: { host: reviews } }]
        tcp:
        - route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:8:3 VirtualService ns/r: spec.tcp must be empty in a delegate VirtualService (one without hosts): only HTTP routes can be delegated",
      ],
    },
    {
      name: "rule after a catch-all rule warns",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
        - match: [{ uri: { prefix: /a } }]
          route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:8:5 warning: VirtualService ns/r: spec.http[1] is never used: spec.http[0] has no match and takes all traffic first",
      ],
    },
    {
      name: "exportTo duplicate and ~",
      spec: `
        hosts: [reviews]
        exportTo: [".", "ns", "~"]
        http:
        - route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:6:19 VirtualService ns/r: spec.exportTo[1] duplicates spec.exportTo[0] (\".\" is namespace ns)",
        "t.yaml:6:25 VirtualService ns/r: spec.exportTo[2] \"~\" (visible to no namespace) is only allowed in a ServiceEntry",
      ],
    },
    {
      name: "gateway names",
      spec: `
        hosts: [reviews]
        gateways: [istio-system/ingress, "bad//x", ingress.istio-system]
        http:
        - route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:6:36 VirtualService ns/r: spec.gateways[1] must be \"<namespace>/<name>\" with both parts DNS labels, not \"bad//x\"",
        "t.yaml:6:46 warning: VirtualService ns/r: spec.gateways[2] uses the legacy \"name.namespace\" form; prefer \"istio-system/ingress\"",
      ],
    },
    {
      name: "JWT claim routing outside gateways",
      spec: `
        hosts: [reviews]
        http:
        - match: [{ headers: { "@request.auth.claims.group": { exact: admin } } }]
          route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:7:26 VirtualService ns/r: spec.http[0].match[0].headers[\"@request.auth.claims.group\"] routes on a JWT claim, which only works on gateways; this VirtualService also applies to the mesh",
      ],
    },
    {
      name: "no routes at all",
      spec: `
        hosts: [reviews]`,
      want: [
        "t.yaml:5:3 VirtualService ns/r: spec must have at least one http, tcp or tls route",
      ],
    },
    {
      name: "TLS rule without SNI hosts or destinations",
      spec: `
        hosts: [api.example.com]
        tls:
        - match: [{ sniHosts: [] }]
          route: []`,
      want: [
        "t.yaml:7:25 VirtualService ns/r: spec.tls[0].match[0].sniHosts must list at least one SNI host",
        "t.yaml:8:12 VirtualService ns/r: spec.tls[0].route must have at least one destination",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(problems(c.spec), c.want));
  }
});
