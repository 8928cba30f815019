/** Istio's protocol selection for a service port: appProtocol first, then the port name prefix. */
import type { PortProtocol } from "./types.js";

const byName: Record<string, PortProtocol> = {
  http: "HTTP", http2: "HTTP2", grpc: "GRPC", "grpc-web": "HTTP", https: "HTTPS", tls: "TLS", tcp: "TCP", udp: "UDP",
  mongo: "TCP", redis: "TCP", mysql: "TCP",
  "kubernetes.io/h2c": "HTTP2", "kubernetes.io/ws": "HTTP", "kubernetes.io/wss": "HTTPS",
};

/** Selects the protocol of a Kubernetes Service port; UNKNOWN means Envoy must sniff it. */
export function kubePortProtocol(p: { name?: string; appProtocol?: string; protocol?: string }): PortProtocol {
  if (p.protocol === "UDP") return "UDP";
  if (p.appProtocol) return byName[p.appProtocol.toLowerCase()] ?? "UNKNOWN";
  if (p.name) {
    const prefix = p.name.toLowerCase().split("-")[0]!;
    const full = p.name.toLowerCase().startsWith("grpc-web") ? "grpc-web" : prefix;
    return byName[full] ?? "UNKNOWN";
  }
  return "UNKNOWN";
}

/** A ServiceEntry port's protocol field (HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS, UDP). */
export function serviceEntryPortProtocol(protocol: string | undefined): PortProtocol {
  switch ((protocol ?? "").toUpperCase()) {
    case "HTTP": return "HTTP";
    case "HTTP2": return "HTTP2";
    case "GRPC": return "GRPC";
    case "HTTPS": return "HTTPS";
    case "TLS": return "TLS";
    case "UDP": return "UDP";
    case "": return "UNKNOWN";
    default: return "TCP";
  }
}

/** Whether the waypoint terminates HTTP on this port (an HCM chain) rather than proxying TCP. */
export function isHttp(p: PortProtocol): boolean {
  return p === "HTTP" || p === "HTTP2" || p === "GRPC";
}
