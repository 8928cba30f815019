import { loadManifests, formatProblem, defaultValidator } from "./src/index.js";
const text = `apiVersion: v1
kind: ConfigMap
metadata:
  name: istio
  namespace: istio-system
data:
  meshNetworks: 'networks: {}'
  mesh: |-
    trustDomain: Cluster.local
    rootNamespace: istio-system
    enablePrometheusMerge: true
    trust_domain_aliases: [a]
    defaultProviders:
      metrics: [prometheus, nope]
    extensionProviders:
      - name: ext-authz
        envoyExtAuthzHttp:
          service: ext-authz.istio-system.svc.cluster.local
          port: "8000"
          statusOnError: "499"
      - name: otel
        opentelemetry: { service: otel.x, port: 4317 }
`;
const r = loadManifests([{ path: "m.yaml", text }], defaultValidator());
console.log(r.problems.map(formatProblem).join("\n"), r.invalidCount);
