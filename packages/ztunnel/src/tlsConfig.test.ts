import { test } from "node:test";
import assert from "node:assert/strict";
import { checkClientIdentity, checkServerIdentity, sanIdentity } from "./tlsConfig.js";

test("TLS identity checks: SAN parsing, the server's trust-domain rule, the client's expected identities", () => {
  assert.equal(sanIdentity("DNS:x, URI:spiffe://cluster.local/ns/a/sa/b"), "spiffe://cluster.local/ns/a/sa/b");
  assert.equal(sanIdentity("DNS:x, URI:https://example.com"), undefined);
  assert.equal(checkClientIdentity("spiffe://cluster.local/ns/a/sa/b", "cluster.local"), undefined);
  assert.match(checkClientIdentity("spiffe://other.td/ns/a/sa/b", "cluster.local") ?? "", /trust domain "other.td", expected "cluster.local"/);
  assert.match(checkClientIdentity(undefined, "cluster.local") ?? "", /no SPIFFE URI SAN/);
  assert.match(checkClientIdentity("spiffe://cluster.local/workload", "cluster.local") ?? "", /is not spiffe:/);
  assert.equal(checkServerIdentity("spiffe://td/ns/a/sa/w", ["spiffe://td/ns/a/sa/x", "spiffe://td/ns/a/sa/w"]), undefined);
  assert.equal(checkServerIdentity("spiffe://td/ns/a/sa/b", ["spiffe://td/ns/a/sa/c"]), "peer certificate SAN is spiffe://td/ns/a/sa/b, expected spiffe://td/ns/a/sa/c");
});
