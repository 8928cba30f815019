/**
 * PeerAuthentication in ambient mode.
 *
 * Where it is enforced: by ztunnel, on the workloads' inbound side. A waypoint needs nothing
 * from it: its only listener is the HBONE server on 15008, which always demands mutual TLS
 * (istio-ambient.md §6.2), so STRICT is inherent there and PERMISSIVE cannot open a plaintext
 * path through it (plaintext from outside the mesh reaches a workload's ztunnel on 15006, never a
 * waypoint). DISABLE is rejected when loading (packages/api .../peerAuthentication.ts).
 *
 * This file gives:
 * - {@link peerAuthenticationFor}: the effective mode of one workload, per port, with Istio's
 *   precedence (pilot/pkg/security/authn/policy_applier.go `ComposePeerAuthentication`):
 *   workload (selector, not in the root namespace) > namespace (no selector) > mesh (root
 *   namespace, no selector) > PERMISSIVE; UNSET inherits from the next wider level, an UNSET
 *   port from the workload's mode; among several policies of one level the oldest wins
 *   (creationTimestamp, then namespace/name, a missing timestamp counting as oldest);
 * - {@link ztunnelPeerAuthorization}: the same decision as ztunnel's L4 authorization policies,
 *   as Istio converts it (pilot/pkg/serviceregistry/kube/controller/ambient/policies.go,
 *   authorization.go): the shared DENY `istio_converted_static_strict` (no peer identity ->
 *   deny) for a workload that is STRICT on every port, or a per-policy DENY
 *   `converted_peer_authentication_<name>` with the port exceptions. Plain data (init shapes of
 *   istio.security.Authorization) for the workload API translator;
 * - {@link peerAuthenticationConditions}: where each PeerAuthentication is enforced, and which
 *   ones have no effect.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { LoadedResource, PeerAuthenticationSpec, ResourceKey } from "@waystation/api";
import type { Condition, MeshModel, MeshWorkload } from "@waystation/model";
import { Action, Scope, type AuthorizationSchema, type RuleSchema } from "@waystation/proto/istio/security/authorization_pb.js";

/** The effective mutual TLS mode: DISABLE never reaches here (rejected at load). */
export type PeerMode = "STRICT" | "PERMISSIVE";

/** Which policy decided at each level (absent: none applies there). */
export interface PeerSources {
  mesh?: ResourceKey;
  namespace?: ResourceKey;
  workload?: ResourceKey;
}

/** The effective PeerAuthentication of one workload. */
export interface EffectivePeerAuthentication {
  /** For every port not in `portLevel`. */
  mode: PeerMode;
  /** Workload (target) ports with their own mode, from the workload-level policy. */
  portLevel: Record<number, PeerMode>;
  /** The policies that decided, per level. */
  from: PeerSources;
}

/** The condition type written on PeerAuthentications (as Istio's ambient status for ztunnel-bound policies). */
export const peerAuthnConditionType = "ZtunnelAccepted";

/** Names of the converted ztunnel policies (Istio's). */
export const peerPolicyNames = {
  staticStrict: "istio_converted_static_strict",
  convertedPrefix: "converted_peer_authentication_",
} as const;

const specOf = (p: LoadedResource) => (p.object.spec ?? {}) as PeerAuthenticationSpec;
const keyOf = (p: LoadedResource) => `${p.key.namespace}/${p.key.name}`;

/** The mode a `{ mode }` sets, or undefined for UNSET / absent (inherit). DISABLE cannot load; read as PERMISSIVE. */
function modeOf(m: { mode?: string } | undefined): PeerMode | undefined {
  switch (m?.mode) {
    case "STRICT": return "STRICT";
    case "PERMISSIVE":
    case "DISABLE": return "PERMISSIVE";
    default: return undefined;
  }
}

const hasSelector = (p: LoadedResource) => Object.keys(specOf(p).selector?.matchLabels ?? {}).length > 0;

/** Oldest first: creationTimestamp (missing counts as oldest), then namespace/name. */
function oldestFirst(a: LoadedResource, b: LoadedResource): number {
  const [ta, tb] = [a.object.metadata.creationTimestamp ?? "", b.object.metadata.creationTimestamp ?? ""];
  if (ta !== tb) return Date.parse(ta || "1970-01-01T00:00:00Z") - Date.parse(tb || "1970-01-01T00:00:00Z") || (ta < tb ? -1 : 1);
  return keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0;
}

/** Every PeerAuthentication of the mesh, oldest first. */
function peerAuthentications(model: MeshModel): LoadedResource[] {
  return model.resources.filter((r) => r.key.group === "security.istio.io" && r.key.kind === "PeerAuthentication").sort(oldestFirst);
}

function selects(p: LoadedResource, w: MeshWorkload): boolean {
  const labels = specOf(p).selector?.matchLabels ?? {};
  return p.key.namespace === w.namespace && Object.entries(labels).every(([k, v]) => w.labels[k] === v);
}

/** The policies that decide for `w` at each level (the oldest of each). */
function sourcesFor(all: readonly LoadedResource[], root: string, w: MeshWorkload) {
  const mesh = all.find((p) => p.key.namespace === root && !hasSelector(p));
  const namespace = w.namespace === root ? undefined : all.find((p) => p.key.namespace === w.namespace && !hasSelector(p));
  const workload = all.find((p) => p.key.namespace !== root && hasSelector(p) && selects(p, w));
  return { mesh, namespace, workload };
}

function effective(all: readonly LoadedResource[], root: string, w: MeshWorkload): EffectivePeerAuthentication {
  const s = sourcesFor(all, root, w);
  let mode: PeerMode = "PERMISSIVE";
  for (const p of [s.mesh, s.namespace, s.workload]) mode = (p && modeOf(specOf(p).mtls)) ?? mode;
  const portLevel: Record<number, PeerMode> = {};
  for (const [port, m] of Object.entries(s.workload ? specOf(s.workload).portLevelMtls ?? {} : {})) portLevel[Number(port)] = modeOf(m) ?? mode;
  const from: PeerSources = {};
  if (s.mesh) from.mesh = s.mesh.key;
  if (s.namespace) from.namespace = s.namespace.key;
  if (s.workload) from.workload = s.workload.key;
  return { mode, portLevel, from };
}

/**
 * The effective PeerAuthentication of `workload`: its mode and per-port modes, with Istio's
 * precedence (see the file comment). Without any policy the mode is PERMISSIVE.
 */
export function peerAuthenticationFor(model: MeshModel, workload: MeshWorkload): EffectivePeerAuthentication {
  return effective(peerAuthentications(model), model.options.rootNamespace, workload);
}

/** The mode on one workload port. */
export function modeForPort(e: EffectivePeerAuthentication, port: number): PeerMode {
  return e.portLevel[port] ?? e.mode;
}

/** Init shape of istio.security.Authorization (what ztunnel receives). */
export type AuthorizationInit = MessageInitShape<typeof AuthorizationSchema>;
type RuleInit = MessageInitShape<typeof RuleSchema>;

/** No peer identity: the connection is plaintext (ztunnel's 15006), not HBONE. */
const noPeer = { notPrincipals: [{ matchType: { case: "presence" as const, value: {} } }] };

/**
 * Istio's mesh-wide DENY of connections without a peer identity, in the root namespace; every
 * workload that is STRICT on all ports references it.
 */
export function staticStrictPolicy(rootNamespace: string): AuthorizationInit {
  return {
    name: peerPolicyNames.staticStrict, namespace: rootNamespace, scope: Scope.WORKLOAD_SELECTOR, action: Action.DENY,
    rules: [{ clauses: [{ matches: [noPeer] }] }],
  };
}

/** What ztunnel needs for one workload's PeerAuthentication. */
export interface ZtunnelPeerAuthorization {
  /** `<namespace>/<name>` of each policy, for Workload.authorization_policies. */
  references: string[];
  /** The policies referenced (the same name always has the same content; dedupe across workloads by reference). */
  policies: AuthorizationInit[];
}

const sortedPorts = (ps: Record<number, PeerMode>, mode: PeerMode) =>
  Object.entries(ps).filter(([, m]) => m === mode).map(([p]) => Number(p)).sort((a, b) => a - b);

/**
 * The L4 authorization policies that enforce `workload`'s effective PeerAuthentication in
 * ztunnel (DENY policies: ztunnel denies if any DENY matches; a Rule's clauses are ANDed, a
 * clause's matches ORed, a match's fields ANDed):
 * - STRICT on every port: the shared `istio_converted_static_strict`;
 * - STRICT with PERMISSIVE ports P..: `converted_peer_authentication_<name>` denying "no peer
 *   identity AND port not in P..";
 * - PERMISSIVE with STRICT ports S..: the same name, one rule per port denying "no peer identity
 *   AND port = S";
 * - PERMISSIVE everywhere: nothing.
 * Istio pushes nothing at all while the mesh has no PeerAuthentication; neither do we.
 */
export function ztunnelPeerAuthorization(model: MeshModel, workload: MeshWorkload): ZtunnelPeerAuthorization {
  const all = peerAuthentications(model);
  if (all.length === 0) return { references: [], policies: [] };
  const root = model.options.rootNamespace;
  const e = effective(all, root, workload);
  const exceptions = sortedPorts(e.portLevel, e.mode === "STRICT" ? "PERMISSIVE" : "STRICT");
  if (e.mode === "STRICT" && exceptions.length === 0) {
    return { references: [`${root}/${peerPolicyNames.staticStrict}`], policies: [staticStrictPolicy(root)] };
  }
  if (exceptions.length === 0) return { references: [], policies: [] };
  // Port exceptions exist only with a workload-level policy.
  const w = e.from.workload!;
  const rules: RuleInit[] = e.mode === "STRICT"
    ? [{ clauses: [{ matches: [noPeer] }, ...exceptions.map((p) => ({ matches: [{ notDestinationPorts: [p] }] }))] }]
    : exceptions.map((p) => ({ clauses: [{ matches: [{ ...noPeer, destinationPorts: [p] }] }] }));
  const name = peerPolicyNames.convertedPrefix + w.name;
  return {
    references: [`${w.namespace}/${name}`],
    policies: [{ name, namespace: w.namespace, scope: Scope.WORKLOAD_SELECTOR, action: Action.DENY, rules }],
  };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * One condition per PeerAuthentication: where it is enforced (ztunnel), or why it has no effect
 * (another policy of the same level is older; a selector in the root namespace; it selects only
 * waypoint pods, which accept nothing but HBONE mutual TLS).
 */
export function peerAuthenticationConditions(model: MeshModel): Condition[] {
  const all = peerAuthentications(model);
  const root = model.options.rootNamespace;
  const workloads = model.workloads.filter((w) => w.waypointOf === undefined);
  const waypointPods = model.workloads.filter((w) => w.waypointOf !== undefined);
  const cond = (p: LoadedResource, status: "True" | "False", reason: string, message: string): Condition =>
    ({ resource: p.key, type: peerAuthnConditionType, status, reason, message });
  const waypointNote = "waypoints always require HBONE mutual TLS, so STRICT is inherent there and PERMISSIVE opens no plaintext path through them";
  const out = all.map((p): Condition => {
    const mode = modeOf(specOf(p).mtls) ?? "UNSET (inherited)";
    if (!hasSelector(p)) {
      const level = p.key.namespace === root ? "mesh-wide (root namespace)" : `namespace-wide for ${p.key.namespace}`;
      const winner = all.find((q) => q.key.namespace === p.key.namespace && !hasSelector(q))!;
      if (winner !== p) {
        return cond(p, "False", "Overridden", `PeerAuthentication ${keyOf(winner)} is also ${level} and older, so it applies and this one does not (Istio keeps the oldest)`);
      }
      return cond(p, "True", "Accepted", `${level}, mode ${mode}: enforced by ztunnel on the workloads' inbound side; ${waypointNote}`);
    }
    if (p.key.namespace === root) {
      return cond(p, "False", "Ignored", "has a selector but is in the root namespace; Istio ignores workload-level PeerAuthentications there. Move it to the workloads' namespace, or drop the selector for a mesh-wide policy");
    }
    const selected = workloads.filter((w) => selects(p, w));
    const effectiveOn = selected.filter((w) => sourcesFor(all, root, w).workload === p);
    const onWaypoints = waypointPods.filter((w) => selects(p, w));
    const wp = onWaypoints.length > 0 ? `; it also selects waypoint pod(s) ${onWaypoints.map((w) => w.name).sort().join(", ")}, where it has no effect: ${waypointNote}` : "";
    if (selected.length === 0) {
      return cond(p, "True", "Accepted", `selects no workloads that ztunnel serves${wp || "; it applies once matching pods exist"}`);
    }
    if (effectiveOn.length === 0) {
      const other = sourcesFor(all, root, selected[0]!).workload!;
      return cond(p, "False", "Overridden", `every workload it selects is also selected by the older PeerAuthentication ${keyOf(other)}, which applies instead (Istio keeps the oldest)${wp}`);
    }
    return cond(p, "True", "Accepted", `mode ${mode}${Object.keys(specOf(p).portLevelMtls ?? {}).length > 0 ? " with port-level settings" : ""}: enforced by ztunnel on `
      + `${plural(effectiveOn.length, "workload")} (${effectiveOn.map((w) => w.name).sort().join(", ")})${wp || `; ${waypointNote}`}`);
  });
  return out.sort((a, b) => (`${a.resource.namespace}/${a.resource.name}` < `${b.resource.namespace}/${b.resource.name}` ? -1 : 1));
}
