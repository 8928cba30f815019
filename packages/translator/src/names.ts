/** Envoy resource names, derived from the source objects as Istio derives them. */
import type { MeshService, ServicePort } from "@waystation/model";
import { isHttp } from "@waystation/model";

/** "http" or "tcp": which kind of chain a waypoint builds for a service port. */
export function chainProtocol(p: ServicePort): "http" | "tcp" {
  return isHttp(p.protocol) ? "http" : "tcp";
}

/**
 * inbound-vip|<port>|<http|tcp>[/<subset>]|<hostname>: the waypoint's cluster (and filter chain,
 * and route configuration) for one service port, optionally one subset
 * (shared/reference/istio-ambient.md §6.1).
 */
export function inboundVipName(svc: MeshService, port: ServicePort, subset?: string): string {
  return `inbound-vip|${port.port}|${chainProtocol(port)}${subset ? `/${subset}` : ""}|${svc.hostname}`;
}

/** outbound|<port>|<subset>|<hostname>: a cluster for a destination the proxy does not front. */
export function outboundName(hostname: string, port: number, subset = ""): string {
  return `outbound|${port}|${subset}|${hostname}`;
}

export const waypointNames = {
  connectTerminate: "connect_terminate",
  mainInternal: "main_internal",
  connectOriginate: "connect_originate",
} as const;
