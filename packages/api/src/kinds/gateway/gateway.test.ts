import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";

const load = (text: string) => loadManifests([{ path: "gw.yaml", text }], defaultValidator());
const lines = (text: string) => load(text).problems.map(formatProblem);

/** Lines 1-6; a case's spec body starts on line 7. */
const head = (labels = "") => `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: infra${labels}
spec:
`;

describe("Gateway", () => {
  it("loads an Istio waypoint exactly as `istioctl waypoint generate` writes it", () => {
    const r = load(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  labels:
    istio.io/waypoint-for: service
  name: waypoint
  namespace: default
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources.length, 1);
    assert.equal(r.resources[0]!.key.name, "waypoint");
  });

  it("loads an ingress Gateway with HTTP, HTTPS, TLS passthrough, selectors, addresses and infrastructure", () => {
    const r = load(`${head()}  gatewayClassName: istio
  addresses:
  - type: IPAddress
    value: 203.0.113.10
  - type: Hostname
    value: ingress.example.com
  infrastructure:
    labels: { team: edge }
    annotations: { networking.gke.io/load-balancer-type: Internal }
    parametersRef: { group: "", kind: ConfigMap, name: gw-options }
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchLabels: { shared-gateway-access: "true" }
          matchExpressions: [{ key: env, operator: In, values: [prod, staging] }]
  - name: https
    hostname: "*.example.com"
    port: 443
    protocol: HTTPS
    tls:
      mode: Terminate
      certificateRefs: [{ kind: Secret, name: wildcard-cert }]
    allowedRoutes:
      kinds: [{ kind: HTTPRoute }, { group: gateway.networking.k8s.io, kind: GRPCRoute }]
  - name: https-api
    hostname: api.example.com
    port: 443
    protocol: https
    tls: { certificateRefs: [{ name: api-cert, namespace: certs }] }
  - name: tls-passthrough
    port: 8443
    protocol: TLS
    tls: { mode: Passthrough }
  - name: db
    port: 5432
    protocol: TCP
    allowedRoutes: { namespaces: { from: All } }
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources.length, 1);
  });

  it("loads an Istio east-west gateway (HBONE listener terminating ISTIO_MUTUAL)", () => {
    assert.deepEqual(lines(`${head("\n  labels: { topology.istio.io/network: network1 }")}  gatewayClassName: istio-east-west
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE
    tls:
      mode: Terminate
      options:
        gateway.istio.io/tls-terminate-mode: ISTIO_MUTUAL
`), []);
  });

  it("normalises a v1beta1 Gateway to v1", () => {
    const r = load(head().replace("/v1\n", "/v1beta1\n") + `  gatewayClassName: istio
  listeners: [{ name: http, port: 80, protocol: HTTP }]
`);
    assert.deepEqual(r.problems, []);
    assert.equal(r.resources[0]!.object.apiVersion, "gateway.networking.k8s.io/v1");
  });

  it("warns about, but keeps, a waypoint listener besides the HBONE one", () => {
    const r = load(`${head()}  gatewayClassName: istio-waypoint
  listeners:
  - { name: mesh, port: 15008, protocol: HBONE }
  - { name: http, port: 80, protocol: HTTP }
`);
    assert.equal(r.resources.length, 1);
    assert.deepEqual(r.problems.map(formatProblem), [
      "gw.yaml:10:5 warning: Gateway infra/gw: spec.listeners[1] is ignored: a waypoint serves only its HBONE listener on port 15008 (spec.listeners[0])",
    ]);
  });

  const cases: { name: string; labels?: string; spec: string; want: string[] }[] = [
    {
      name: "duplicate listener names",
      spec: `  gatewayClassName: istio
  listeners:
  - { name: web, port: 80, protocol: HTTP }
  - { name: web, port: 8080, protocol: HTTP }
`,
      want: ['gw.yaml:10:13 Gateway infra/gw: spec.listeners[1].name duplicates spec.listeners[0].name "web"'],
    },
    {
      name: "listeners that are not distinct (port, protocol, hostname)",
      spec: `  gatewayClassName: istio
  listeners:
  - { name: a, port: 80, protocol: HTTP, hostname: foo.example.com }
  - { name: b, port: 80, protocol: http, hostname: foo.example.com }
`,
      want: ["gw.yaml:10:5 Gateway infra/gw: spec.listeners[1] has the same port, protocol and hostname as spec.listeners[0] (80/HTTP/foo.example.com); each listener must differ in at least one of them"],
    },
    {
      name: "HTTPS without tls",
      spec: `  gatewayClassName: istio
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
`,
      want: ["gw.yaml:9:5 Gateway infra/gw: spec.listeners[0].tls is required for protocol HTTPS (mode Terminate with certificateRefs)"],
    },
    {
      name: "HTTPS with Passthrough",
      spec: `  gatewayClassName: istio
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls: { mode: Passthrough }
`,
      want: ["gw.yaml:12:18 Gateway infra/gw: spec.listeners[0].tls.mode must be Terminate for protocol HTTPS; to pass TLS through, use protocol TLS with a TLSRoute"],
    },
    {
      name: "TLS protocol without tls",
      spec: `  gatewayClassName: istio
  listeners: [{ name: tls, port: 443, protocol: TLS }]
`,
      want: ["gw.yaml:8:15 Gateway infra/gw: spec.listeners[0].tls is required for protocol TLS (mode Terminate or Passthrough)"],
    },
    {
      name: "Terminate without certificates",
      spec: `  gatewayClassName: istio
  listeners:
  - name: https
    port: 443
    protocol: HTTPS
    tls:
      mode: Terminate
`,
      want: ["gw.yaml:13:7 Gateway infra/gw: spec.listeners[0].tls.certificateRefs must not be empty when mode is Terminate (or set options that supply the certificate)"],
    },
    {
      name: "tls on an HTTP listener",
      spec: `  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    tls: { certificateRefs: [{ name: cert }] }
`,
      want: ["gw.yaml:12:10 Gateway infra/gw: spec.listeners[0].tls must not be set for protocol HTTP"],
    },
    {
      name: "hostname on a TCP listener",
      spec: `  gatewayClassName: istio
  listeners:
  - { name: db, port: 5432, protocol: TCP, hostname: db.example.com }
`,
      want: ["gw.yaml:9:54 Gateway infra/gw: spec.listeners[0].hostname must not be set for protocol TCP"],
    },
    {
      name: "an IP address as listener hostname",
      spec: `  gatewayClassName: istio
  listeners:
  - { name: http, port: 80, protocol: HTTP, hostname: 192.0.2.1 }
`,
      want: ["gw.yaml:9:55 Gateway infra/gw: spec.listeners[0].hostname must be a host name, not an IP address (192.0.2.1)"],
    },
    {
      name: "an unprefixed protocol that is not a core one",
      spec: `  gatewayClassName: istio
  listeners:
  - { name: grpc, port: 9000, protocol: GRPC }
`,
      want: ['gw.yaml:9:41 Gateway infra/gw: spec.listeners[0].protocol must be HTTP, HTTPS, TLS, TCP, UDP, HBONE (Istio) or a domain-prefixed protocol such as "example.com/proto", not "GRPC"'],
    },
    {
      name: "from: Selector without a selector",
      spec: `  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Selector
`,
      want: ["gw.yaml:14:9 Gateway infra/gw: spec.listeners[0].allowedRoutes.namespaces.selector is required when from is Selector"],
    },
    {
      name: "a label selector operator In without values",
      spec: `  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocol: HTTP
    allowedRoutes:
      namespaces:
        from: Selector
        selector:
          matchExpressions:
          - { key: env, operator: In }
`,
      want: ["gw.yaml:17:13 Gateway infra/gw: spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].values must not be empty for operator In"],
    },
    {
      name: "a waypoint without an HBONE listener",
      spec: `  gatewayClassName: istio-waypoint
  listeners:
  - { name: http, port: 80, protocol: HTTP }
`,
      want: ["gw.yaml:9:3 Gateway infra/gw: spec.listeners lack the HBONE listener: an istio-waypoint Gateway needs a listener with port 15008 and protocol HBONE ({name: mesh, port: 15008, protocol: HBONE}); ztunnel sends HBONE to port 15008 only"],
    },
    {
      name: "a waypoint whose HBONE listener is not on 15008",
      spec: `  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15009
    protocol: HBONE
`,
      want: ["gw.yaml:10:11 Gateway infra/gw: spec.listeners[0].port must be 15008: an istio-waypoint Gateway needs a listener with port 15008 and protocol HBONE ({name: mesh, port: 15008, protocol: HBONE}); ztunnel sends HBONE to port 15008 only"],
    },
    {
      name: "an unknown istio.io/waypoint-for value",
      labels: "\n  labels:\n    istio.io/waypoint-for: services",
      spec: `  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
`,
      want: ['gw.yaml:7:28 Gateway infra/gw: metadata.labels["istio.io/waypoint-for"] must be one of service, workload, all, none, not "services"'],
    },
    {
      name: "an IPAddress address that is not an IP",
      spec: `  gatewayClassName: istio
  addresses: [{ type: IPAddress, value: 10.0.0.300 }]
  listeners: [{ name: http, port: 80, protocol: HTTP }]
`,
      want: ['gw.yaml:8:41 Gateway infra/gw: spec.addresses[0].value must be an IPv4 or IPv6 address for type IPAddress, not "10.0.0.300"'],
    },
    {
      name: "a misspelt listener field (schema)",
      spec: `  gatewayClassName: istio
  listeners:
  - name: http
    port: 80
    protocl: HTTP
`,
      want: [
        "gw.yaml:9:5 Gateway infra/gw: spec.listeners[0].protocol is required",
        'gw.yaml:11:5 Gateway infra/gw: spec.listeners[0].protocl is not a known field (did you mean "protocol"?)',
      ],
    },
    {
      name: "a port out of range and an upper-case hostname (schema)",
      spec: `  gatewayClassName: istio
  listeners:
  - { name: http, port: 70000, protocol: HTTP, hostname: Foo.example.com }
`,
      want: [
        "gw.yaml:9:25 Gateway infra/gw: spec.listeners[0].port must be a port number from 1 to 65535",
        'gw.yaml:9:58 Gateway infra/gw: spec.listeners[0].hostname must be a lower-case DNS name of at most 253 characters, optionally starting with "*."',
      ],
    },
    {
      name: "no listeners (schema)",
      spec: `  gatewayClassName: istio
  listeners: []
`,
      want: ["gw.yaml:8:14 Gateway infra/gw: spec.listeners must have at least 1 item(s)"],
    },
  ];

  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const r = load(head(c.labels) + c.spec);
      assert.deepEqual(r.problems.map(formatProblem), c.want);
      assert.equal(r.resources.length, 0);
    });
  }

  it("rejects a waypoint named none", () => {
    const r = load(head().replace("name: gw", "name: none") + `  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
`);
    assert.deepEqual(r.problems.map(formatProblem), [
      'gw.yaml:4:9 Gateway infra/none: metadata.name must not be "none" for a waypoint: istio.io/use-waypoint: none means "no waypoint", so nothing could use it',
    ]);
  });
});
