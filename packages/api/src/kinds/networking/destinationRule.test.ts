import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";
import type { DestinationRuleSpec } from "./destinationRule.js";

const load = (text: string) => loadManifests([{ path: "t.yaml", text }], defaultValidator());

/** Wraps an indented spec body in a 4-line header, so the spec's first line is line 5 of t.yaml. */
function problems(spec: string): string[] {
  const lines = spec.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  const body = lines.map((l) => `  ${l.slice(indent)}`).join("\n");
  return load(`apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: { name: r, namespace: ns }\nspec:\n${body}\n`).problems.map(formatProblem);
}

const reviews = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: bookinfo }
spec:
  host: reviews.bookinfo.svc.cluster.local
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
      localityLbSetting:
        enabled: true
        failover: [{ from: us-east, to: us-west }]
      warmup: { duration: 30s, minimumPercent: 10, aggression: 1.5 }
    connectionPool:
      tcp: { maxConnections: 100, connectTimeout: 30ms, tcpKeepalive: { time: 7200s, interval: 75s, probes: 9 }, idleTimeout: 0s }
      http: { http1MaxPendingRequests: 64, http2MaxRequests: 1000, maxRequestsPerConnection: 10, maxRetries: 3, idleTimeout: 1h, h2UpgradePolicy: UPGRADE, maxConcurrentStreams: 100 }
    outlierDetection: { consecutive5xxErrors: 7, consecutiveGatewayErrors: 5, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 50, minHealthPercent: 30 }
    tls: { mode: ISTIO_MUTUAL }
    portLevelSettings:
    - port: { number: 9443 }
      tls:
        mode: MUTUAL
        clientCertificate: /etc/certs/client.pem
        privateKey: /etc/certs/key.pem
        caCertificates: /etc/certs/ca.pem
        subjectAltNames: [reviews.example.com]
        sni: reviews.example.com
    retryBudget: { percent: 20, minRetryConcurrency: 3 }
  subsets:
  - name: v1
    labels: { version: v1 }
  - name: v2
    labels: { version: v2 }
    trafficPolicy:
      loadBalancer:
        consistentHash:
          httpCookie: { name: user, ttl: 0s, path: /, attributes: [{ name: SameSite, value: Strict }] }
          ringHash: { minimumRingSize: 1024 }
  exportTo: ["."]
`;

describe("DestinationRule", () => {
  it("loads a realistic manifest with no problems", () => {
    const r = load(reviews);
    assert.deepEqual(r.problems.map(formatProblem), []);
    const spec = r.resources[0]!.object.spec as DestinationRuleSpec;
    assert.deepEqual(spec.subsets?.map((s) => s.name), ["v1", "v2"]);
    assert.equal(spec.trafficPolicy?.portLevelSettings?.[0]?.tls?.mode, "MUTUAL");
  });

  it("loads a wildcard host with maglev hashing and a CONNECT tunnel", () => {
    const r = load(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: egress, namespace: egress }
spec:
  host: "*.example.com"
  trafficPolicy:
    loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 65537 } } }
    tunnel: { protocol: CONNECT, targetHost: egress-proxy.corp, targetPort: 3128 }
  workloadSelector: { matchLabels: { app: client } }
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
  });

  for (const version of ["v1beta1", "v1alpha3"]) {
    it(`loads networking.istio.io/${version} unchanged and normalises it to v1`, () => {
      const r = load(reviews.replace("networking.istio.io/v1\n", `networking.istio.io/${version}\n`));
      assert.deepEqual(r.problems.map(formatProblem), []);
      assert.equal(r.resources[0]!.object.apiVersion, "networking.istio.io/v1");
      assert.deepEqual(r.resources[0]!.object.spec, load(reviews).resources[0]!.object.spec);
    });
  }

  const cases: { name: string; spec: string; want: string[] }[] = [
    {
      name: "unknown field points at the key and suggests the near name",
      spec: `
        host: reviews
        trafficPolicy:
          loadBalancer: { simpel: ROUND_ROBIN }`,
      want: [
        "t.yaml:7:21 DestinationRule ns/r: spec.trafficPolicy.loadBalancer.simpel is not a known field (did you mean \"simple\"?)",
      ],
    },
    {
      name: "unknown simple load balancer",
      spec: `
        host: reviews
        trafficPolicy:
          loadBalancer: { simple: FASTEST }`,
      want: [
        "t.yaml:7:29 DestinationRule ns/r: spec.trafficPolicy.loadBalancer.simple must be one of \"UNSPECIFIED\", \"LEAST_CONN\", \"RANDOM\", \"PASSTHROUGH\", \"ROUND_ROBIN\", \"LEAST_REQUEST\", not \"FASTEST\"",
      ],
    },
    {
      name: "simple together with consistentHash",
      spec: `
        host: reviews
        trafficPolicy:
          loadBalancer: { simple: ROUND_ROBIN, consistentHash: { useSourceIp: true } }`,
      want: [
        "t.yaml:7:58 DestinationRule ns/r: spec.trafficPolicy.loadBalancer.consistentHash cannot be set together with simple",
      ],
    },
    {
      name: "consistentHash without a key",
      spec: `
        host: reviews
        trafficPolicy:
          loadBalancer: { consistentHash: { ringHash: { minimumRingSize: 1024 } } }`,
      want: [
        "t.yaml:7:37 DestinationRule ns/r: spec.trafficPolicy.loadBalancer.consistentHash must set one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName",
      ],
    },
    {
      name: "consistentHash with two keys",
      spec: `
        host: reviews
        trafficPolicy:
          loadBalancer: { consistentHash: { httpHeaderName: x-user, useSourceIp: true } }`,
      want: [
        "t.yaml:7:76 DestinationRule ns/r: spec.trafficPolicy.loadBalancer.consistentHash.useSourceIp cannot be set together with httpHeaderName: hash on one key",
      ],
    },
    {
      name: "maglev tableSize not prime",
      spec: `
        host: reviews
        trafficPolicy:
          loadBalancer: { consistentHash: { useSourceIp: true, maglev: { tableSize: 1000 } } }`,
      want: [
        "t.yaml:7:79 DestinationRule ns/r: spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize must be a prime number (Envoy requires it), such as 65537, not 1000",
      ],
    },
    {
      name: "duplicate and invalid subset names",
      spec: `
        host: reviews
        subsets:
        - name: v1
          labels: { version: v1 }
        - name: v1
          labels: { version: v2 }
        - name: v_3
          labels: { version: v3 }`,
      want: [
        "t.yaml:9:11 DestinationRule ns/r: spec.subsets[1].name duplicates spec.subsets[0].name \"v1\"",
        "t.yaml:11:11 DestinationRule ns/r: spec.subsets[2].name must be a DNS label (letters, digits and '-', at most 63 characters), not \"v_3\"",
      ],
    },
    {
      name: "MUTUAL TLS without client certificate and key",
      spec: `
        host: reviews
        trafficPolicy:
          tls: { mode: MUTUAL, caCertificates: /etc/ca.pem }`,
      want: [
        "t.yaml:7:10 DestinationRule ns/r: spec.trafficPolicy.tls.clientCertificate is required for MUTUAL TLS (or set credentialName)",
        "t.yaml:7:10 DestinationRule ns/r: spec.trafficPolicy.tls.privateKey is required for MUTUAL TLS (or set credentialName)",
      ],
    },
    {
      name: "MUTUAL TLS with credentialName needs no files",
      spec: `
        host: reviews
        trafficPolicy:
          tls: { mode: MUTUAL, credentialName: client-cred, sni: reviews.example.com }`,
      want: [],
    },
    {
      name: "credentialName together with caCertificates",
      spec: `
        host: reviews
        trafficPolicy:
          tls: { mode: SIMPLE, credentialName: c, caCertificates: /etc/ca.pem }`,
      want: [
        "t.yaml:7:61 DestinationRule ns/r: spec.trafficPolicy.tls.caCertificates cannot be set together with credentialName, which supplies the certificates",
      ],
    },
    {
      name: "maxEjectionPercent over 100",
      spec: `
        host: reviews
        trafficPolicy:
          outlierDetection: { maxEjectionPercent: 150, consecutive5xxErrors: 5, interval: 10s }`,
      want: [
        "t.yaml:7:45 DestinationRule ns/r: spec.trafficPolicy.outlierDetection.maxEjectionPercent must be a percentage from 0 to 100",
      ],
    },
    {
      name: "duplicate portLevelSettings port",
      spec: `
        host: reviews
        trafficPolicy:
          portLevelSettings:
          - port: { number: 80 }
            loadBalancer: { simple: LEAST_REQUEST }
          - port: { number: 80 }
            tls: { mode: ISTIO_MUTUAL }`,
      want: [
        "t.yaml:10:23 DestinationRule ns/r: spec.trafficPolicy.portLevelSettings[1].port.number duplicates spec.trafficPolicy.portLevelSettings[0].port.number (80)",
      ],
    },
    {
      name: "portLevelSettings entry with only a port",
      spec: `
        host: reviews
        trafficPolicy:
          portLevelSettings:
          - port: { number: 80 }`,
      want: [
        "t.yaml:8:7 DestinationRule ns/r: spec.trafficPolicy.portLevelSettings[0] must set at least one of loadBalancer, connectionPool, outlierDetection or tls",
      ],
    },
    {
      name: "empty trafficPolicy",
      spec: `
        host: reviews
        trafficPolicy: {}`,
      want: [
        "t.yaml:6:18 DestinationRule ns/r: spec.trafficPolicy must set at least one field (or be left out)",
      ],
    },
    {
      name: "UPGRADE with useClientProtocol",
      spec: `
        host: reviews
        trafficPolicy:
          connectionPool: { http: { h2UpgradePolicy: UPGRADE, useClientProtocol: true } }`,
      want: [
        "t.yaml:7:76 DestinationRule ns/r: spec.trafficPolicy.connectionPool.http.useClientProtocol cannot be true when h2UpgradePolicy is UPGRADE",
      ],
    },
    {
      name: "negative maxConnections",
      spec: `
        host: reviews
        trafficPolicy:
          connectionPool: { tcp: { maxConnections: -1 } }`,
      want: [
        "t.yaml:7:46 DestinationRule ns/r: spec.trafficPolicy.connectionPool.tcp.maxConnections must be a whole number from 0 to 2147483647",
      ],
    },
    {
      name: "locality distribute weights not summing to 100",
      spec: `
        host: reviews
        trafficPolicy:
          loadBalancer:
            localityLbSetting:
              distribute:
              - from: us-west/zone1/*
                to: { "us-west/zone1/*": 70, "us-west/zone2/*": 20 }`,
      want: [
        "t.yaml:11:15 DestinationRule ns/r: spec.trafficPolicy.loadBalancer.localityLbSetting.distribute[0].to weights must sum to 100, not 90",
      ],
    },
    {
      name: "tunnel target host and proxyProtocol together",
      spec: `
        host: reviews
        trafficPolicy:
          tunnel: { targetHost: "bad host", targetPort: 8080 }
          proxyProtocol: { version: V2 }`,
      want: [
        "t.yaml:7:27 DestinationRule ns/r: spec.trafficPolicy.tunnel.targetHost must be a DNS name or an IP address, not \"bad host\"",
        "t.yaml:8:20 DestinationRule ns/r: spec.trafficPolicy.proxyProtocol cannot be set together with tunnel",
      ],
    },
    {
      name: "workloadSelector with exportTo *",
      spec: `
        host: reviews
        workloadSelector: { matchLabels: { app: reviews } }
        exportTo: ["*"]`,
      want: [
        "t.yaml:7:13 DestinationRule ns/r: spec.exportTo must only name this namespace (\".\") when workloadSelector is set, not \"*\"",
      ],
    },
    {
      name: "host with an empty label",
      spec: `
        host: "reviews..default"`,
      want: [
        "t.yaml:5:9 DestinationRule ns/r: spec.host must be a DNS name, not \"reviews..default\" (label \"\" is invalid)",
      ],
    },
    {
      name: "consecutiveLocalOriginFailures without splitExternalLocalOriginErrors",
      spec: `
        host: reviews
        trafficPolicy:
          outlierDetection: { consecutiveLocalOriginFailures: 3 }`,
      want: [
        "t.yaml:7:57 DestinationRule ns/r: spec.trafficPolicy.outlierDetection.consecutiveLocalOriginFailures only counts when splitExternalLocalOriginErrors is true",
      ],
    },
    {
      name: "error inside a subset policy",
      spec: `
        host: reviews
        subsets:
        - name: v2
          labels: { version: v2 }
          trafficPolicy:
            loadBalancer: { simple: RANDOM, consistentHash: { httpCookie: { name: user, ttl: 0s } } }`,
      want: [
        "t.yaml:10:55 DestinationRule ns/r: spec.subsets[0].trafficPolicy.loadBalancer.consistentHash cannot be set together with simple",
      ],
    },
    {
      name: "wildcard in workloadSelector",
      spec: `
        host: reviews
        workloadSelector: { matchLabels: { app: "rev*" } }`,
      want: [
        "t.yaml:6:43 DestinationRule ns/r: spec.workloadSelector.matchLabels.app must not contain a wildcard: selectors match labels exactly",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(problems(c.spec), c.want));
  }
});
