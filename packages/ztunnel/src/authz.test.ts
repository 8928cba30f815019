// Table tests of L4 authorization: ztunnel's semantics (istio-ambient.md §3.5, ztunnel src/rbac.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { authorize, authorizeInbound, matches, type InboundConnection } from "./authz.js";
import { parseCidr } from "./ip.js";
import { MeshState } from "./state.js";
import { EMPTY_MATCH, workloadDefaults, type Match, type Policy } from "./types.js";

const SLEEP = "spiffe://cluster.local/ns/default/sa/sleep";
const OTHER = "spiffe://cluster.local/ns/other/sa/api";
const mtls: InboundConnection = { srcIp: "10.0.0.2", dstIp: "10.0.0.3", dstPort: 8080, srcIdentity: SLEEP };
const plain: InboundConnection = { srcIp: "10.0.0.2", dstIp: "10.0.0.3", dstPort: 8080 };

const m = (x: Partial<Match>): Match => ({ ...EMPTY_MATCH, ...x });
const pol = (action: Policy["action"], matchesList: Match[][] | undefined, extra: Partial<Policy> = {}): Policy => ({
  name: extra.name ?? `${action.toLowerCase()}-${++seq}`, namespace: "default", scope: "Namespace", action,
  rules: matchesList === undefined ? [] : [{ clauses: matchesList.map((ms) => ({ matches: ms })) }], ...extra,
});
let seq = 0;
const cidr = (t: string) => parseCidr(t)!;

test("matches(): one case per semantic rule", () => {
  const cases: { name: string; policy: Policy; conn: InboundConnection; want: boolean }[] = [
    { name: "no rules never matches", policy: pol("Allow", undefined), conn: mtls, want: false },
    { name: "a rule with no clauses matches", policy: { ...pol("Allow", []), rules: [{ clauses: [] }] }, conn: mtls, want: true },
    { name: "a clause with no matches is true", policy: pol("Allow", [[]]), conn: mtls, want: true },
    { name: "a clause of only empty matches is false (empty matches are skipped)", policy: pol("Allow", [[m({})]]), conn: mtls, want: false },
    { name: "principal exact, without spiffe://", policy: pol("Allow", [[m({ principals: [{ exact: "cluster.local/ns/default/sa/sleep" }] })]]), conn: mtls, want: true },
    { name: "principal written with spiffe:// does not match", policy: pol("Allow", [[m({ principals: [{ exact: SLEEP }] })]]), conn: mtls, want: false },
    { name: "principal prefix", policy: pol("Allow", [[m({ principals: [{ prefix: "cluster.local/ns/default/" }] })]]), conn: mtls, want: true },
    { name: "principal suffix", policy: pol("Allow", [[m({ principals: [{ suffix: "/sa/sleep" }] })]]), conn: mtls, want: true },
    { name: "principal presence matches an identity", policy: pol("Allow", [[m({ principals: [{ presence: true }] })]]), conn: mtls, want: true },
    { name: "plaintext matches no principal, not even presence", policy: pol("Allow", [[m({ principals: [{ presence: true }] })]]), conn: plain, want: false },
    { name: "plaintext matches not_principals: presence (STRICT)", policy: pol("Deny", [[m({ notPrincipals: [{ presence: true }] })]]), conn: plain, want: true },
    { name: "mTLS does not match not_principals: presence", policy: pol("Deny", [[m({ notPrincipals: [{ presence: true }] })]]), conn: mtls, want: false },
    { name: "namespace from the identity", policy: pol("Allow", [[m({ namespaces: [{ exact: "default" }] })]]), conn: mtls, want: true },
    { name: "plaintext has no namespace", policy: pol("Allow", [[m({ namespaces: [{ presence: true }] })]]), conn: plain, want: false },
    { name: "service account match", policy: pol("Allow", [[m({ serviceAccounts: [{ namespace: "default", serviceAccount: "sleep" }] })]]), conn: mtls, want: true },
    { name: "service account of another namespace", policy: pol("Allow", [[m({ serviceAccounts: [{ namespace: "other", serviceAccount: "sleep" }] })]]), conn: mtls, want: false },
    { name: "source CIDR", policy: pol("Allow", [[m({ sourceIps: [cidr("10.0.0.0/24")] })]]), conn: mtls, want: true },
    { name: "not_source_ips excludes", policy: pol("Allow", [[m({ sourceIps: [cidr("10.0.0.0/8")], notSourceIps: [cidr("10.0.0.2/32")] })]]), conn: mtls, want: false },
    { name: "destination IP and port", policy: pol("Allow", [[m({ destinationIps: [cidr("10.0.0.3")], destinationPorts: [8080] })]]), conn: mtls, want: true },
    { name: "wrong destination port", policy: pol("Allow", [[m({ destinationPorts: [9090] })]]), conn: mtls, want: false },
    { name: "not_destination_ports", policy: pol("Allow", [[m({ notDestinationPorts: [8080] })]]), conn: mtls, want: false },
    { name: "fields inside a match are AND-ed", policy: pol("Allow", [[m({ namespaces: [{ exact: "default" }], destinationPorts: [9090] })]]), conn: mtls, want: false },
    { name: "matches inside a clause are OR-ed", policy: pol("Allow", [[m({ destinationPorts: [9090] }), m({ namespaces: [{ exact: "default" }] })]]), conn: mtls, want: true },
    { name: "clauses inside a rule are AND-ed", policy: pol("Allow", [[m({ namespaces: [{ exact: "default" }] })], [m({ destinationPorts: [9090] })]]), conn: mtls, want: false },
    {
      name: "rules are OR-ed",
      policy: { ...pol("Allow", []), rules: [{ clauses: [{ matches: [m({ destinationPorts: [9090] })] }] }, { clauses: [{ matches: [m({ destinationPorts: [8080] })] }] }] },
      conn: mtls, want: true,
    },
    { name: "IPv4 source never matches an IPv6 block", policy: pol("Allow", [[m({ sourceIps: [cidr("::/0")] })]]), conn: mtls, want: false },
  ];
  for (const c of cases) assert.equal(matches(c.policy, c.conn), c.want, c.name);
});

test("authorize(): DENY wins, then ALLOW; no ALLOW allows; an ALLOW with no rules denies all", () => {
  const allowSleep = pol("Allow", [[m({ principals: [{ exact: "cluster.local/ns/default/sa/sleep" }] })]], { name: "allow-sleep" });
  const denySleep = pol("Deny", [[m({ principals: [{ exact: "cluster.local/ns/default/sa/sleep" }] })]], { name: "deny-sleep" });
  const strict = pol("Deny", [[m({ notPrincipals: [{ presence: true }] })]], { name: "strict" });
  const emptyAllow = pol("Allow", undefined, { name: "allow-nothing" });
  const cases: { name: string; policies: Policy[]; conn: InboundConnection; allow: boolean; policy?: string }[] = [
    { name: "no policies: allow", policies: [], conn: mtls, allow: true },
    { name: "matching ALLOW: allow", policies: [allowSleep], conn: mtls, allow: true, policy: "default/allow-sleep" },
    { name: "ALLOW for someone else: deny", policies: [allowSleep], conn: { ...mtls, srcIdentity: OTHER }, allow: false },
    { name: "DENY beats a matching ALLOW", policies: [allowSleep, denySleep], conn: mtls, allow: false, policy: "default/deny-sleep" },
    { name: "non-matching DENY and no ALLOW: allow", policies: [denySleep], conn: { ...mtls, srcIdentity: OTHER }, allow: true },
    { name: "STRICT denies plaintext", policies: [strict], conn: plain, allow: false, policy: "default/strict" },
    { name: "STRICT allows mTLS", policies: [strict], conn: mtls, allow: true },
    { name: "an ALLOW with no rules denies everything", policies: [emptyAllow], conn: mtls, allow: false },
    { name: "an empty ALLOW next to a matching one: allow", policies: [emptyAllow, allowSleep], conn: mtls, allow: true, policy: "default/allow-sleep" },
  ];
  for (const c of cases) {
    const d = authorize(c.policies, c.conn);
    assert.equal(d.allow, c.allow, c.name);
    if (c.policy) assert.equal(d.policy, c.policy, c.name);
  }
  const denied = authorize([allowSleep], { ...mtls, srcIdentity: OTHER });
  assert.ok(!denied.allow && denied.reason.includes("no ALLOW policy matches") && denied.reason.includes("default/allow-sleep"), "the reason names what was checked");
});

test("authorizeInbound(): candidates are GLOBAL, the workload's namespace, and its selector policies", () => {
  const state = new MeshState();
  const w = workloadDefaults({ uid: "w1", name: "echo", namespace: "default", authorizationPolicies: ["default/selected"] });
  state.upsertWorkload(w);
  const deny = (name: string, namespace: string, scope: Policy["scope"]): Policy => ({ ...pol("Deny", [[]]), name, namespace, scope });
  const cases: { name: string; policy: Policy; applies: boolean }[] = [
    { name: "GLOBAL (root namespace)", policy: deny("g", "istio-system", "Global"), applies: true },
    { name: "NAMESPACE of the workload", policy: deny("n", "default", "Namespace"), applies: true },
    { name: "NAMESPACE elsewhere", policy: deny("n", "other", "Namespace"), applies: false },
    { name: "WORKLOAD_SELECTOR named by the workload", policy: deny("selected", "default", "WorkloadSelector"), applies: true },
    { name: "WORKLOAD_SELECTOR not named", policy: deny("unselected", "default", "WorkloadSelector"), applies: false },
  ];
  for (const c of cases) {
    const s = new MeshState();
    s.upsertWorkload(w);
    s.upsertPolicy(c.policy);
    assert.equal(authorizeInbound(s, w, mtls).allow, !c.applies, c.name);
  }
});
