import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileRe2, isAddress, isEmail, isHeaderName, isHeaderValue, isHostname, isIPv4, isIPv6, isUri, isUriRef, isUuid } from "./formats.js";

const table: [string, (s: string) => boolean, string[], string[]][] = [
  ["hostname", isHostname,
    ["example.com", "reviews.default.svc.cluster.local.", "a", "xn--bcher-kva.example", "a1-b2.c3"],
    ["", "-a.com", "a-.com", "a..b", "a_b.com", `${"a".repeat(64)}.com`, `${"a.".repeat(127)}a`]],
  ["ipv4", isIPv4, ["0.0.0.0", "10.0.0.1", "255.255.255.255"], ["256.0.0.1", "1.2.3", "01.2.3.4", "1.2.3.4.5", ""]],
  ["ipv6", isIPv6,
    ["::", "::1", "fd00::1", "2001:db8:0:0:0:0:2:1", "::ffff:10.0.0.1", "1:2:3:4:5:6:7::"],
    ["1::2::3", "1:2:3:4:5:6:7:8:9", ":::", "12345::", "fe80::1%eth0", "1:2:3:4:5:6:7", "::ffff:10.0.0.256"]],
  ["address", isAddress, ["example.com", "10.0.0.1", "::1"], ["a b", "[::1]"]],
  ["email", isEmail, ["ops@example.com", "a.b+c@d.example"], ["ops.example.com", "a@", "@b.com", "a..b@c.com", "a@b_c.com"]],
  ["uri", isUri, ["https://example.com/a?b=c#d", "spiffe://cluster.local/ns/a/sa/b", "urn:isbn:123", "http://[::1]:8080/"],
    ["/relative", "1http://x", "http://exa mple.com", "http://[zz]/", "%zz://x"]],
  ["uri_ref", isUriRef, ["/a/b?c", "a/b", "", "https://example.com", "%41"], ["a b", "%zz", "http://[::1/"]],
  ["uuid", isUuid, ["123e4567-e89b-12d3-a456-426614174000"], ["123e4567e89b12d3a456426614174000", "123e4567-e89b-12d3-a456-42661417400g"]],
  ["strict header name", (s) => isHeaderName(s, true), [":authority", "x-request-id", "X_Y~!#$%&'*+.^`|"], ["", "a b", "a:b", "::a", "é", "a,b"]],
  ["loose header name", (s) => isHeaderName(s, false), ["a b", "", "é"], ["a\nb", "a\rb", "a\u0000b"]],
  ["strict header value", (s) => isHeaderValue(s, true), ["", "text/html; q=0.9", "a\tb", "é"], ["a\nb", "a\u0001b", "a\u007fb"]],
];

describe("PGV well-known string formats", () => {
  for (const [name, test, good, bad] of table) {
    it(name, () => {
      for (const s of good) assert.ok(test(s), `${name} should accept ${JSON.stringify(s)}`);
      for (const s of bad) assert.ok(!test(s), `${name} should reject ${JSON.stringify(s)}`);
    });
  }
});

describe("compileRe2", () => {
  it("compiles Envoy's patterns", () => {
    assert.ok(compileRe2("^[0-9a-zA-Z_\\-\\./~:]+$")?.test("envoy.filters/a~b:c"));
    assert.ok(compileRe2("^[^?#]+[^?#/]$")?.test("/a/b"));
    assert.ok(!compileRe2("^[^?#]+[^?#/]$")?.test("/a/"));
    assert.ok(compileRe2("^$|^.*\\.mmdb$")?.test(""));
  });
  it("rewrites RE2-only syntax", () => {
    assert.equal(compileRe2("(?P<word>[a-z]+)")?.exec("abc")?.groups?.["word"], "abc");
    assert.ok(compileRe2("(?i)^abc$")?.test("ABC"));
    assert.ok(compileRe2("^a\\z")?.test("a"));
    assert.ok(!compileRe2("^a\\z")?.test("a\n"));
  });
  it("returns undefined for a pattern that does not compile", () => {
    assert.equal(compileRe2("(unclosed"), undefined);
  });
});
