/**
 * Transparent capture in network namespaces (needs root, iproute2, iptables and the native addon;
 * skips with a message otherwise):
 *
 * 1. The addon against real redirected sockets: inside a namespace, iptables/ip6tables REDIRECT a
 *    test destination to :15001 and readOriginalDst must return the destination the client dialled
 *    (IPv4, IPv6, and IPv4 on a dual-stack listener).
 * 2. End to end: namespace "pod A" holds the client workload `sleep` (P) and ztunnel A, started by
 *    the CLI with `--capture`, with the rules that `waystation ztunnel --print-iptables` prints.
 *    The test's own namespace, across a veth pair, holds ztunnel B and the `echo` app (H) and a
 *    server outside the mesh (X). An unprivileged process in pod A does a plain connect():
 *
 *      sleep (uid 65534) --connect(VIP:80 or H:port)--> [nat OUTPUT REDIRECT] --> ztunnel A :15001
 *        == HBONE mTLS as sleep ==> ztunnel B on H:<hbone> --> echo app on H
 *      sleep --connect(X:port)--> ztunnel A :15001 --> passthrough (uid 0: not captured again) --> X
 */
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { startZtunnel, type Ztunnel } from "@waystation/ztunnel";
import { ztunnelCommand } from "@waystation/ztunnel/cli";
import { echoApp, eventually, freePortOn, recordingSink, testCa } from "./harness.js";
import { NetnsLab, netnsSupport, sh } from "./netns.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "packages/cli/bin/waystation.js");
const probe = join(root, "test/ztunnel/captureProbe.ts");
const id = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;

// Addresses unique to this process (concurrent runs on one machine must not collide): /29 blocks.
const net2 = 200 + (Math.floor(process.pid / 256) % 50), net3 = process.pid % 256;
const addr = (block: number, host: number) => `10.${net2}.${net3}.${block * 8 + host}`;
const VIP = "198.18.0.10";

/** What `waystation ztunnel --print-iptables <args>` prints (the command run in this process). */
async function printIptables(args: readonly string[]): Promise<string> {
  let text = "", code: number | undefined;
  const out = new Writable({ write(chunk: Buffer, _enc, cb) { text += chunk.toString(); cb(); } });
  await ztunnelCommand((c) => (code = c), process.stderr, out).parseAsync(["--print-iptables", ...args], { from: "user" });
  assert.equal(code, 0);
  return text;
}

const WHAT_E2E = "where they exist, this creates a network namespace with a veth pair, applies the rules of "
  + "`waystation ztunnel --print-iptables`, runs a ztunnel there with --capture and proves that a plain connect() "
  + "to a service VIP or pod IP is captured and carried over HBONE to a second ztunnel";

describe("originalDst addon on redirected sockets (network namespace)", () => {
  let lab: NetnsLab | undefined;
  let ns = "";
  let missing: string | undefined;
  let ipv6 = true;

  before(async () => {
    missing = await netnsSupport();
    if (missing) return;
    ipv6 = (await netnsSupport({ ipv6: true })) === undefined;
    lab = await NetnsLab.create("p");
    try {
      ns = await lab.namespace("ns");
      // Both veth ends in the namespace: a link to route the test destinations through.
      const { inNs } = await lab.veth(ns, "10.9.0.2/30", "10.9.0.1/30", ns);
      await lab.exec(ns, ["ip", "route", "add", "default", "dev", inNs]);
      await lab.exec(ns, ["iptables", "-w", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "192.0.2.7", "--dport", "80", "-j", "REDIRECT", "--to-ports", "15001"]);
      if (ipv6) {
        await lab.exec(ns, ["ip", "-6", "addr", "add", "2001:db8:9::2/64", "dev", inNs, "nodad"]);
        await lab.exec(ns, ["ip", "-6", "route", "add", "default", "dev", inNs]);
        await lab.exec(ns, ["ip6tables", "-w", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "2001:db8:77::7", "--dport", "80", "-j", "REDIRECT", "--to-ports", "15001"]);
      }
    } catch (err) {
      await lab.cleanup();
      throw err;
    }
  });
  after(async () => { await lab?.cleanup(); });

  // One probe process runs every case (starting Node with tsx in the namespace costs seconds).
  const cases = {
    v4: ["127.0.0.1", "192.0.2.7", 80], v6: ["::1", "2001:db8:77::7", 80], dualStack: ["::", "192.0.2.7", 80], direct: ["127.0.0.1", "127.0.0.1", 15001],
  } as const;
  type ProbeResult = { result?: { ok: boolean; dst?: unknown; family?: string; kind?: string }; error?: string };
  let results: Promise<Record<string, ProbeResult>> | undefined;
  const probeCase = async (name: keyof typeof cases): Promise<ProbeResult> => {
    const names = (Object.keys(cases) as (keyof typeof cases)[]).filter((n) => ipv6 || n !== "v6");
    results ??= lab!.exec(ns, [process.execPath, "--import", "tsx", probe, JSON.stringify(names.map((n) => cases[n]))])
      .then(({ stdout }) => { const all = JSON.parse(stdout.trim()) as ProbeResult[]; return Object.fromEntries(names.map((n, i) => [n, all[i]!])); });
    return (await results)[name]!;
  };
  const skip = (t: { skip(m: string): void }) => t.skip(`needs ${missing}; where it exists, this REDIRECTs a test address to :15001 inside a namespace and reads SO_ORIGINAL_DST`);

  it("IPv4: returns the address and port the client dialled", async (t) => {
    if (missing) return skip(t);
    const out = await probeCase("v4");
    assert.deepEqual(out.result, { ok: true, dst: { host: "192.0.2.7", port: 80 }, family: "IPv4" }, JSON.stringify(out));
  });

  it("IPv6: returns the address and port the client dialled (IP6T_SO_ORIGINAL_DST)", async (t) => {
    if (missing) return skip(t);
    if (!ipv6) return t.skip("needs ip6tables with a nat table; where it exists, this REDIRECTs an IPv6 address and reads IP6T_SO_ORIGINAL_DST");
    const out = await probeCase("v6");
    assert.deepEqual(out.result, { ok: true, dst: { host: "2001:db8:77::7", port: 80 }, family: "IPv6" }, JSON.stringify(out));
  });

  it("IPv4 client on a dual-stack listener: reads the IPv4 NAT record", async (t) => {
    if (missing) return skip(t);
    const out = await probeCase("dualStack");
    assert.deepEqual(out.result, { ok: true, dst: { host: "192.0.2.7", port: 80 }, family: "IPv4" }, JSON.stringify(out));
  });

  it("a connection straight to the listener is not redirected", async (t) => {
    if (missing) return skip(t);
    const out = await probeCase("direct");
    assert.equal(out.result?.ok, false, JSON.stringify(out));
    assert.equal(out.result?.kind, "not-redirected");
  });
});

describe("transparent capture end to end (network namespace, iptables REDIRECT, HBONE)", () => {
  let missing: string | undefined;
  let lab: NetnsLab | undefined;
  let tmp = "";
  let b: Ztunnel | undefined;
  let echo: Awaited<ReturnType<typeof echoApp>> | undefined;
  let outside: Awaited<ReturnType<typeof echoApp>> | undefined;
  let ca: Awaited<ReturnType<typeof testCa>>;
  let nsA = "";
  let aLog = "";
  const logB = recordingSink();
  const H = addr(1, 1), P = addr(1, 2), X = addr(1, 3);

  before(async () => {
    missing = await netnsSupport();
    if (missing) return;
    lab = await NetnsLab.create("e");
    try {
      nsA = await lab.namespace("ns");
      const { host } = await lab.veth(nsA, `${P}/29`, `${H}/29`);
      await sh(["ip", "addr", "add", `${X}/32`, "dev", host]);
      await lab.exec(nsA, ["ip", "route", "add", "default", "via", H]);

      ca = await testCa();
      echo = await echoApp(H);
      outside = await echoApp(X);
      const hbonePort = await freePortOn([H]);
      const mesh = `
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, addresses: [${P}], node: node-a }
  - name: echo
    namespace: default
    serviceAccount: echo
    addresses: [${H}]
    node: node-b
    services: { default/echo.default.svc.cluster.local: [{ servicePort: 80, targetPort: ${echo.port} }] }
services:
  - { name: echo, namespace: default, hostname: echo.default.svc.cluster.local, vips: [${VIP}], ports: [{ servicePort: 80, targetPort: ${echo.port} }] }
`;
      b = await startZtunnel({
        node: "node-b", config: { kind: "local", text: mesh, source: "mesh.yaml" }, certificates: ca.source, trustBundlePem: ca.bundle,
        ports: { hbone: hbonePort, socks5: false, metrics: false, readiness: false, admin: false }, accessLog: logB.sink,
      });

      // Ztunnel A's files: the mesh and sleep's certificate in the --certs-dir layout.
      tmp = await mkdtemp(join(tmpdir(), "ws-capture-"));
      const sleepCert = await ca.source.fetch(id("sleep"));
      await mkdir(join(tmp, "certs/default/sleep"), { recursive: true });
      await writeFile(join(tmp, "certs/default/sleep/cert-chain.pem"), sleepCert.certChain.join(""));
      await writeFile(join(tmp, "certs/default/sleep/key.pem"), sleepCert.privateKeyPem);
      await writeFile(join(tmp, "certs/root-cert.pem"), ca.bundle);
      await writeFile(join(tmp, "mesh.yaml"), mesh);

      // The rules exactly as the CLI prints them; the ztunnel runs as root (uid 0), the app does not.
      await lab.exec(nsA, ["sh"], await printIptables(["--iptables-exclude-uid", "0"]));

      const a = lab.spawn(nsA, [process.execPath, cli, "ztunnel", "--node", "node-a", "--local-config", join(tmp, "mesh.yaml"),
        "--certs-dir", join(tmp, "certs"), "--capture", "--hbone-port", String(hbonePort), "--no-socks5-port",
        "--metrics-port", "0", "--readiness-port", "0", "--admin-port", "0"], { cwd: root });
      a.stdout!.on("data", (d: Buffer) => (aLog += d.toString()));
      a.stderr!.on("data", (d: Buffer) => (aLog += d.toString()));
      await eventually(() => /capture 127\.0\.0\.1:15001/.test(aLog) || a.exitCode !== null, 30_000, () => `ztunnel A start; its output: ${aLog}`);
      assert.equal(a.exitCode, null, `ztunnel A exited: ${aLog}`);
    } catch (err) {
      await teardown();
      throw err;
    }
  });

  async function teardown(): Promise<void> {
    await lab?.cleanup();
    await b?.close();
    await echo?.close();
    await outside?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
  after(teardown);

  /** An unprivileged app in pod A: connect, send, half-close, read until the echo's FIN. */
  const appConnect = async (host: string, port: number): Promise<{ data?: string; error?: string }> => {
    const code = `
      process.setgid(65534); process.setuid(65534);
      const s = require("node:net").connect({ host: ${JSON.stringify(host)}, port: ${port}, allowHalfOpen: true });
      let data = "";
      const out = (o) => { console.log(JSON.stringify(o)); process.exit(0); };
      s.setEncoding("latin1");
      s.on("connect", () => s.end("hello through capture"));
      s.on("data", (d) => (data += d));
      s.on("end", () => out({ data }));
      s.on("error", (e) => out({ error: e.message, data }));
      setTimeout(() => out({ error: "timeout", data }), 10000).unref();`;
    const { stdout } = await lab!.exec(nsA, [process.execPath, "-e", code]);
    return JSON.parse(stdout.trim()) as { data?: string; error?: string };
  };
  const skip = (t: { skip(m: string): void }) => t.skip(`needs ${missing}; ${WHAT_E2E}`);
  const inboundRecords = () => logB.records.filter((r) => r.record.direction === "inbound" && r.message === "connection complete");

  it("a connect() to a service VIP is captured and carried over HBONE with the source's identity", async (t) => {
    if (missing) return skip(t);
    const before = inboundRecords().length;
    const res = await appConnect(VIP, 80);
    assert.deepEqual(res, { data: "hello through capture<fin>" }, aLog);
    // Nothing listens on the VIP: the bytes came back through ztunnel B's inbound, which logged the mTLS peer.
    await eventually(() => inboundRecords().length > before, 5000, "ztunnel B's access record");
    const rec = inboundRecords().at(-1)!.record;
    assert.equal(rec["src.identity"], id("sleep"));
    assert.equal(rec["dst.hbone_addr"], `${H}:${echo!.port}`);
    assert.equal(rec["src.addr"]?.toString().split(":")[0], P);
    assert.equal(echo!.peers.at(-1), H, "the app is dialled by ztunnel B, not by the client");
  });

  it("a connect() to a pod IP is captured too", async (t) => {
    if (missing) return skip(t);
    const before = inboundRecords().length;
    const res = await appConnect(H, echo!.port);
    assert.deepEqual(res, { data: "hello through capture<fin>" }, aLog);
    await eventually(() => inboundRecords().length > before, 5000, "ztunnel B's access record");
    assert.equal(inboundRecords().at(-1)!.record["src.identity"], id("sleep"));
    assert.equal(echo!.peers.at(-1), H);
  });

  it("a destination outside the mesh is passed through, and ztunnel A's own dial is not captured again", async (t) => {
    if (missing) return skip(t);
    const before = inboundRecords().length;
    const res = await appConnect(X, outside!.port);
    assert.deepEqual(res, { data: "hello through capture<fin>" }, aLog);
    assert.equal(outside!.peers.at(-1), P, "dialled from pod A's namespace by ztunnel A");
    assert.equal(inboundRecords().length, before, "no HBONE for a destination outside the mesh");
    assert.match(aLog, new RegExp(`"dst.addr":"${X.replace(/\./g, "\\.")}:${outside!.port}"`), "ztunnel A logged the passthrough flow");
  });

  it("the printed cleanup removes every rule it added", async (t) => {
    if (missing) return skip(t);
    await lab!.exec(nsA, ["sh"], await printIptables(["cleanup"]));
    const { stdout } = await lab!.exec(nsA, ["iptables", "-w", "-t", "nat", "-S"]);
    assert.doesNotMatch(stdout, /WAYSTATION/);
  });
});
