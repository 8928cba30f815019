import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, toJson } from "@bufbuild/protobuf";
import type { LoadedResource } from "@waystation/api";
import type { MeshModel } from "@waystation/model";
import { AuthorizationSchema, Action, type Authorization } from "@waystation/proto/istio/security/authorization_pb.js";
import { buildModel } from "../../../model/src/build.js";
import { namespace, pod, resource } from "../../../model/src/testing.js";
import {
  modeForPort, peerAuthenticationConditions, peerAuthenticationFor, staticStrictPolicy, ztunnelPeerAuthorization, type PeerMode,
} from "./index.js";

type Mtls = { mode?: string } | undefined;
interface Pa { ns: string; name: string; mtls?: Mtls; selector?: Record<string, string>; ports?: Record<string, Mtls>; created?: string }
const pa = (p: Pa): LoadedResource => {
  const r = resource("PeerAuthentication", p.ns, p.name, {
    ...(p.mtls ? { mtls: p.mtls } : {}),
    ...(p.selector ? { selector: { matchLabels: p.selector } } : {}),
    ...(p.ports ? { portLevelMtls: p.ports } : {}),
  });
  if (p.created) r.object.metadata.creationTimestamp = p.created;
  return r;
};
const mesh = (m: string | undefined, extra: Partial<Pa> = {}): Pa => ({ ns: "istio-system", name: "default", ...(m ? { mtls: { mode: m } } : {}), ...extra });
const nsPol = (m: string | undefined, extra: Partial<Pa> = {}): Pa => ({ ns: "shop", name: "ns", ...(m ? { mtls: { mode: m } } : {}), ...extra });
const wl = (m: string | undefined, ports?: Record<string, string | undefined>, extra: Partial<Pa> = {}): Pa => ({
  ns: "shop", name: "wl", selector: { app: "web" }, ...(m ? { mtls: { mode: m } } : {}),
  ...(ports ? { ports: Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, v ? { mode: v } : {}])) } : {}), ...extra,
});

const base = [
  namespace("istio-system"),
  namespace("shop", { "istio.io/dataplane-mode": "ambient" }),
  namespace("other", { "istio.io/dataplane-mode": "ambient" }),
  pod("shop", "web-0", "web", "10.244.1.10"),
  pod("shop", "api-0", "api", "10.244.1.11"),
  pod("istio-system", "tool-0", "tool", "10.244.1.12"),
];
const modelOf = (pas: Pa[], extra: LoadedResource[] = []) => buildModel([...base, ...extra, ...pas.map(pa)]);
const workload = (m: MeshModel, name = "web-0") => m.workloads.find((w) => w.name === name)!;

const P = "PERMISSIVE";
const S = "STRICT";

/** The precedence table: policies -> the effective mode of shop/web-0 (app=web), overall and per port. */
const table: { name: string; pas: Pa[]; mode: PeerMode; ports?: Record<number, PeerMode>; who?: string; from?: string[] }[] = [
  { name: "no policy: PERMISSIVE", pas: [], mode: P },
  { name: "mesh STRICT", pas: [mesh(S)], mode: S, from: ["mesh:default"] },
  { name: "mesh without mode (UNSET): PERMISSIVE", pas: [mesh(undefined)], mode: P },
  { name: "namespace overrides mesh (PERMISSIVE over STRICT)", pas: [mesh(S), nsPol(P)], mode: P },
  { name: "namespace overrides mesh (STRICT over PERMISSIVE)", pas: [mesh(P), nsPol(S)], mode: S },
  { name: "namespace UNSET inherits the mesh", pas: [mesh(S), nsPol("UNSET")], mode: S, from: ["mesh:default", "namespace:ns"] },
  { name: "workload overrides namespace", pas: [nsPol(S), wl(P)], mode: P },
  { name: "workload overrides namespace and mesh", pas: [mesh(P), nsPol(P), wl(S)], mode: S },
  { name: "workload UNSET inherits the namespace", pas: [nsPol(S), wl(undefined)], mode: S },
  { name: "workload UNSET inherits the mesh through an UNSET namespace", pas: [mesh(S), nsPol(undefined), wl("UNSET")], mode: S },
  { name: "port-level PERMISSIVE under an inherited STRICT", pas: [nsPol(S), wl(undefined, { 8080: P })], mode: S, ports: { 8080: P } },
  { name: "port-level STRICT under PERMISSIVE", pas: [mesh(P), wl(undefined, { 8443: S, 9443: S })], mode: P, ports: { 8443: S, 9443: S } },
  { name: "port-level UNSET takes the workload's mode", pas: [wl(S, { 9000: undefined, 9001: "UNSET" })], mode: S, ports: { 9000: S, 9001: S } },
  { name: "port-level UNSET takes the inherited mode", pas: [mesh(S), wl(undefined, { 9000: undefined })], mode: S, ports: { 9000: S } },
  { name: "a selector that does not match leaves the namespace policy", pas: [nsPol(S), wl(P, undefined, { selector: { app: "api" } })], mode: S },
  { name: "a selector must match every label", pas: [nsPol(S), wl(P, undefined, { selector: { app: "web", tier: "x" } })], mode: S },
  { name: "a workload policy in another namespace does not apply", pas: [nsPol(S), wl(P, undefined, { ns: "other" })], mode: S },
  { name: "a namespace policy of another namespace does not apply", pas: [nsPol(S, { ns: "other" })], mode: P },
  { name: "a selector policy in the root namespace is ignored", pas: [mesh(S), wl(P, undefined, { ns: "istio-system" })], mode: S },
  { name: "an empty selector makes a namespace-level policy", pas: [mesh(P), nsPol(S, { selector: {} })], mode: S },
  { name: "two namespace policies: the oldest wins", pas: [nsPol(S, { name: "a", created: "2025-02-01T00:00:00Z" }), nsPol(P, { name: "b", created: "2025-01-01T00:00:00Z" })], mode: P, from: ["namespace:b"] },
  { name: "two namespace policies without timestamps: name order", pas: [nsPol(P, { name: "b" }), nsPol(S, { name: "a" })], mode: S, from: ["namespace:a"] },
  { name: "a missing timestamp counts as oldest", pas: [nsPol(S, { name: "a", created: "2025-01-01T00:00:00Z" }), nsPol(P, { name: "z" })], mode: P },
  { name: "two mesh policies: the oldest wins", pas: [mesh(P, { name: "a", created: "2025-03-01T00:00:00Z" }), mesh(S, { name: "b", created: "2024-03-01T00:00:00Z" })], mode: S },
  { name: "two workload policies: the oldest wins, ports included", pas: [wl(P, { 80: S }, { name: "new", created: "2025-06-01T00:00:00Z" }), wl(S, { 81: P }, { name: "old", created: "2025-01-01T00:00:00Z" })], mode: S, ports: { 81: P }, from: ["workload:old"] },
  { name: "a workload in the root namespace gets the mesh policy", pas: [mesh(S), wl(P, undefined, { ns: "istio-system", selector: { app: "tool" } })], mode: S, who: "tool-0" },
];

/** ztunnel's evaluation of DENY policies for one connection: any rule whose clauses all have a matching match. */
function ztunnelDenies(policies: Authorization[], peer: boolean, port: number): boolean {
  return policies.some((p) => p.action === Action.DENY && p.rules.some((r) => r.clauses.every((c) => c.matches.some((m) => {
    const principalOk = m.notPrincipals.length === 0 || !m.notPrincipals.some((sm) => sm.matchType.case === "presence" && peer);
    const portOk = (m.destinationPorts.length === 0 || m.destinationPorts.includes(port)) && !m.notDestinationPorts.includes(port);
    assert.equal(m.principals.length + m.namespaces.length + m.sourceIps.length, 0, "only the fields PeerAuthentication conversion uses");
    return principalOk && portOk;
  }))));
}

describe("PeerAuthentication precedence (peerAuthenticationFor)", () => {
  for (const c of table) {
    it(c.name, () => {
      const m = modelOf(c.pas);
      const e = peerAuthenticationFor(m, workload(m, c.who));
      assert.equal(e.mode, c.mode);
      assert.deepEqual(e.portLevel, c.ports ?? {});
      if (c.from) {
        assert.deepEqual(Object.entries(e.from).map(([level, k]) => `${level}:${k!.name}`), c.from);
      }
      for (const port of [80, 81, 8080, 8443, 9000, 9443]) assert.equal(modeForPort(e, port), c.ports?.[port] ?? c.mode);

      // The ztunnel policies decide exactly as the effective modes say: a plaintext (no peer
      // identity) connection is denied iff its port is STRICT; an HBONE one never.
      const z = ztunnelPeerAuthorization(m, workload(m, c.who));
      const policies = z.policies.map((p) => create(AuthorizationSchema, p));
      assert.deepEqual(z.references, policies.map((p) => `${p.namespace}/${p.name}`));
      for (const port of [80, 81, 8080, 8443, 9000, 9443]) {
        assert.equal(ztunnelDenies(policies, false, port), c.pas.length > 0 && modeForPort(e, port) === S, `plaintext to port ${port}`);
        assert.equal(ztunnelDenies(policies, true, port), false, `HBONE to port ${port}`);
      }
    });
  }
});

describe("PeerAuthentication -> ztunnel L4 policies (ztunnelPeerAuthorization)", () => {
  const json = (m: MeshModel, name = "web-0") => {
    const z = ztunnelPeerAuthorization(m, workload(m, name));
    return { references: z.references, policies: z.policies.map((p) => toJson(AuthorizationSchema, create(AuthorizationSchema, p))) };
  };

  it("sends nothing while the mesh has no PeerAuthentication", () => {
    assert.deepEqual(json(modelOf([])), { references: [], policies: [] });
  });

  it("references Istio's static STRICT policy for a workload STRICT on every port", () => {
    const strict = { name: "istio_converted_static_strict", namespace: "istio-system", scope: "WORKLOAD_SELECTOR", action: "DENY", rules: [{ clauses: [{ matches: [{ notPrincipals: [{ presence: {} }] }] }] }] };
    assert.deepEqual(json(modelOf([mesh(S)])), { references: ["istio-system/istio_converted_static_strict"], policies: [strict] });
    assert.deepEqual(json(modelOf([nsPol(P), wl(S, { 8080: S })])).references, ["istio-system/istio_converted_static_strict"]);
    assert.deepEqual(toJson(AuthorizationSchema, create(AuthorizationSchema, staticStrictPolicy("mesh-root"))), { ...strict, namespace: "mesh-root" });
  });

  it("converts STRICT with PERMISSIVE ports into one DENY: no peer AND not those ports", () => {
    assert.deepEqual(json(modelOf([nsPol(S), wl(undefined, { 9090: P, 8080: P })])), {
      references: ["shop/converted_peer_authentication_wl"],
      policies: [{
        name: "converted_peer_authentication_wl", namespace: "shop", scope: "WORKLOAD_SELECTOR", action: "DENY",
        rules: [{ clauses: [{ matches: [{ notPrincipals: [{ presence: {} }] }] }, { matches: [{ notDestinationPorts: [8080] }] }, { matches: [{ notDestinationPorts: [9090] }] }] }],
      }],
    });
  });

  it("converts PERMISSIVE with STRICT ports into one DENY rule per port", () => {
    assert.deepEqual(json(modelOf([wl(P, { 8443: S, 9443: S, 80: P })])), {
      references: ["shop/converted_peer_authentication_wl"],
      policies: [{
        name: "converted_peer_authentication_wl", namespace: "shop", scope: "WORKLOAD_SELECTOR", action: "DENY",
        rules: [8443, 9443].map((p) => ({ clauses: [{ matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [p] }] }] })),
      }],
    });
  });

  it("sends nothing for a workload PERMISSIVE everywhere, and only the effective (oldest) workload policy", () => {
    assert.deepEqual(json(modelOf([mesh(P), nsPol(P)])), { references: [], policies: [] });
    assert.deepEqual(json(modelOf([wl(P, { 1: S }, { name: "new", created: "2025-06-01T00:00:00Z" }), wl(P, { 2: S }, { name: "old", created: "2025-01-01T00:00:00Z" })])).references,
      ["shop/converted_peer_authentication_old"]);
    assert.deepEqual(json(modelOf([mesh(S), wl(P)]), "api-0").references, ["istio-system/istio_converted_static_strict"]);
  });
});

describe("PeerAuthentication conditions (where it is enforced)", () => {
  it("says ztunnel enforces each policy, and which ones have no effect", () => {
    const waypointPod = resource("Pod", "shop", "waypoint-0", { serviceAccountName: "waypoint", containers: [{ name: "istio-proxy" }] },
      { labels: { "gateway.networking.k8s.io/gateway-name": "waypoint", app: "web" }, status: { phase: "Running", podIP: "10.244.1.20" } });
    const m = modelOf([
      mesh(S),
      nsPol(P, { name: "a", created: "2025-01-01T00:00:00Z" }),
      nsPol(S, { name: "b", created: "2025-02-01T00:00:00Z" }),
      wl(S, { 8080: P }, { name: "web", created: "2025-01-01T00:00:00Z" }),
      wl(P, undefined, { name: "web-newer", created: "2025-05-01T00:00:00Z" }),
      wl(P, undefined, { name: "nobody", selector: { app: "none" } }),
      wl(P, undefined, { ns: "istio-system", name: "root-selector" }),
    ], [waypointPod]);
    const cs = peerAuthenticationConditions(m);
    assert.deepEqual(cs.map((c) => [`${c.resource.namespace}/${c.resource.name}`, c.type, c.status, c.reason]), [
      ["istio-system/default", "ZtunnelAccepted", "True", "Accepted"],
      ["istio-system/root-selector", "ZtunnelAccepted", "False", "Ignored"],
      ["shop/a", "ZtunnelAccepted", "True", "Accepted"],
      ["shop/b", "ZtunnelAccepted", "False", "Overridden"],
      ["shop/nobody", "ZtunnelAccepted", "True", "Accepted"],
      ["shop/web", "ZtunnelAccepted", "True", "Accepted"],
      ["shop/web-newer", "ZtunnelAccepted", "False", "Overridden"],
    ]);
    const msg = (name: string) => cs.find((c) => c.resource.name === name)!.message;
    assert.equal(msg("default"), "mesh-wide (root namespace), mode STRICT: enforced by ztunnel on the workloads' inbound side; "
      + "waypoints always require HBONE mutual TLS, so STRICT is inherent there and PERMISSIVE opens no plaintext path through them");
    assert.match(msg("b"), /^PeerAuthentication shop\/a is also namespace-wide for shop and older/);
    assert.match(msg("web"), /^mode STRICT with port-level settings: enforced by ztunnel on 1 workload \(web-0\); it also selects waypoint pod\(s\) waypoint-0, where it has no effect: waypoints always require HBONE mutual TLS/);
    assert.match(msg("web-newer"), /older PeerAuthentication shop\/web, which applies instead/);
    assert.match(msg("nobody"), /^selects no workloads that ztunnel serves; it applies once matching pods exist$/);
    assert.match(msg("root-selector"), /root namespace; Istio ignores workload-level PeerAuthentications there/);
  });
});
