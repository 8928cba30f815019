import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { authorize, CallerAuthenticator, NodeCredentials, type Caller } from "./auth.js";
import { CertificateAuthority } from "./ca.js";
import { isPkiError } from "./errors.js";

const ZT_A = "ztunnel-node-a-token-0001";
const ZT_B = "ztunnel-node-b-token-0002";
const REVIEWS = "reviews-workload-token-03";
const HASHED = "ratings-hashed-token-0004";
const FILE = `
tokens:
  ${ZT_A}: { kind: ztunnel, node: node-a }
  ${ZT_B}:
    kind: ztunnel
    node: node-b
    identity: spiffe://cluster.local/ns/kube-system/sa/my-ztunnel
  ${REVIEWS}: { kind: workload, identity: spiffe://cluster.local/ns/default/sa/reviews }
  "sha256:${createHash("sha256").update(HASHED).digest("hex")}": { kind: workload, identity: spiffe://cluster.local/ns/default/sa/ratings }
`;
const credentials = NodeCredentials.parse(FILE, "creds.yaml");
const auth = new CallerAuthenticator({ credentials });
const bearer = (t: string) => ({ authorization: [`Bearer ${t}`] });

const pods: Record<string, string[]> = {
  "node-a": ["spiffe://cluster.local/ns/default/sa/reviews", "spiffe://cluster.local/ns/default/sa/productpage"],
  "node-b": ["spiffe://cluster.local/ns/default/sa/ratings"],
};
const workloadsOnNode = (node: string) => pods[node] ?? [];

test("node-credentials: parses YAML and JSON", () => {
  assert.equal(credentials.size, 4);
  assert.deepEqual(credentials.lookup(ZT_A), { kind: "ztunnel", node: "node-a" });
  assert.deepEqual(credentials.lookup(HASHED), { kind: "workload", identity: "spiffe://cluster.local/ns/default/sa/ratings" });
  assert.equal(credentials.lookup("nope-nope-nope-nope"), undefined);
  const json = NodeCredentials.parse(JSON.stringify({ tokens: { [ZT_A]: { kind: "ztunnel", node: "n" } } }), "c.json");
  assert.deepEqual(json.lookup(ZT_A), { kind: "ztunnel", node: "n" });
});

const badFiles: [string, RegExp][] = [
  ["- a\n- b", /expected a mapping with a `tokens` key/],
  ["tokens: {}\nusers: {}", /unknown top-level key "users"/],
  ["tokens:\n  short: { kind: workload, identity: spiffe://cluster.local/ns/a/sa/b }", /tokens entry 0 \(shor…\): tokens must be at least 16 characters/],
  [`tokens:\n  ${ZT_A}: { kind: ztunnel }`, /tokens entry 0 \(ztun…\)\.node: required/],
  [`tokens:\n  ${ZT_A}: { kind: workload }`, /\.identity: required for kind workload/],
  [`tokens:\n  ${ZT_A}: { kind: admin }`, /\.kind: must be "ztunnel" or "workload", not "admin"/],
  [`tokens:\n  ${ZT_A}: { kind: workload, identity: "spiffe://cluster.local/default/x" }`, /\.identity: invalid SPIFFE identity/],
  [`tokens:\n  ${ZT_A}: { kind: workload, identity: spiffe://cluster.local/ns/a/sa/b, node: x }`, /\.node: unknown field for kind workload/],
  ["tokens:\n  \"sha256:abc\": { kind: workload, identity: spiffe://cluster.local/ns/a/sa/b }", /64 hex digits/],
  ["tokens: [", /not YAML or JSON/],
];
for (const [text, message] of badFiles) {
  test(`node-credentials: rejects ${JSON.stringify(text.slice(0, 50))}`, () => {
    assert.throws(() => NodeCredentials.parse(text, "creds.yaml"), (e: unknown) => isPkiError(e, "InvalidCredentials") && e.message.startsWith("creds.yaml: ") && message.test(e.message));
  });
}

test("node-credentials: the same token twice is refused, also once hashed", () => {
  const digest = createHash("sha256").update(ZT_A).digest("hex");
  assert.throws(() => NodeCredentials.parse(`tokens:\n  ${ZT_A}: { kind: ztunnel, node: a }\n  "sha256:${digest}": { kind: ztunnel, node: b }`), /listed twice/);
});

test("authenticate: tokens", () => {
  assert.deepEqual(auth.authenticate(bearer(ZT_A)), { kind: "ztunnel", node: "node-a", identity: "spiffe://cluster.local/ns/istio-system/sa/ztunnel", via: "token" });
  assert.deepEqual(auth.authenticate(bearer(ZT_B)).identity, "spiffe://cluster.local/ns/kube-system/sa/my-ztunnel");
  assert.deepEqual(auth.authenticate({ authorization: [`bearer   ${REVIEWS}`] }), { kind: "workload", identity: "spiffe://cluster.local/ns/default/sa/reviews", via: "token" });
});

const unauthenticated: [string, { authorization: string[] }, RegExp][] = [
  ["no token", { authorization: [] }, /no `authorization: Bearer <token>` metadata; no verified client certificate/],
  ["unknown token", bearer("not-a-listed-token-xyz"), /unknown bearer token not-… \(not in creds.yaml\)/],
  ["not a bearer", { authorization: [`Basic ${REVIEWS}`] }, /is not "Bearer <token>"/],
  ["two headers", { authorization: [`Bearer ${REVIEWS}`, `Bearer ${ZT_A}`] }, /2 authorization headers/],
];
for (const [name, input, message] of unauthenticated) {
  test(`authenticate: ${name} is UNAUTHENTICATED`, () => {
    assert.throws(() => auth.authenticate(input), (e: unknown) => isPkiError(e, "Unauthenticated") && message.test(e.message));
  });
}

test("authenticate: a verified client certificate names a workload", async () => {
  const ca = await CertificateAuthority.start();
  const issued = await ca.issueKeyPair({ identity: "spiffe://cluster.local/ns/default/sa/details" });
  const der = Buffer.from(issued.certChain[0]!.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
  assert.deepEqual(auth.authenticate({ authorization: [], peerCertificate: der }), { kind: "workload", identity: "spiffe://cluster.local/ns/default/sa/details", via: "certificate" });
  assert.equal(auth.authenticate({ ...bearer(ZT_A), peerCertificate: der }).kind, "ztunnel", "a valid token wins");
  const foreign = new CallerAuthenticator({ trustDomain: "example.org" });
  assert.throws(() => foreign.authenticate({ authorization: [], peerCertificate: der }), /not in trust domain "example.org"/);
});

const ztA: Caller = { kind: "ztunnel", node: "node-a", identity: "spiffe://cluster.local/ns/istio-system/sa/ztunnel", via: "token" };
const reviews: Caller = { kind: "workload", identity: "spiffe://cluster.local/ns/default/sa/reviews", via: "token" };

const decisions: [string, Caller, string | undefined, string | RegExp][] = [
  ["ztunnel, no impersonation: its own identity", ztA, undefined, ztA.identity],
  ["ztunnel impersonating a workload on its node", ztA, "spiffe://cluster.local/ns/default/sa/productpage", "spiffe://cluster.local/ns/default/sa/productpage"],
  ["ztunnel impersonating a workload on another node", ztA, "spiffe://cluster.local/ns/default/sa/ratings",
    /^ztunnel on node "node-a" may not impersonate spiffe:\/\/cluster.local\/ns\/default\/sa\/ratings: no workload with that identity is scheduled on node "node-a"/],
  ["workload asking for itself", reviews, reviews.identity, reviews.identity],
  ["workload asking for another identity", reviews, "spiffe://cluster.local/ns/default/sa/ratings",
    /^spiffe:\/\/cluster.local\/ns\/default\/sa\/reviews may not ask for a certificate of spiffe:\/\/cluster.local\/ns\/default\/sa\/ratings/],
];
for (const [name, caller, impersonated, want] of decisions) {
  test(`authorize: ${name}`, async () => {
    if (typeof want === "string") assert.equal(await authorize(caller, impersonated, workloadsOnNode), want);
    else await assert.rejects(authorize(caller, impersonated, workloadsOnNode), (e: unknown) => isPkiError(e, "PermissionDenied") && want.test(e.message));
  });
}

test("authorize: without a workload index no impersonation is allowed", async () => {
  await assert.rejects(authorize(ztA, "spiffe://cluster.local/ns/default/sa/reviews"), /the CA has no view of which workloads run where/);
});

test("authorize: a malformed ImpersonatedIdentity is InvalidIdentity", async () => {
  await assert.rejects(authorize(ztA, "reviews", workloadsOnNode), (e: unknown) => isPkiError(e, "InvalidIdentity"));
});
