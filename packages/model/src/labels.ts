/** The Istio labels and annotations the model reads (shared/reference/istio-ambient.md §5.2). */
export const labels = {
  dataplaneMode: "istio.io/dataplane-mode",
  useWaypoint: "istio.io/use-waypoint",
  useWaypointNamespace: "istio.io/use-waypoint-namespace",
  waypointFor: "istio.io/waypoint-for",
  ingressUseWaypoint: "istio.io/ingress-use-waypoint",
  gatewayName: "gateway.networking.k8s.io/gateway-name",
  tunnel: "networking.istio.io/tunnel",
  network: "topology.istio.io/network",
  canonicalName: "service.istio.io/canonical-name",
  canonicalRevision: "service.istio.io/canonical-revision",
} as const;

export const annotations = {
  redirection: "ambient.istio.io/redirection",
} as const;

/** The GatewayClass of waypoints. */
export const waypointClass = "istio-waypoint";
/** The HBONE port every waypoint and ztunnel listens on. */
export const hbonePort = 15008;
