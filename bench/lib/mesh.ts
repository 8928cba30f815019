/**
 * A synthetic ambient mesh for the benchmarks, built in memory (no YAML): one namespace `mesh`
 * whose waypoint `waypoint` fronts N services. Each service has one HTTP port, three pods (two
 * v1, one v2), a VirtualService with five http rules (header and URI matches, weights across the
 * two subsets, retries, timeouts) and a DestinationRule with two subsets, LEAST_REQUEST, a
 * connection pool and outlier detection. Optionally, AuthorizationPolicies that target the
 * waypoint Gateway, each with ten rules.
 *
 * Every object goes through the real validator once (not timed), so the benchmarks translate
 * exactly what `loadManifests` would have produced.
 */
import { defaultValidator, type KubeObject, type LoadedResource } from "@waystation/api";

export const meshNamespace = "mesh";
export const waypointName = "waypoint";

export interface SyntheticMeshOptions {
  services: number;
  /** Index of the first service (default 0): slices of one big mesh are translated separately. */
  first?: number;
  /** AuthorizationPolicies targeting the waypoint (default 0). */
  authorizationPolicies?: number;
  /** Rules per AuthorizationPolicy (default 10). */
  rulesPerPolicy?: number;
}

export const serviceName = (i: number) => `svc-${String(i).padStart(5, "0")}`;

/** The FQDN of service i. */
export const serviceHost = (i: number) => `${serviceName(i)}.${meshNamespace}.svc.cluster.local`;

/** 10.96.x.y for service i (up to 65,536 services). */
const clusterIp = (i: number) => `10.96.${(i >> 8) & 255}.${i & 255}`;
/** 10.(1+j>>16).x.y for pod j. */
const podIp = (j: number) => `10.${1 + (j >> 16)}.${(j >> 8) & 255}.${j & 255}`;

function objects(opts: SyntheticMeshOptions): KubeObject[] {
  const ns = meshNamespace;
  const out: KubeObject[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": waypointName } } } as unknown as KubeObject,
    {
      apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway",
      metadata: { name: waypointName, namespace: ns, labels: { "istio.io/waypoint-for": "service" } },
      spec: { gatewayClassName: "istio-waypoint", listeners: [{ name: "mesh", port: 15008, protocol: "HBONE" }] },
    },
  ];
  const first = opts.first ?? 0;
  for (let i = first; i < first + opts.services; i++) out.push(...serviceObjects(i));
  for (let p = 0; p < (opts.authorizationPolicies ?? 0); p++) out.push(authorizationPolicy(p, opts.rulesPerPolicy ?? 10));
  return out;
}

function serviceObjects(i: number): KubeObject[] {
  const ns = meshNamespace;
  const name = serviceName(i);
  const out: KubeObject[] = [{
    apiVersion: "v1", kind: "Service",
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: { selector: { app: name }, clusterIP: clusterIp(i), ports: [{ name: "http", port: 8080, targetPort: 8080 }] },
  }];
  for (let k = 0; k < 3; k++) {
    const j = i * 3 + k;
    out.push({
      apiVersion: "v1", kind: "Pod",
      metadata: { name: `${name}-${k === 2 ? "v2" : "v1"}-${k}`, namespace: ns, labels: { app: name, version: k === 2 ? "v2" : "v1" }, annotations: { "ambient.istio.io/redirection": "enabled" } },
      spec: { serviceAccountName: name, nodeName: `node-${j % 50}`, containers: [{ name: "app", ports: [{ name: "http", containerPort: 8080 }] }] },
      status: { phase: "Running", podIP: podIp(j) },
    });
  }
  out.push(virtualService(i, 0), destinationRule(i));
  return out;
}

/**
 * The VirtualService of service i. `edit` changes the weights of the last rule (edit 0 is the
 * original), which is what the re-translation and push benchmarks use as "one edit".
 */
export function virtualService(i: number, edit: number): KubeObject {
  const host = serviceName(i);
  const v1 = { host, subset: "v1" };
  const v2 = { host, subset: "v2" };
  const w = 80 - (edit % 60);
  return {
    apiVersion: "networking.istio.io/v1", kind: "VirtualService",
    metadata: { name: host, namespace: meshNamespace },
    spec: {
      hosts: [host],
      http: [
        { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], route: [{ destination: v2 }], timeout: "3s" },
        { name: "canary", match: [{ uri: { prefix: "/api" }, headers: { "x-canary": { exact: "true" } } }],
          route: [{ destination: v1, weight: 90 }, { destination: v2, weight: 10 }],
          retries: { attempts: 2, perTryTimeout: "1s", retryOn: "5xx,reset" } },
        { name: "static", match: [{ uri: { prefix: "/static" } }], route: [{ destination: v1 }], timeout: "1s" },
        { name: "debug", match: [{ headers: { "x-debug": { regex: "^(1|true)$" } } }], route: [{ destination: v2 }],
          retries: { attempts: 0 } },
        { name: "default", route: [{ destination: v1, weight: w }, { destination: v2, weight: 100 - w }],
          timeout: "10s", retries: { attempts: 3, perTryTimeout: "2s", retryOn: "5xx,reset,connect-failure" } },
      ],
    },
  };
}

function destinationRule(i: number): KubeObject {
  const host = serviceName(i);
  return {
    apiVersion: "networking.istio.io/v1", kind: "DestinationRule",
    metadata: { name: host, namespace: meshNamespace },
    spec: {
      host,
      trafficPolicy: {
        loadBalancer: { simple: "LEAST_REQUEST" },
        connectionPool: { http: { http1MaxPendingRequests: 64, maxRequestsPerConnection: 16 } },
        outlierDetection: { consecutive5xxErrors: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
      },
      subsets: [
        { name: "v1", labels: { version: "v1" } },
        { name: "v2", labels: { version: "v2" }, trafficPolicy: { loadBalancer: { simple: "ROUND_ROBIN" } } },
      ],
    },
  };
}

/** AuthorizationPolicy p: `rules` rules mixing principals, namespaces, methods, paths, ports and a header condition. */
function authorizationPolicy(p: number, rules: number): KubeObject {
  const rule = (r: number) => ({
    from: [{ source: r % 2 === 0
      ? { principals: [`cluster.local/ns/${meshNamespace}/sa/${serviceName((p * rules + r) % 1000)}`, `cluster.local/ns/client-${r}/sa/default`] }
      : { namespaces: [`team-${p % 97}`, `team-${(p + r) % 97}`] } }],
    to: [{ operation: { methods: r % 3 === 0 ? ["GET", "HEAD"] : ["GET", "POST", "PUT"], paths: [`/api/v${r}/policy-${p}/*`, `/health-${r}`], ports: ["8080"] } }],
    ...(r % 4 === 0 ? { when: [{ key: "request.headers[x-tenant]", values: [`tenant-${p}`, `tenant-${p + 1}`] }] } : {}),
  });
  return {
    apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy",
    metadata: { name: `authz-${String(p).padStart(5, "0")}`, namespace: meshNamespace },
    spec: {
      targetRefs: [{ group: "gateway.networking.k8s.io", kind: "Gateway", name: waypointName }],
      action: p % 10 === 0 ? "DENY" : "ALLOW",
      rules: Array.from({ length: rules }, (_, r) => rule(r)),
    },
  };
}

/** Validates one object into the LoadedResource the loader would produce; throws on any error. */
export function load(object: KubeObject, line = 1): LoadedResource {
  const r = defaultValidator().validate(object);
  if (r.status !== "valid") {
    const issues = r.status === "invalid" ? r.issues.map((x) => `${x.path.join(".")}: ${x.message}`).join("; ") : r.reason;
    throw new Error(`synthetic ${object.kind} ${object.metadata.name} is not valid: ${issues}`);
  }
  return { key: r.key, object: r.object, origin: { file: "synthetic.yaml", line, column: 1 }, def: r.def };
}

/** The whole mesh as validated resources. */
export function syntheticMesh(opts: SyntheticMeshOptions): LoadedResource[] {
  return objects(opts).map((o, i) => load(o, i + 1));
}

/** A copy of `resources` in which the VirtualService of service i is replaced by its `edit`-th version. */
export function withVirtualServiceEdit(resources: readonly LoadedResource[], i: number, edit: number): LoadedResource[] {
  const next = load(virtualService(i, edit));
  const at = resources.findIndex((r) => r.key.kind === "VirtualService" && r.key.name === next.key.name && r.key.namespace === next.key.namespace);
  if (at < 0) throw new Error(`no VirtualService ${next.key.name}`);
  const out = [...resources];
  out[at] = next;
  return out;
}
