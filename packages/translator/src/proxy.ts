/**
 * Who is asking: the proxy role and identity, from the xDS node. Node ids follow Istio:
 * <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local, with type waypoint, sidecar, router
 * or ztunnel. A proxyless gRPC client is recognised by node metadata GENERATOR=grpc, by its user
 * agent (gRPC Node Pure JS, grpc-go ...) or its client features.
 */
export type ProxyRole = "waypoint" | "sidecar" | "router" | "ztunnel" | "grpc";

export interface ProxyIdentity {
  role: ProxyRole;
  id: string;
  ip: string;
  podName: string;
  namespace: string;
}

export interface NodeInfo {
  id: string;
  userAgentName?: string;
  clientFeatures?: readonly string[];
  /** Node metadata as plain JSON. */
  metadata?: Record<string, unknown>;
}

const grpcAgents = ["gRPC Node Pure JS", "grpc-go", "grpc-java", "grpc-c++", "grpc-python", "C-core"];

/** Parses a node; returns an error message instead when the id is not in Istio's form. */
export function identifyProxy(node: NodeInfo): ProxyIdentity | { error: string } {
  const parts = node.id.split("~");
  const grpc = node.metadata?.GENERATOR === "grpc"
    || grpcAgents.some((a) => node.userAgentName?.startsWith(a))
    || (node.clientFeatures ?? []).includes("envoy.lb.does_not_support_overprovisioning");
  if (parts.length !== 4) {
    return grpc ? { role: "grpc", id: node.id, ip: "", podName: "", namespace: String(node.metadata?.NAMESPACE ?? "default") }
      : { error: `node id ${JSON.stringify(node.id)} is not <type>~<ip>~<pod>.<namespace>~<namespace>.svc.cluster.local` };
  }
  const [type, ip, podNs] = parts as [string, string, string, string];
  const dot = podNs.lastIndexOf(".");
  const podName = dot < 0 ? podNs : podNs.slice(0, dot);
  const namespace = dot < 0 ? "default" : podNs.slice(dot + 1);
  if (grpc) return { role: "grpc", id: node.id, ip, podName, namespace };
  if (type !== "waypoint" && type !== "sidecar" && type !== "router" && type !== "ztunnel") {
    return { error: `node type ${JSON.stringify(type)} is not one of waypoint, sidecar, router, ztunnel` };
  }
  return { role: type, id: node.id, ip, podName, namespace };
}
