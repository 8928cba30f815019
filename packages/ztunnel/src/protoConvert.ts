// Decoding the xDS resources (istio.workload.Address, istio.security.Authorization) into the state's
// records, one resource at a time: a bad resource becomes a reason string (the NACK names it as
// `type/name: reason`, STYLE.md §8) and never an exception, so the good ones of the same response apply.
import {
  type Address, type GatewayAddress as PbGatewayAddress, LoadBalancing_HealthPolicy, LoadBalancing_Mode,
  TunnelProtocol, WorkloadStatus, WorkloadType, type Service as PbService, type Workload as PbWorkload,
} from "@waystation/proto/istio/workload/workload_pb.js";
import {
  Action, Scope, type Authorization, type Match as PbMatch, type StringMatch as PbStringMatch,
} from "@waystation/proto/istio/security/authorization_pb.js";
import { bytesToIp, cidrFromBytes, type Cidr } from "./ip.js";
import {
  DEFAULT_TRUST_DOMAIN, HBONE_PORT, type GatewayAddress, type Match, type PortMapping, type Policy,
  type Service, type StringMatch, type Workload,
} from "./types.js";

/** A decoded resource, or why it was rejected. */
export type Decoded<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

class Invalid extends Error {}
const fail = (reason: string): never => { throw new Invalid(reason); };
function decode<T>(fn: () => T): Decoded<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, reason: e.message };
    throw e;
  }
}

/** An Address resource: a workload or a service. */
export function addressFromProto(a: Address): Decoded<{ kind: "workload"; workload: Workload } | { kind: "service"; service: Service }> {
  switch (a.type.case) {
    case "workload": { const w = a.type.value; return decode(() => ({ kind: "workload" as const, workload: workloadFromProto(w) })); }
    case "service": { const s = a.type.value; return decode(() => ({ kind: "service" as const, service: serviceFromProto(s) })); }
    default: return { ok: false, reason: "Address holds neither a workload nor a service" };
  }
}

/** An Authorization resource. */
export function policyFromProto(p: Authorization): Decoded<Policy> {
  return decode(() => {
    if (p.name === "") fail("name is empty");
    const scope = ({ [Scope.GLOBAL]: "Global", [Scope.NAMESPACE]: "Namespace", [Scope.WORKLOAD_SELECTOR]: "WorkloadSelector" } as const)[p.scope];
    if (!scope) fail(`scope ${p.scope} is not GLOBAL, NAMESPACE or WORKLOAD_SELECTOR`);
    // An action we do not know is refused rather than guessed: reading it as ALLOW could open traffic.
    const action = ({ [Action.ALLOW]: "Allow", [Action.DENY]: "Deny" } as const)[p.action];
    if (!action) fail(`action ${p.action} is not ALLOW or DENY`);
    return {
      name: p.name, namespace: p.namespace, scope: scope!, action: action!,
      rules: p.rules.map((r, i) => ({
        clauses: r.clauses.map((c, j) => ({ matches: c.matches.map((m, k) => matchFromProto(m, `rules[${i}].clauses[${j}].matches[${k}]`)) })),
      })),
    };
  });
}

function workloadFromProto(w: PbWorkload): Workload {
  if (w.uid === "") fail("uid is empty");
  const addresses = w.addresses.map((b, i) => bytesToIp(b) ?? fail(`addresses[${i}]: ${b.length} bytes, expected 4 or 16`));
  const services: Record<string, PortMapping[]> = {};
  for (const key of Object.keys(w.services).sort()) {
    services[key] = (w.services[key]?.ports ?? []).map((p, i) => portMapping(p.servicePort, p.targetPort, `services["${key}"].ports[${i}]`));
  }
  return {
    uid: w.uid, name: w.name, namespace: w.namespace, addresses, hostname: w.hostname, network: w.network,
    tunnelProtocol: w.tunnelProtocol === TunnelProtocol.HBONE || w.nativeTunnel ? "HBONE" : "NONE",
    trustDomain: w.trustDomain || DEFAULT_TRUST_DOMAIN,
    serviceAccount: w.serviceAccount || "default",
    waypoint: w.waypoint ? gateway(w.waypoint, "waypoint") : undefined,
    node: w.node, canonicalName: w.canonicalName, canonicalRevision: w.canonicalRevision, workloadName: w.workloadName,
    workloadType: ({ [WorkloadType.DEPLOYMENT]: "deployment", [WorkloadType.CRONJOB]: "cronjob", [WorkloadType.POD]: "pod", [WorkloadType.JOB]: "job" } as Record<number, string>)[w.workloadType] ?? "pod",
    nativeTunnel: w.nativeTunnel, services, authorizationPolicies: [...w.authorizationPolicies],
    status: w.status === WorkloadStatus.UNHEALTHY ? "Unhealthy" : "Healthy", clusterId: w.clusterId,
  };
}

function serviceFromProto(s: PbService): Service {
  if (s.hostname === "") fail("hostname is empty");
  const vips = s.addresses.map((a, i) => bytesToIp(a.address) ?? fail(`addresses[${i}]: ${a.address.length} bytes, expected 4 or 16`));
  const lb = s.loadBalancing;
  return {
    name: s.name, namespace: s.namespace, hostname: s.hostname, vips,
    ports: s.ports.map((p, i) => portMapping(p.servicePort, p.targetPort, `ports[${i}]`)),
    subjectAltNames: [...s.subjectAltNames],
    waypoint: s.waypoint ? gateway(s.waypoint, "waypoint") : undefined,
    healthPolicy: lb?.healthPolicy === LoadBalancing_HealthPolicy.ALLOW_ALL ? "AllowAll" : "OnlyHealthy",
    mode: ({ [LoadBalancing_Mode.STRICT]: "Strict", [LoadBalancing_Mode.FAILOVER]: "Failover", [LoadBalancing_Mode.PASSTHROUGH]: "Passthrough" } as Record<number, Service["mode"]>)[lb?.mode ?? 0] ?? "Unspecified",
  };
}

function portMapping(servicePort: number, targetPort: number, path: string): PortMapping {
  if (servicePort < 1 || servicePort > 65535) fail(`${path}.service_port ${servicePort} is not 1-65535`);
  if (targetPort > 65535) fail(`${path}.target_port ${targetPort} is above 65535`);
  return { servicePort, targetPort };
}

function gateway(g: PbGatewayAddress, path: string): GatewayAddress {
  // Istio leaves hbone_mtls_port at 0 in older control planes; ztunnel then uses 15008.
  const hbonePort = g.hboneMtlsPort || HBONE_PORT;
  if (hbonePort > 65535) fail(`${path}.hbone_mtls_port ${hbonePort} is above 65535`);
  switch (g.destination.case) {
    case "hostname":
      if (g.destination.value.hostname === "") fail(`${path}.hostname.hostname is empty`);
      return { kind: "hostname", namespace: g.destination.value.namespace, hostname: g.destination.value.hostname, hbonePort };
    case "address": {
      const ip = bytesToIp(g.destination.value.address) ?? fail(`${path}.address.address: ${g.destination.value.address.length} bytes, expected 4 or 16`);
      return { kind: "address", network: g.destination.value.network, ip: ip!, hbonePort };
    }
    default: return fail(`${path} has neither hostname nor address`);
  }
}

function matchFromProto(m: PbMatch, path: string): Match {
  const strings = (l: PbStringMatch[], f: string): StringMatch[] => l.map((s, i) => stringMatch(s, `${path}.${f}[${i}]`));
  // A CIDR that does not decode rejects the whole policy: dropping it would widen a DENY (fail open)
  // where ztunnel silently filters it out (src/rbac.rs). The previous version of the policy stays.
  const cidrs = (l: { address: Uint8Array; length: number }[], f: string): Cidr[] =>
    l.map((a, i) => cidrFromBytes(a.address, a.length) ?? fail(`${path}.${f}[${i}]: not a CIDR (${a.address.length} bytes, length ${a.length})`));
  const ports = (l: number[], f: string): number[] => l.map((p, i) => (p >= 1 && p <= 65535 ? p : fail(`${path}.${f}[${i}]: port ${p} is not 1-65535`)));
  return {
    namespaces: strings(m.namespaces, "namespaces"), notNamespaces: strings(m.notNamespaces, "not_namespaces"),
    serviceAccounts: m.serviceAccounts.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount })),
    notServiceAccounts: m.notServiceAccounts.map((s) => ({ namespace: s.namespace, serviceAccount: s.serviceAccount })),
    principals: strings(m.principals, "principals"), notPrincipals: strings(m.notPrincipals, "not_principals"),
    sourceIps: cidrs(m.sourceIps, "source_ips"), notSourceIps: cidrs(m.notSourceIps, "not_source_ips"),
    destinationIps: cidrs(m.destinationIps, "destination_ips"), notDestinationIps: cidrs(m.notDestinationIps, "not_destination_ips"),
    destinationPorts: ports(m.destinationPorts, "destination_ports"), notDestinationPorts: ports(m.notDestinationPorts, "not_destination_ports"),
  };
}

function stringMatch(s: PbStringMatch, path: string): StringMatch {
  switch (s.matchType.case) {
    case "exact": return { exact: s.matchType.value };
    case "prefix": return { prefix: s.matchType.value };
    case "suffix": return { suffix: s.matchType.value };
    case "presence": return { presence: true };
    default: return fail(`${path}: no match type (exact, prefix, suffix or presence)`);
  }
}
