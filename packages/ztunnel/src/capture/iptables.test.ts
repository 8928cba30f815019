import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CAPTURE_CHAIN, captureRules, familiesFor, rulesScript } from "./iptables.js";

const lines = (r: ReturnType<typeof captureRules>, which: "setup" | "cleanup") => {
  assert.ok(r.ok, JSON.stringify(r));
  return r[which].map((c) => c.argv.join(" "));
};

describe("captureRules", () => {
  it("redirects all TCP to the capture port, after the loopback, ztunnel-uid and mark exemptions, hooked last", () => {
    assert.deepEqual(lines(captureRules({ excludeUids: [0, 1337] }), "setup"), [
      `iptables -w -t nat -N ${CAPTURE_CHAIN}`,
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -o lo -j RETURN`,
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -m owner --uid-owner 0 -j RETURN`,
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -m owner --uid-owner 1337 -j RETURN`,
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -m mark --mark 0x539/0xfff -j RETURN`,
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -p tcp -j REDIRECT --to-ports 15001`,
      `iptables -w -t nat -A OUTPUT -p tcp -j ${CAPTURE_CHAIN}`,
    ]);
  });

  it("cleanup undoes setup: unhook, flush, delete", () => {
    assert.deepEqual(lines(captureRules({ excludeUids: [0] }), "cleanup"), [
      `iptables -w -t nat -D OUTPUT -p tcp -j ${CAPTURE_CHAIN}`,
      `iptables -w -t nat -F ${CAPTURE_CHAIN}`,
      `iptables -w -t nat -X ${CAPTURE_CHAIN}`,
    ]);
  });

  it("limits capture to the given blocks, each to its own family, and skips a family with none", () => {
    const r = captureRules({ excludeUids: [0], capturePort: 15111, cidrs: ["10.96.0.0/12", "fd00::/8", "10.244.1.7"], families: ["ipv6", "ipv4"] });
    const redirects = lines(r, "setup").filter((l) => l.includes("REDIRECT"));
    assert.deepEqual(redirects, [
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -p tcp -d 10.96.0.0/12 -j REDIRECT --to-ports 15111`,
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -p tcp -d 10.244.1.7/32 -j REDIRECT --to-ports 15111`,
      `ip6tables -w -t nat -A ${CAPTURE_CHAIN} -p tcp -d fd00::/8 -j REDIRECT --to-ports 15111`,
    ]);
    const v4only = captureRules({ excludeUids: [0], cidrs: ["10.96.0.0/12"], families: ["ipv4", "ipv6"] });
    assert.ok(lines(v4only, "setup").every((l) => l.startsWith("iptables ")));
  });

  it("captures only the workloads' users when given, for each block", () => {
    const r = captureRules({ excludeUids: [0], workloadUids: [1000, 1001], cidrs: ["10.96.0.0/12"] });
    assert.deepEqual(lines(r, "setup").filter((l) => l.includes("REDIRECT")), [
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -p tcp -m owner --uid-owner 1000 -d 10.96.0.0/12 -j REDIRECT --to-ports 15001`,
      `iptables -w -t nat -A ${CAPTURE_CHAIN} -p tcp -m owner --uid-owner 1001 -d 10.96.0.0/12 -j REDIRECT --to-ports 15001`,
    ]);
    const clash = captureRules({ excludeUids: [0], workloadUids: [0] });
    assert.deepEqual(!clash.ok && clash.errors, ["workloadUids[0]: uid 0 is also excluded (the ztunnel's)"]);
  });

  it("refuses bad options with a message per field", () => {
    const r = captureRules({ excludeUids: [], capturePort: 70000, cidrs: ["10.0.0.0/33", "bogus"] });
    assert.equal(r.ok, false);
    assert.deepEqual(!r.ok && r.errors, [
      "capturePort: 70000 is not a port (1-65535)",
      "excludeUids: give the ztunnel's uid, or its own connections loop back into the capture port",
      `cidrs[0]: "10.0.0.0/33" is not an address block (10.96.0.0/12, fd00::/8)`,
      `cidrs[1]: "bogus" is not an address block (10.96.0.0/12, fd00::/8)`,
    ]);
  });

  it("families follow the capture listener's address", () => {
    assert.deepEqual(familiesFor("127.0.0.1"), ["ipv4"]);
    assert.deepEqual(familiesFor("::"), ["ipv4", "ipv6"]);
    assert.deepEqual(familiesFor("::1"), ["ipv6"]);
  });
});

describe("rulesScript", () => {
  const rules = captureRules({ excludeUids: [0] });
  assert.ok(rules.ok);

  it("setup first removes earlier rules tolerantly, then adds strictly", () => {
    const cmds = rulesScript(rules, "setup").split("\n").filter((l) => l.startsWith("iptables"));
    assert.equal(cmds.length, rules.cleanup.length + rules.setup.length);
    assert.ok(cmds.slice(0, rules.cleanup.length).every((l) => l.endsWith("2>/dev/null || true")));
    assert.ok(cmds.slice(rules.cleanup.length).every((l) => !l.includes("|| true")));
    assert.match(rulesScript(rules, "setup"), /^#!\/bin\/sh\n(#.*\n)*set -e\n/);
  });

  it("cleanup tolerates rules that are already gone", () => {
    const cmds = rulesScript(rules, "cleanup").split("\n").filter((l) => l.startsWith("iptables"));
    assert.deepEqual(cmds, rules.cleanup.map((c) => `${c.argv.join(" ")} 2>/dev/null || true`));
  });
});
