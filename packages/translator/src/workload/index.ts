/**
 * The workload API for ztunnel: the mesh model -> `istio.workload.Address` and
 * `istio.security.Authorization` resources, as istiod serves them over Delta ADS (wildcard) to
 * every ztunnel (istio-ambient.md §3). Every ztunnel gets the same snapshot; each one finds its
 * local workloads by Workload.node (its NODE_NAME) and everything else it needs by address.
 *
 * Pure and deterministic: sorted by resource name, map keys inserted sorted.
 */
import { create } from "@bufbuild/protobuf";
import type { Condition, MeshModel, Waypoint } from "@waystation/model";
import { AuthorizationSchema, type Authorization } from "@waystation/proto/istio/security/authorization_pb.js";
import type { Address } from "@waystation/proto/istio/workload/workload_pb.js";
import { peerAuthenticationConditions, ztunnelPeerAuthorization, type AuthorizationInit } from "../authn/peer.js";
import { addressName, translateAddresses } from "./addresses.js";
import { convertAuthorizationPolicies, selectingPolicies } from "./authorization.js";
import { cmp, Conditions } from "./common.js";

export { addressName } from "./addresses.js";
export { ztunnelConditionType } from "./common.js";

/** What ztunnels are served, and the conditions for the resources read. */
export interface WorkloadApi {
  /** Sorted by resource name (workload uid, `<namespace>/<hostname>`). */
  addresses: Address[];
  /** Sorted by `<namespace>/<name>`. */
  authorizations: Authorization[];
  conditions: Condition[];
}

/** The resource name of an Authorization: `<namespace>/<name>`. */
export const authorizationName = (a: Authorization) => `${a.namespace}/${a.name}`;

/** Translates the model for ztunnel. */
export function translateWorkloadApi(model: MeshModel): WorkloadApi {
  const conditions = new Conditions();
  const policies = convertAuthorizationPolicies(model, conditions);
  const root = model.options.rootNamespace;
  // PeerAuthentication STRICT -> Istio's synthetic DENY policies (../authn/peer.ts), which the
  // workloads they cover reference by name; the same name always carries the same content.
  const peer = new Map<string, AuthorizationInit>();
  // peer.ts reads PeerAuthentications from model.resources on every call; hand it only those, so
  // a mesh of thousands of workloads does not rescan every resource per workload.
  const paModel: MeshModel = { ...model, resources: model.resources.filter((r) => r.key.group === "security.istio.io" && r.key.kind === "PeerAuthentication") };
  const addresses = translateAddresses(model, (src) => {
    const names = selectingPolicies(policies, root, src.workload.namespace, src.workload.labels);
    const pa = ztunnelPeerAuthorization(paModel, src.workload);
    pa.policies.forEach((p) => peer.set(`${p.namespace}/${p.name}`, p));
    return [...new Set([...names, ...pa.references])].sort(cmp);
  }, conditions);
  const authorizations = [
    ...policies.map((p) => p.authorization),
    ...[...peer.values()].map((p) => create(AuthorizationSchema, p)),
  ].sort((a, b) => cmp(authorizationName(a), authorizationName(b)));
  unresolvableWaypoints(model, conditions);
  return { addresses, authorizations, conditions: [...conditions.list(), ...peerAuthenticationConditions(model)] };
}

/**
 * ztunnel finds a waypoint through the Service Address named by its GatewayAddress hostname and
 * that Service's endpoints (the waypoint's pods). A bound waypoint without its Service cannot be
 * reached, and ztunnel fails closed for everything bound to it: say so on the Gateway.
 */
function unresolvableWaypoints(model: MeshModel, conditions: Conditions): void {
  const used = new Map<string, Waypoint>();
  for (const b of [...model.services.map((s) => s.waypoint), ...model.workloads.map((w) => w.waypoint)]) {
    if (b.state === "bound") used.set(`${b.waypoint.namespace}/${b.waypoint.name}`, b.waypoint);
  }
  for (const w of used.values()) {
    if (model.services.some((s) => s.namespace === w.namespace && s.hostname === w.hostname)) continue;
    conditions.add(w.key, "False", "NoWaypointService", `services or workloads use this waypoint, but there is no Service ${w.namespace}/${w.name} `
      + `(host ${w.hostname}) with the waypoint's pods behind it, so ztunnel cannot resolve the waypoint and refuses their traffic`);
  }
}

/**
 * Our own invariants for the workload API (the strict validator covers Envoy types only):
 * resource names present and unique per type, address bytes 4 or 16 long, a workload addressed
 * by IP or by host name, waypoint and service references well formed. Empty when fine.
 */
export function checkWorkloadApi(api: Pick<WorkloadApi, "addresses" | "authorizations">): string[] {
  const errors: string[] = [];
  const unique = (type: string, names: string[]) => {
    const seen = new Set<string>();
    for (const n of names) {
      if (n === "") errors.push(`${type} resource without a name`);
      else if (seen.has(n)) errors.push(`${type} ${n}: duplicate resource name`);
      seen.add(n);
    }
  };
  unique("Address", api.addresses.map(addressName));
  unique("Authorization", api.authorizations.map(authorizationName));
  const badIp = (b: Uint8Array) => b.length !== 4 && b.length !== 16;
  for (const a of api.addresses) {
    const at = `Address ${addressName(a)}`;
    if (a.type.case === "workload") {
      const w = a.type.value;
      if (w.addresses.some(badIp)) errors.push(`${at}: addresses must be 4 or 16 bytes long`);
      if (w.addresses.length === 0 && w.hostname === "") errors.push(`${at}: a workload needs an address or a host name`);
      if (w.waypoint && w.waypoint.destination.case === undefined) errors.push(`${at}: waypoint without a destination`);
      for (const key of Object.keys(w.services)) if (!/^[^/]+\/[^/]+$/.test(key)) errors.push(`${at}: services key ${key} is not <namespace>/<hostname>`);
    } else if (a.type.case === "service") {
      const s = a.type.value;
      if (s.addresses.some((n) => badIp(n.address))) errors.push(`${at}: addresses must be 4 or 16 bytes long`);
      if (s.waypoint && s.waypoint.destination.case === undefined) errors.push(`${at}: waypoint without a destination`);
    } else {
      errors.push(`${at}: neither a workload nor a service`);
    }
  }
  for (const z of api.authorizations) {
    for (const r of z.rules) for (const c of r.clauses) for (const m of c.matches) {
      for (const ip of [...m.sourceIps, ...m.notSourceIps, ...m.destinationIps, ...m.notDestinationIps]) {
        if (badIp(ip.address) || ip.length > ip.address.length * 8) errors.push(`Authorization ${authorizationName(z)}: CIDR with ${ip.address.length} bytes and prefix /${ip.length}`);
      }
    }
  }
  return errors;
}
