/** The mesh model: what the translators and the workload API are built from. */
import type { KubeObject, LoadedResource, ResourceKey } from "@waystation/api";
import type { MeshConfigInfo } from "./meshConfig.js";
import type { MeshOptions } from "./options.js";

export type { ExtAuthzExtensionProvider, MeshConfigInfo, OtherExtensionProvider } from "./meshConfig.js";

/** Application protocol of a service port, as Istio selects it (appProtocol, then the name prefix). */
export type PortProtocol = "HTTP" | "HTTP2" | "GRPC" | "HTTPS" | "TLS" | "TCP" | "UDP" | "UNKNOWN";

export interface ServicePort {
  name: string;
  port: number;
  /** A number, or a container port name resolved per workload. */
  targetPort: number | string;
  protocol: PortProtocol;
}

/** A waypoint: a Gateway of class istio-waypoint. */
export interface Waypoint {
  key: ResourceKey;
  namespace: string;
  name: string;
  /** Which traffic it takes: istio.io/waypoint-for on the Gateway (default service). */
  trafficType: "service" | "workload" | "all" | "none";
  /** Namespaces allowed to bind through istio.io/use-waypoint (allowedRoutes of the HBONE listener). */
  allowed: { from: "Same" | "All" | "Selector"; matchLabels?: Record<string, string> };
  /** The waypoint's own service host name; ztunnel reaches it there on 15008. */
  hostname: string;
  /** Waypoint pods run as a service account named after the Gateway, as istiod deploys them. */
  serviceAccount: string;
  identity: string;
  /** Addresses from Gateway status, when known. */
  addresses: string[];
  object: KubeObject;
}

/** Why a service or workload does (or does not) use a waypoint. `explain` prints these. */
export type WaypointBinding =
  | { state: "bound"; waypoint: Waypoint; via: BindingSource }
  | { state: "none"; reason: string }
  | { state: "opted-out"; via: BindingSource }
  | { state: "error"; via: BindingSource; reason: string };

/** Where the istio.io/use-waypoint label that decided a binding was found. */
export interface BindingSource {
  /** "Service bookinfo/reviews", "Namespace bookinfo", ... */
  object: string;
  label: string;
  value: string;
}

/** A Kubernetes Service or one host of a ServiceEntry. */
export interface MeshService {
  key: ResourceKey;
  kind: "Service" | "ServiceEntry";
  namespace: string;
  name: string;
  /** Fully qualified: reviews.bookinfo.svc.cluster.local, or the ServiceEntry host. */
  hostname: string;
  vips: string[];
  /** The VIP was allocated by Waystation (ServiceEntry without addresses), as Istio auto-allocates. */
  autoAllocated?: boolean;
  ports: ServicePort[];
  /** Workloads behind it: label selector (Service selector or ServiceEntry workloadSelector). */
  selector?: Record<string, string>;
  labels: Record<string, string>;
  /** ServiceEntry location MESH_EXTERNAL. */
  external: boolean;
  /** ServiceEntry resolution; CLUSTER_IP for a Kubernetes Service. */
  resolution: "CLUSTER_IP" | "STATIC" | "DNS" | "DNS_ROUND_ROBIN" | "NONE" | "DYNAMIC_DNS";
  /** Endpoints written inline in a ServiceEntry. */
  inlineEndpoints: { address: string; ports?: Record<string, number>; labels?: Record<string, string>; network?: string; weight?: number }[];
  waypoint: WaypointBinding;
  /** istio.io/ingress-use-waypoint on the Service, else on its namespace. */
  ingressUseWaypoint: boolean;
}

/** A Pod or a WorkloadEntry. */
export interface MeshWorkload {
  key: ResourceKey;
  kind: "Pod" | "WorkloadEntry";
  uid: string;
  namespace: string;
  name: string;
  ips: string[];
  /** For DNS-addressed WorkloadEntries. */
  hostname?: string;
  serviceAccount: string;
  identity: string;
  node: string;
  labels: Record<string, string>;
  /** Container ports by name, to resolve named target ports. */
  namedPorts: Record<string, number>;
  /** HBONE when the workload is captured by ztunnel (ambient) or speaks HBONE natively. */
  tunnel: "HBONE" | "NONE";
  /** Sidecar-injected workloads that accept HBONE themselves (networking.istio.io/tunnel: http). */
  nativeTunnel: boolean;
  healthy: boolean;
  /** Set when this pod is an instance of a waypoint. */
  waypointOf?: ResourceKey;
  waypoint: WaypointBinding;
  /** Hostnames of the services that select it. */
  services: string[];
}

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
  ambient: boolean;
}

/** A status condition on a resource, as Kubernetes and Gateway API write them. */
export interface Condition {
  resource: ResourceKey;
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/** A policy (AuthorizationPolicy, RequestAuthentication, Telemetry, RateLimitPolicy) resolved to what it attaches to. */
export interface Attachment {
  policy: LoadedResource;
  /** Attached at the waypoint as a whole (targetRef Gateway or GatewayClass). */
  waypoints: Waypoint[];
  /** Attached to these services (targetRef Service or ServiceEntry). */
  services: MeshService[];
  /** Selector-based or targetless: enforced by ztunnel, not by waypoints. */
  ztunnel: boolean;
}

export interface MeshModel {
  /** Effective mesh options: explicit options, else the mesh config's, else Istio's defaults. */
  options: MeshOptions;
  /** The mesh config (ConfigMap istio in the root namespace): extension providers, connect timeout ... */
  meshConfig: MeshConfigInfo;
  namespaces: ReadonlyMap<string, NamespaceInfo>;
  /** Sorted by hostname, then namespace. */
  services: MeshService[];
  /** Sorted by namespace, name. */
  workloads: MeshWorkload[];
  waypoints: Waypoint[];
  attachments: Attachment[];
  /** All loaded resources, by kind then key order. */
  resources: readonly LoadedResource[];
  conditions: Condition[];
}
