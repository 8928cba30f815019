/** Builders of LoadedResource values for model and translator tests (no YAML, no validation). */
import type { KubeObject, LoadedResource } from "@waystation/api";

const groups: Record<string, string> = {
  Namespace: "", Service: "", Pod: "", ServiceAccount: "",
  Gateway: "gateway.networking.k8s.io", HTTPRoute: "gateway.networking.k8s.io", GRPCRoute: "gateway.networking.k8s.io",
  VirtualService: "networking.istio.io", DestinationRule: "networking.istio.io", ServiceEntry: "networking.istio.io", WorkloadEntry: "networking.istio.io",
  AuthorizationPolicy: "security.istio.io", RequestAuthentication: "security.istio.io", PeerAuthentication: "security.istio.io",
  Telemetry: "telemetry.istio.io", RateLimitPolicy: "waystation.io",
};

/** A resource as the loader would produce it. `ns` is "" for cluster-scoped kinds. */
export function resource(kind: string, ns: string, name: string, spec: unknown = {}, extra: { labels?: Record<string, string>; annotations?: Record<string, string>; status?: unknown } = {}): LoadedResource {
  const group = groups[kind] ?? "";
  const object: KubeObject = {
    apiVersion: group ? `${group}/v1` : "v1",
    kind,
    metadata: { name, ...(ns ? { namespace: ns } : {}), ...(extra.labels ? { labels: extra.labels } : {}), ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec,
    ...(extra.status ? { status: extra.status } : {}),
  };
  return { key: { group, kind, namespace: ns, name }, object, origin: { file: "test.yaml", line: 1, column: 1 }, def: { group, kind, versions: ["v1"], namespaced: ns !== "" } };
}

export const waypointGateway = (ns: string, name: string, labels: Record<string, string> = {}, allowedRoutes?: unknown) =>
  resource("Gateway", ns, name, {
    gatewayClassName: "istio-waypoint",
    listeners: [{ name: "mesh", port: 15008, protocol: "HBONE", ...(allowedRoutes ? { allowedRoutes } : {}) }],
  }, { labels });

export const namespace = (name: string, labels: Record<string, string> = {}) => resource("Namespace", "", name, {}, { labels });

export const service = (ns: string, name: string, labels: Record<string, string> = {}, port = 9080, clusterIP = "10.96.0.1") =>
  resource("Service", ns, name, { selector: { app: name }, clusterIP, ports: [{ name: "http", port }] }, { labels });

export const pod = (ns: string, name: string, app: string, ip: string, labels: Record<string, string> = {}, sa = "default") =>
  resource("Pod", ns, name, { serviceAccountName: sa, nodeName: "node-a", containers: [{ name: app }] }, { labels: { app, ...labels }, status: { phase: "Running", podIP: ip } });
