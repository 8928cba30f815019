import { test } from "node:test";
import assert from "node:assert/strict";
import { formatSpiffeId, isSpiffeId, parseSpiffeId, spiffeUri } from "./spiffe.js";

test("parses Istio identities", () => {
  assert.deepEqual(parseSpiffeId("spiffe://cluster.local/ns/default/sa/reviews"), { trustDomain: "cluster.local", namespace: "default", serviceAccount: "reviews" });
  assert.deepEqual(parseSpiffeId("spiffe://td_1.example-corp/ns/a-b/sa/bookinfo.v2"), { trustDomain: "td_1.example-corp", namespace: "a-b", serviceAccount: "bookinfo.v2" });
  assert.equal(spiffeUri("cluster.local", "istio-system", "ztunnel"), "spiffe://cluster.local/ns/istio-system/sa/ztunnel");
  const id = { trustDomain: "cluster.local", namespace: "ns1", serviceAccount: "sa1" };
  assert.deepEqual(parseSpiffeId(formatSpiffeId(id)), id);
});

const bad: [string, RegExp][] = [
  ["", /empty/],
  ["https://cluster.local/ns/a/sa/b", /does not start with spiffe:\/\//],
  ["SPIFFE://cluster.local/ns/a/sa/b", /scheme must be lowercase/],
  ["spiffe://Cluster.Local/ns/a/sa/b", /trust domain "Cluster.Local" must be lowercase/],
  ["spiffe://cluster.local:443/ns/a/sa/b", /may not carry a port/],
  ["spiffe:///ns/a/sa/b", /empty trust domain/],
  ["spiffe://cluster.local", /no path after the trust domain/],
  ["spiffe://cluster.local/ns/a", /path "\/ns\/a" is not \/ns\/<namespace>\/sa\/<service-account>/],
  ["spiffe://cluster.local/ns/a/sa/b/", /is not \/ns\/<namespace>\/sa\/<service-account>/],
  ["spiffe://cluster.local/sa/b/ns/a", /is not \/ns\//],
  ["spiffe://cluster.local/ns//sa/b", /empty namespace/],
  ["spiffe://cluster.local/ns/A/sa/b", /namespace "A" is not a DNS-1123 label/],
  ["spiffe://cluster.local/ns/a.b/sa/b", /namespace "a.b" is not a DNS-1123 label/],
  ["spiffe://cluster.local/ns/a/sa/", /empty service account/],
  ["spiffe://cluster.local/ns/a/sa/B_c", /service account "B_c" is not a DNS-1123 subdomain/],
  ["spiffe://cluster.local/ns/a/sa/b?x=1", /query strings/],
  ["spiffe://cluster.local/ns/a/sa/b%20", /percent-encoding/],
];

for (const [input, message] of bad) {
  test(`rejects ${JSON.stringify(input)}`, () => {
    assert.throws(() => parseSpiffeId(input), (e: Error) => e.name === "PkiError" && message.test(e.message));
    assert.equal(isSpiffeId(input), false);
  });
}

test("errors carry the expected shape as a hint", () => {
  assert.throws(() => parseSpiffeId("spiffe://cluster.local/default/reviews"), /expected spiffe:\/\/<trust-domain>\/ns\/<namespace>\/sa\/<service-account>/);
});
