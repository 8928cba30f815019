import { test } from "node:test";
import assert from "node:assert/strict";
import { bytesToIp, cidrContains, ipToBytes, normalizeIp, parseCidr, parseHostPort, formatHostPort } from "./ip.js";

test("IP text <-> bytes round-trips, canonical IPv6, v4-mapped becomes v4", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", "10.0.0.1"], ["::1", "::1"], ["2001:db8:0:0:0:0:0:1", "2001:db8::1"], ["fd00::", "fd00::"],
    ["::ffff:127.0.0.2", "127.0.0.2"], ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [input, want] of cases) assert.equal(normalizeIp(input), want, input);
  assert.equal(bytesToIp(new Uint8Array([1, 2, 3])), undefined);
  assert.equal(ipToBytes("not-an-ip"), undefined);
});

test("host:port parsing and formatting", () => {
  assert.deepEqual(parseHostPort("10.0.0.1:80"), { host: "10.0.0.1", port: 80 });
  assert.deepEqual(parseHostPort("[fd00::1]:15008"), { host: "fd00::1", port: 15008 });
  assert.deepEqual(parseHostPort("Echo.default.svc.cluster.local:80"), { host: "echo.default.svc.cluster.local", port: 80 });
  for (const bad of ["10.0.0.1", "10.0.0.1:0", "10.0.0.1:70000", "fd00::1:80", "[host]:80", ":80"]) assert.equal(parseHostPort(bad), undefined, bad);
  assert.equal(formatHostPort("fd00::1", 80), "[fd00::1]:80");
});

test("CIDR containment", () => {
  const cases: [string, string, boolean][] = [
    ["10.0.0.0/8", "10.1.2.3", true], ["10.0.0.0/8", "11.0.0.1", false], ["10.0.0.5", "10.0.0.5", true], ["0.0.0.0/0", "1.2.3.4", true],
    ["10.0.0.0/31", "10.0.0.1", true], ["10.0.0.0/31", "10.0.0.2", false], ["fd00::/8", "fd12::1", true], ["fd00::/8", "10.0.0.1", false],
    ["::ffff:10.0.0.0/104", "10.0.0.9", true],
  ];
  for (const [c, ip, want] of cases) assert.equal(cidrContains(parseCidr(c)!, ip), want, `${c} ∋ ${ip}`);
  for (const bad of ["10.0.0.0/33", "10.0.0/8", "x/1"]) assert.equal(parseCidr(bad), undefined, bad);
});
