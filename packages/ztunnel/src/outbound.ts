// The outbound decision, pure: where a connection from a local workload to `host:port` goes, over
// what, and whom the peer must prove to be. Socket code (outboundProxy.ts) only executes the plan.
// The algorithm is ztunnel's (istio-ambient.md §4.4; ztunnel src/proxy/outbound.rs build_request).
import { formatHostPort, isIp, type HostPort } from "./ip.js";
import type { MeshState } from "./state.js";
import { serviceKey, workloadIdentity, type GatewayAddress, type Service, type Workload } from "./types.js";

/** What the connection is for: an IP (pod, VIP, outside) or a service hostname, and a port. */
export type OutboundTarget = HostPort;

/** Who is on the other end, for telemetry and the access log. */
export interface OutboundDestination {
  readonly workload?: Workload | undefined;
  readonly service?: Service | undefined;
}

/** The plan for one outbound connection. */
export type OutboundPlan =
  | {
    readonly kind: "hbone";
    /** Where the TCP+TLS connection goes: a pod's or a waypoint's HBONE listener. */
    readonly nextHop: HostPort;
    /** The CONNECT `:authority`: `podIP:targetPort`, or the original destination through a waypoint. */
    readonly authority: string;
    /** The peer certificate's URI SAN must be one of these. */
    readonly expectedIdentities: readonly string[];
    readonly viaWaypoint?: { readonly kind: "service" | "workload"; readonly address: GatewayAddress; readonly workload?: Workload | undefined } | undefined;
    readonly destination: OutboundDestination;
  }
  | { readonly kind: "passthrough"; readonly nextHop: HostPort; readonly reason: string; readonly destination: OutboundDestination }
  | { readonly kind: "deny"; readonly reason: string; readonly destination?: OutboundDestination };

/** Inputs of the decision that are not state. */
export interface OutboundOptions {
  /** The port peers' ztunnels listen for HBONE on (15008). */
  readonly hbonePort: number;
  /** Chooses one of `n` candidates (endpoints, waypoint pods); ztunnel picks at random. */
  readonly pick: (n: number) => number;
  /** This ztunnel's own ports: a loopback destination on one of them is a self-call (denied). */
  readonly ownPorts?: readonly number[];
}

const deny = (reason: string, destination?: OutboundDestination): OutboundPlan => ({ kind: "deny", reason, ...(destination ? { destination } : {}) });

/** Decides the outbound path of a connection from `source` to `target`. */
export function buildOutbound(state: MeshState, source: Workload | undefined, target: OutboundTarget, opts: OutboundOptions): OutboundPlan {
  if (!source) return deny("unknown source workload: no workload in the state has the client's address");
  const { host, port } = target;
  if (isIp(host) && isLoopback(host) && (opts.ownPorts ?? []).includes(port)) return deny(`self-call: ${formatHostPort(host, port)} is one of this ztunnel's own ports`);

  // 1. A service: by VIP, or by hostname (SOCKS5 and explicit listeners may name one).
  let service: Service | undefined;
  if (isIp(host)) service = state.serviceByVip(host);
  else {
    service = state.servicesByHostname(host, source.namespace)[0];
    if (!service) return deny(`unknown host ${host}: no service has that hostname`);
  }

  if (service) {
    const vip = isIp(host) ? host : service.vips[0];
    if (service.waypoint) {
      const wp = resolveGateway(state, service.waypoint, opts.pick);
      if (!wp.ok) return deny(`service ${serviceKey(service)}: waypoint unusable: ${wp.reason}`, { service });
      if (!isFrom(source, wp)) {
        if (!vip) return deny(`service ${serviceKey(service)} has a waypoint but no VIP to use as the CONNECT authority`, { service });
        // Through a service waypoint the authority is the original VIP:port (istio-ambient.md §1.2).
        return {
          kind: "hbone", nextHop: { host: wp.ip, port: wp.port }, authority: formatHostPort(vip, port), expectedIdentities: wp.identities,
          viaWaypoint: { kind: "service", address: service.waypoint, workload: wp.workload }, destination: { service },
        };
      }
    }
    const ep = pickEndpoint(state, service, port, opts.pick);
    if (!ep) {
      if (service.mode === "Passthrough") return { kind: "passthrough", nextHop: { host: vip ?? host, port }, reason: `service ${serviceKey(service)} is PASSTHROUGH`, destination: { service } };
      return deny(`no healthy endpoint of service ${serviceKey(service)} serves port ${port}`, { service });
    }
    return toEndpoint(state, source, ep.workload, ep.ip, ep.port, undefined, service, opts);
  }

  // 2. A pod IP, or something the mesh does not know.
  const workload = state.workloadByIp(host);
  if (!workload) return { kind: "passthrough", nextHop: { host, port }, reason: `${host} is not a known workload or service`, destination: {} };
  return toEndpoint(state, source, workload, host, port, port, undefined, opts);
}

/**
 * Steps 5-7: another network (unsupported here), a workload waypoint (pod-addressed traffic only),
 * then HBONE to the pod or plain TCP when it does not speak HBONE.
 */
function toEndpoint(state: MeshState, source: Workload, w: Workload, ip: string, port: number, originalPort: number | undefined,
  service: Service | undefined, opts: OutboundOptions): OutboundPlan {
  const destination = { workload: w, service };
  if (w.network !== source.network) return deny(`${w.uid} is on network "${w.network}", not "${source.network}": double-HBONE is not supported`, destination);
  if (!service && w.waypoint) {
    const wp = resolveGateway(state, w.waypoint, opts.pick);
    if (!wp.ok) return deny(`workload ${w.uid}: waypoint unusable: ${wp.reason}`, destination);
    if (!isFrom(source, wp)) {
      // Through a workload waypoint the authority is the original podIP:port, untranslated.
      return {
        kind: "hbone", nextHop: { host: wp.ip, port: wp.port }, authority: formatHostPort(ip, originalPort ?? port), expectedIdentities: wp.identities,
        viaWaypoint: { kind: "workload", address: w.waypoint, workload: wp.workload }, destination,
      };
    }
  }
  if (w.tunnelProtocol === "HBONE") {
    return { kind: "hbone", nextHop: { host: ip, port: opts.hbonePort }, authority: formatHostPort(ip, port), expectedIdentities: [workloadIdentity(w)], destination };
  }
  return { kind: "passthrough", nextHop: { host: ip, port }, reason: `${w.uid} does not speak HBONE`, destination };
}

/** A chosen endpoint: the workload, the IP used and the target port. */
interface Endpoint { readonly workload: Workload; readonly ip: string; readonly port: number }

/**
 * One endpoint of `service` for `servicePort`: healthy ones (all with ALLOW_ALL) that have an IP and
 * a target port (the workload's own mapping first: a named targetPort is 0 in the Service).
 */
export function pickEndpoint(state: MeshState, service: Service, servicePort: number, pick: (n: number) => number): Endpoint | undefined {
  const key = serviceKey(service);
  const svcPort = service.ports.find((p) => p.servicePort === servicePort);
  const candidates: Endpoint[] = [];
  for (const w of state.endpoints(key)) {
    if (w.status !== "Healthy" && service.healthPolicy !== "AllowAll") continue;
    const ip = w.addresses[0];
    if (ip === undefined) continue;
    const own = w.services[key]?.find((p) => p.servicePort === servicePort)?.targetPort;
    const targetPort = own || svcPort?.targetPort;
    if (!targetPort) continue;
    candidates.push({ workload: w, ip, port: targetPort });
  }
  if (candidates.length === 0) return undefined;
  const i = pick(candidates.length);
  return candidates[Math.min(Math.max(0, Math.floor(i)), candidates.length - 1)];
}

/** A resolved waypoint: the pod to dial and the identities it may present. */
type ResolvedGateway = { ok: true; ip: string; port: number; identities: string[]; workload?: Workload } | { ok: false; reason: string };

/** A GatewayAddress to one waypoint pod (hostname form preferred by istiod: a Service). */
export function resolveGateway(state: MeshState, g: GatewayAddress, pick: (n: number) => number): ResolvedGateway {
  if (g.kind === "address") {
    const w = state.workloadByIp(g.ip);
    if (w) return { ok: true, ip: g.ip, port: g.hbonePort, identities: [workloadIdentity(w)], workload: w };
    const s = state.serviceByVip(g.ip);
    if (!s) return { ok: false, reason: `${g.ip} is neither a known workload nor a service VIP` };
    return viaService(state, s, g.hbonePort, pick);
  }
  const s = state.service(`${g.namespace}/${g.hostname}`);
  if (!s) return { ok: false, reason: `service ${g.namespace}/${g.hostname} is unknown` };
  return viaService(state, s, g.hbonePort, pick);
}

function viaService(state: MeshState, s: Service, port: number, pick: (n: number) => number): ResolvedGateway {
  const pods = state.endpoints(serviceKey(s)).filter((w) => w.addresses.length > 0 && (w.status === "Healthy" || s.healthPolicy === "AllowAll"));
  if (pods.length === 0) return { ok: false, reason: `service ${serviceKey(s)} has no healthy endpoint` };
  const w = pods[Math.min(Math.max(0, Math.floor(pick(pods.length))), pods.length - 1)]!;
  return { ok: true, ip: w.addresses[0]!, port, identities: [...new Set([workloadIdentity(w), ...s.subjectAltNames])], workload: w };
}

/** Whether the source is the waypoint itself (ztunnel check_from_waypoint): it must not loop to itself. */
function isFrom(source: Workload, wp: Extract<ResolvedGateway, { ok: true }>): boolean {
  return source.addresses.includes(wp.ip) || (wp.workload !== undefined && workloadIdentity(source) === workloadIdentity(wp.workload));
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}
