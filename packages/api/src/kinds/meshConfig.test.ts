import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../load.js";
import { formatProblem } from "../problem.js";
import { defaultValidator } from "../registry.js";
import { parseMeshConfig, type ConfigMapFields } from "./meshConfig.js";

const load = (text: string) => loadManifests([{ path: "mesh.yaml", text }], defaultValidator());
const problems = (text: string) => load(text).problems.map(formatProblem);

/** The `istio` ConfigMap in istio-system; the mesh document's first line is line 8, column 5. */
const cm = (mesh: string, ns = "istio-system") => `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: ${ns}
data:
  mesh: |-
${mesh.split("\n").map((l) => (l ? `    ${l}` : l)).join("\n")}
`;

/** What a Helm-installed istiod writes, plus an ext_authz provider of each kind. */
const realistic = `accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
  tracing: { zipkin: { address: zipkin.istio-system:9411 } }
defaultProviders:
  metrics: [prometheus]
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
trustDomainAliases: [old-td.example.com]
connectTimeout: 5s
outboundTrafficPolicy: { mode: REGISTRY_ONLY }
extensionProviders:
  - name: ext-authz
    envoyExtAuthzHttp:
      service: ext-authz.istio-system.svc.cluster.local
      port: 8000
      timeout: 0.5s
      failOpen: false
      statusOnError: "503"
      pathPrefix: /check
      includeRequestHeadersInCheck: [authorization, x-ext-authz*]
      includeAdditionalHeadersInCheck: { x-mesh: waystation }
      headersToUpstreamOnAllow: [x-user]
      headersToDownstreamOnDeny: [x-reason]
      headersToDownstreamOnAllow: [set-cookie]
      includeRequestBodyInCheck: { maxRequestBytes: 4096, allowPartialMessage: true }
  - name: ext-authz-grpc
    envoyExtAuthzGrpc:
      service: foo/ext-authz-grpc.foo.svc.cluster.local
      port: 9000
      timeout: 250ms
      failOpen: true
      includeRequestBodyInCheck: { maxRequestBytes: 1024, packAsBytes: true }`;

describe("ConfigMap", () => {
  it("loads Istio's mesh ConfigMap clean, and parses data.mesh into a typed MeshConfig", () => {
    const r = load(cm(realistic).replace("\ndata:\n", "\ndata:\n  meshNetworks: 'networks: {}'\n"));
    assert.deepEqual(r.problems.map(formatProblem), []);
    const data = (r.resources[0]!.object as unknown as ConfigMapFields).data!;
    const { config, issues } = parseMeshConfig(data.mesh!);
    assert.deepEqual(issues, []);
    assert.equal(config?.trustDomain, "cluster.local");
    assert.equal(config?.extensionProviders?.[0]?.envoyExtAuthzHttp?.port, 8000);
    assert.equal(config?.extensionProviders?.[1]?.envoyExtAuthzGrpc?.service, "foo/ext-authz-grpc.foo.svc.cluster.local");
    assert.equal(config?.outboundTrafficPolicy?.mode, "REGISTRY_ONLY");
  });

  it("lists provider kinds it does not use yet as warnings, and still loads the ConfigMap", () => {
    const r = load(cm(`${realistic}\n  - name: otel\n    opentelemetry: { service: otel.observability.svc.cluster.local, port: 4317 }`));
    assert.equal(r.resources.length, 1);
    assert.deepEqual(r.problems.map(formatProblem), [
      'mesh.yaml:43:9 warning: ConfigMap istio-system/istio: data.mesh.extensionProviders[2].opentelemetry is a provider kind Waystation does not use yet; provider "otel" is accepted and ignored',
    ]);
  });

  it("accepts any other ConfigMap as opaque data, even one whose mesh key is not YAML", () => {
    assert.deepEqual(problems(`apiVersion: v1
kind: ConfigMap
metadata: { name: istio-sidecar-injector, namespace: istio-system }
immutable: true
data:
  mesh: "{ not: [yaml"
  config: |
    policy: enabled
binaryData:
  blob: AAEC
`), []);
  });

  it("checks the shape of every ConfigMap: data values are strings", () => {
    assert.deepEqual(problems(`apiVersion: v1
kind: ConfigMap
metadata: { name: app-config }
data:
  replicas: 3
`), ["mesh.yaml:5:13 ConfigMap default/app-config: data.replicas must be a string"]);
  });

  it("checks an `istio` ConfigMap in any namespace (the model decides which one counts)", () => {
    assert.deepEqual(problems(cm("trustDomain: Bad_TD", "other")), [
      `mesh.yaml:8:18 ConfigMap other/istio: data.mesh.trustDomain must be a SPIFFE trust domain (lower-case letters, digits, '.', '-' and '_'), not "Bad_TD"`,
    ]);
  });

  it("warns when the istio ConfigMap has no mesh key", () => {
    assert.deepEqual(problems(`apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  meshNetworks: "networks: {}"
`), ['mesh.yaml:5:3 warning: ConfigMap istio-system/istio: data has no "mesh" key, so the mesh config is Istio\'s defaults']);
  });

  const cases: [name: string, mesh: string, want: string[]][] = [
    ["port as a string", "extensionProviders:\n  - name: a\n    envoyExtAuthzHttp: { service: a.b.svc.cluster.local, port: \"8000\" }",
      ["mesh.yaml:10:68 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzHttp.port must be an integer"]],
    ["port out of range", "extensionProviders:\n  - name: a\n    envoyExtAuthzGrpc:\n      service: a.b.svc.cluster.local\n      port: 70000",
      ["mesh.yaml:12:17 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzGrpc.port must be a port number from 1 to 65535"]],
    ["port missing", "extensionProviders:\n  - name: a\n    envoyExtAuthzGrpc:\n      service: a.b.svc.cluster.local",
      ["mesh.yaml:11:11 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzGrpc.port is required"]],
    ["two provider kinds", "extensionProviders:\n  - name: a\n    envoyExtAuthzHttp: { service: a.b, port: 80 }\n    envoyExtAuthzGrpc: { service: a.b, port: 81 }",
      ["mesh.yaml:11:9 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzGrpc cannot be combined with envoyExtAuthzHttp: a provider has exactly one kind"]],
    ["no provider kind", "extensionProviders:\n  - name: a",
      ["mesh.yaml:9:9 ConfigMap istio-system/istio: data.mesh.extensionProviders[0] must set one provider kind, e.g. envoyExtAuthzHttp, envoyExtAuthzGrpc or opentelemetry"]],
    ["misspelt provider kind", "extensionProviders:\n  - name: a\n    envoyExtAuthzHTTP: { service: a.b, port: 80 }",
      ['mesh.yaml:10:9 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzHTTP is not a known field (did you mean "envoyExtAuthzHttp"?)']],
    ["unknown ext_authz field", "extensionProviders:\n  - name: a\n    envoyExtAuthzHttp: { service: a.b, port: 80, failopen: true }",
      ['mesh.yaml:10:54 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzHttp.failopen is not a known field (did you mean "failOpen"?)']],
    ["duplicate provider names", "extensionProviders:\n  - { name: a, envoyExtAuthzHttp: { service: a.b, port: 80 } }\n  - { name: a, prometheus: {} }",
      [
        'mesh.yaml:10:17 ConfigMap istio-system/istio: data.mesh.extensionProviders[1].name duplicates extensionProviders[0].name "a": provider names must be unique',
        'mesh.yaml:10:20 warning: ConfigMap istio-system/istio: data.mesh.extensionProviders[1].prometheus is a provider kind Waystation does not use yet; provider "a" is accepted and ignored',
      ]],
    ["bad service", "extensionProviders:\n  - name: a\n    envoyExtAuthzHttp: { service: \"Foo_Bar/x\", port: 80 }",
      ['mesh.yaml:10:39 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzHttp.service must be "[<namespace>/]<host>", e.g. "ext-authz.foo.svc.cluster.local" or "foo/authz.example.com", not "Foo_Bar/x"']],
    ["statusOnError Envoy does not know", "extensionProviders:\n  - name: a\n    envoyExtAuthzGrpc: { service: a.b, port: 80, statusOnError: \"499\" }",
      ['mesh.yaml:10:69 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzGrpc.statusOnError must be an HTTP status code Envoy knows, such as "403" or "503", not "499"']],
    ["pathPrefix without a slash", "extensionProviders:\n  - name: a\n    envoyExtAuthzHttp: { service: a.b, port: 80, pathPrefix: check }",
      ['mesh.yaml:10:66 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzHttp.pathPrefix must begin with "/", not "check"']],
    ["bad timeout", "extensionProviders:\n  - name: a\n    envoyExtAuthzHttp: { service: a.b, port: 80, timeout: 1 second }",
      ['mesh.yaml:10:63 ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzHttp.timeout must be a duration such as "10s", "1m30s" or "250ms", not "1 second"']],
    ["deprecated includeHeadersInCheck", "extensionProviders:\n  - name: a\n    envoyExtAuthzHttp: { service: a.b, port: 80, includeHeadersInCheck: [x-a] }",
      ["mesh.yaml:10:54 warning: ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyExtAuthzHttp.includeHeadersInCheck is deprecated; use includeRequestHeadersInCheck (this list is used while that one is unset)"]],
    ["unused provider kind", "extensionProviders:\n  - name: log\n    envoyFileAccessLog: { path: /dev/stdout }",
      ['mesh.yaml:10:9 warning: ConfigMap istio-system/istio: data.mesh.extensionProviders[0].envoyFileAccessLog is a provider kind Waystation does not use yet; provider "log" is accepted and ignored']],
    ["default provider not defined", "defaultProviders:\n  accessLogging: [envoy, missing]",
      ["mesh.yaml:9:30 warning: ConfigMap istio-system/istio: data.mesh.defaultProviders.accessLogging[1] names no extension provider (defined: envoy, prometheus, stackdriver)"]],
    ["trust domain alias", "trustDomain: cluster.local\ntrustDomainAliases: [ok.example.com, \"spiffe://x\"]",
      [`mesh.yaml:9:42 ConfigMap istio-system/istio: data.mesh.trustDomainAliases[1] must be a SPIFFE trust domain (lower-case letters, digits, '.', '-' and '_'), not "spiffe://x"`]],
    ["root namespace", "rootNamespace: Istio-System",
      ['mesh.yaml:8:20 ConfigMap istio-system/istio: data.mesh.rootNamespace must be a DNS-1123 label (lower case letters, digits and \'-\', at most 63 characters), not "Istio-System"']],
    ["zero connect timeout", "connectTimeout: 0s",
      ["mesh.yaml:8:21 ConfigMap istio-system/istio: data.mesh.connectTimeout must be at least 1ms"]],
    ["outbound traffic policy mode", "outboundTrafficPolicy:\n  mode: VIRTUAL_SERVICE_ONLY",
      ['mesh.yaml:9:13 ConfigMap istio-system/istio: data.mesh.outboundTrafficPolicy.mode must be one of "REGISTRY_ONLY", "ALLOW_ANY", not "VIRTUAL_SERVICE_ONLY"']],
    ["unknown top-level keys warn and are ignored", "trustDomain: cluster.local\ntrust_domain: x\nmyOwnSetting: { a: 1 }",
      [
        'mesh.yaml:9:5 warning: ConfigMap istio-system/istio: data.mesh.trust_domain is not a MeshConfig field Waystation knows (did you mean "trustDomain"?); it is ignored',
        "mesh.yaml:10:5 warning: ConfigMap istio-system/istio: data.mesh.myOwnSetting is not a MeshConfig field Waystation knows; it is ignored",
      ]],
    ["YAML syntax error inside mesh", "trustDomain: cluster.local\nextensionProviders: [\n",
      [/^mesh\.yaml:9:26 ConfigMap istio-system\/istio: data\.mesh is not valid YAML: /.source]],
    ["mesh is not a mapping", "- trustDomain: cluster.local",
      ["mesh.yaml:8:5 ConfigMap istio-system/istio: data.mesh must be a YAML mapping of MeshConfig fields (trustDomain, extensionProviders ...)"]],
  ];
  for (const [name, mesh, want] of cases) {
    it(`reports ${name} at its line in the file`, () => {
      const got = problems(cm(mesh));
      if (want.length === 1 && want[0]!.startsWith("^")) {
        assert.equal(got.length, 1, got.join("\n"));
        assert.match(got[0]!, new RegExp(want[0]!));
      } else {
        assert.deepEqual(got, want);
      }
    });
  }

  it("rejects the ConfigMap on an error, keeps it on warnings only", () => {
    assert.equal(load(cm("connectTimeout: 0s")).resources.length, 0);
    assert.equal(load(cm("connectTimeout: 0s")).invalidCount, 1);
    assert.equal(load(cm("unknownThing: 1")).resources.length, 1);
  });

  it("maps positions through an explicit indentation indicator and a leading blank line", () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |2

      trustDomain: cluster.local
      connectTimeout: 0s
`;
    assert.deepEqual(problems(text), ["mesh.yaml:8:23 ConfigMap istio-system/istio: data.mesh.connectTimeout must be at least 1ms"]);
  });

  it("points at data.mesh itself when the mesh is a folded or quoted string (lines are not kept)", () => {
    const head = "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: istio, namespace: istio-system }\ndata:\n";
    assert.deepEqual(problems(`${head}  mesh: "connectTimeout: 0s"\n`), ["mesh.yaml:5:9 ConfigMap istio-system/istio: data.mesh.connectTimeout must be at least 1ms"]);
    assert.deepEqual(problems(`${head}  mesh: >\n    connectTimeout: 0s\n`), ["mesh.yaml:5:9 ConfigMap istio-system/istio: data.mesh.connectTimeout must be at least 1ms"]);
  });

  it("maps positions inside a kind: List", () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: { name: istio, namespace: istio-system }
    data:
      mesh: |
        rootNamespace: istio-system
        connectTimeout: 0s
`;
    assert.deepEqual(problems(text), ["mesh.yaml:10:25 ConfigMap istio-system/istio: data.mesh.connectTimeout must be at least 1ms"]);
  });
});

describe("parseMeshConfig", () => {
  it("treats an empty document as all defaults", () => {
    assert.deepEqual(parseMeshConfig(""), { config: {}, issues: [] });
  });

  it("keeps fields it ignores, returns no config on an error, and positions issues inside the string", () => {
    assert.deepEqual(parseMeshConfig("enableTracing: true\n").config, { enableTracing: true });
    const bad = parseMeshConfig("trustDomain: x\nconnectTimeout: 0s\n");
    assert.equal(bad.config, undefined);
    assert.deepEqual(bad.issues.map((i) => [i.path.join("."), i.line, i.column]), [["connectTimeout", 2, 17]]);
  });

  it("rejects several documents", () => {
    assert.deepEqual(parseMeshConfig("a: 1\n---\nb: 2\n").issues.map((i) => [i.message, i.line]), [["must hold one YAML document, not several", 3]]);
  });
});
