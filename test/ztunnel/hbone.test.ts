/**
 * Two ztunnels in one process, on loopback aliases standing for pod IPs:
 *
 *   client (127.10.0.2 "sleep") -> explicit/SOCKS5 listener on ztunnel A (node-a)
 *     == HBONE mTLS (sleep's cert) ==> ztunnel B (node-b) on 127.10.0.3:<hbone> (echo's cert) -> echo app
 *
 * plus a fake waypoint (127.10.0.9) for a service bound to it. Certificates come from a test CA.
 */
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { after, before, describe, it } from "node:test";
import { startZtunnel, type Ztunnel } from "@waystation/ztunnel";
import { connect, echoApp, eventually, fakeWaypoint, freePortOn, httpGet, recordingSink, socks5, testCa } from "./harness.js";

const SLEEP = "127.10.0.2", INTRUDER = "127.10.0.4", ECHO = "127.10.0.3", ECHO2 = "127.10.0.6", WP = "127.10.0.9";
const ECHO_VIP = "127.10.1.10", REVIEWS_VIP = "127.10.1.20";
const id = (sa: string) => `spiffe://cluster.local/ns/default/sa/${sa}`;

/** The mesh as a ztunnel reads it; `view` lets A and B disagree about echo-2's identity. */
function meshYaml(o: { echoPort: number; wpPort: number; echo2Sa: string }): string {
  return `
workloads:
  - { name: sleep, namespace: default, serviceAccount: sleep, addresses: [${SLEEP}], node: node-a }
  - { name: intruder, namespace: default, serviceAccount: intruder, addresses: [${INTRUDER}], node: node-a }
  - name: echo
    namespace: default
    serviceAccount: echo
    addresses: [${ECHO}]
    node: node-b
    services: { default/echo.default.svc.cluster.local: [{ servicePort: 80, targetPort: ${o.echoPort} }] }
  - { name: echo-2, namespace: default, serviceAccount: ${o.echo2Sa}, addresses: [${ECHO2}], node: node-b }
  - name: waypoint
    namespace: default
    serviceAccount: waypoint
    addresses: [${WP}]
    node: node-wp
    services: { default/waypoint.default.svc.cluster.local: [{ servicePort: 15008, targetPort: 15008 }] }
services:
  - { name: echo, namespace: default, hostname: echo.default.svc.cluster.local, vips: [${ECHO_VIP}], ports: [{ servicePort: 80, targetPort: ${o.echoPort} }] }
  - { name: waypoint, namespace: default, hostname: waypoint.default.svc.cluster.local, vips: [127.10.1.99], ports: [{ servicePort: 15008, targetPort: 15008 }] }
  - name: reviews
    namespace: default
    hostname: reviews.default.svc.cluster.local
    vips: [${REVIEWS_VIP}]
    ports: [{ servicePort: 9080, targetPort: 9080 }]
    waypoint: { hostname: waypoint.default.svc.cluster.local, namespace: default, hbonePort: ${o.wpPort} }
policies:
  - name: deny-intruder
    namespace: default
    scope: Namespace
    action: Deny
    rules: [{ clauses: [{ matches: [{ principals: [{ exact: cluster.local/ns/default/sa/intruder }] }] }] }]
`;
}

describe("ztunnel HBONE end to end", () => {
  let a: Ztunnel, b: Ztunnel;
  let echo: Awaited<ReturnType<typeof echoApp>>;
  let wp: Awaited<ReturnType<typeof fakeWaypoint>>;
  let ca: Awaited<ReturnType<typeof testCa>>;
  const logA = recordingSink(), logB = recordingSink();
  let hbonePort = 0;
  const explicit = { sleep: { host: "127.0.0.1", port: 0 }, intruder: { host: "127.0.0.1", port: 0 }, wrongId: { host: "127.0.0.1", port: 0 } };

  before(async () => {
    ca = await testCa();
    echo = await echoApp(ECHO);
    wp = await fakeWaypoint(WP, await ca.source.fetch(id("waypoint")), ca.bundle);
    hbonePort = await freePortOn([ECHO, SLEEP, INTRUDER, ECHO2]);
    const common = {
      certificates: ca.source, trustBundlePem: ca.bundle, pick: () => 0,
      ports: { hbone: hbonePort, socks5: 0, metrics: 0, readiness: 0, admin: 0 },
      hosts: { metrics: "127.0.0.1", readiness: "127.0.0.1" },
      pool: { idleTimeoutMs: 60_000 },
      ...(process.env.ZT_DEBUG ? { logger: debugLogger } : {}),
    };
    b = await startZtunnel({
      ...common, node: "node-b", accessLog: process.env.ZT_DEBUG ? (l, m, r) => { console.error("B", l, m, r); logB.sink(l, m, r); } : logB.sink,
      config: { kind: "local", text: meshYaml({ echoPort: echo.port, wpPort: wp.port, echo2Sa: "other" }), source: "b.yaml" },
      plaintextListeners: [{ listen: { host: ECHO, port: 0 }, target: { host: ECHO, port: echo.port } }],
    });
    a = await startZtunnel({
      ...common, node: "node-a", accessLog: process.env.ZT_DEBUG ? (l, m, r) => { console.error("A", l, m, r); logA.sink(l, m, r); } : logA.sink,
      config: { kind: "local", text: meshYaml({ echoPort: echo.port, wpPort: wp.port, echo2Sa: "echo" }), source: "a.yaml" },
      explicitListeners: [
        { source: "default/sleep", listen: explicit.sleep, target: { host: ECHO, port: echo.port } },
        { source: "default/intruder", listen: explicit.intruder, target: { host: ECHO, port: echo.port } },
        { source: "default/sleep", listen: explicit.wrongId, target: { host: ECHO2, port: echo.port } },
      ],
    });
    [explicit.sleep, explicit.intruder, explicit.wrongId] = a.addresses.explicit as [typeof explicit.sleep, typeof explicit.sleep, typeof explicit.sleep];
  });

  after(async () => {
    await a?.close();
    await b?.close();
    await echo?.close();
    await wp?.close();
  });

  it("is ready once its local workloads have certificates and listeners", async () => {
    assert.equal(a.ready() && b.ready(), true);
    assert.deepEqual([...b.hboneServers.keys()].sort(), [ECHO, ECHO2]);
    assert.deepEqual([...a.hboneServers.keys()].sort(), [SLEEP, INTRUDER]);
    assert.equal((await httpGet(b.addresses.readiness!, "/healthz/ready")).status, 200);
    const dump = JSON.parse((await httpGet(a.addresses.admin!, "/config_dump")).body) as { node: string; workloads: unknown[]; certificates: { identity: string }[] };
    assert.equal(dump.node, "node-a");
    assert.equal(dump.workloads.length, 5);
    assert.deepEqual(dump.certificates.map((c) => c.identity), [id("intruder"), id("sleep")]);
  });

  it("carries bytes over HBONE; B sees sleep's identity and the forwarded client address", async () => {
    const c = await connect(explicit.sleep, SLEEP);
    const clientAddr = `${SLEEP}:${c.socket.localPort}`;
    await c.roundTrip("hello over hbone");
    c.socket.end();
    await c.until(() => c.ended, 5000, "end");
    assert.equal(c.data, "hello over hbone<fin>");
    await c.closed;
    await eventually(() => logB.records.some((r) => r.message === "connection complete" && r.record["src.addr"] === clientAddr), 3000, "B access log");
    const rec = logB.records.find((r) => r.record["src.addr"] === clientAddr)!.record;
    assert.equal(rec["src.identity"], id("sleep"), "peer identity seen by B");
    assert.equal(rec["dst.hbone_addr"], `${ECHO}:${echo.port}`);
    assert.equal(rec["dst.workload"], "echo");
    assert.equal(rec["dst.service"], "echo.default.svc.cluster.local", "guessed from the target port");
    assert.equal(rec.direction, "inbound");
    assert.equal(rec.bytes_sent, "hello over hbone".length);
    assert.equal(rec.bytes_recv, "hello over hbone<fin>".length);
    await eventually(() => logA.records.some((r) => r.record["src.addr"] === clientAddr), 3000, "A access log");
    const out = logA.records.find((r) => r.record["src.addr"] === clientAddr)!.record;
    assert.equal(out["dst.identity"], id("echo"));
    assert.equal(out.direction, "outbound");
  });

  it("reports Istio's TCP metrics with reporter source on A and destination on B", async () => {
    const mb = (await httpGet(b.addresses.metrics!, "/metrics")).body;
    const ma = (await httpGet(a.addresses.metrics!, "/stats/prometheus")).body;
    const line = (text: string, name: string, ...labels: string[]) => text.split("\n").find((l) => l.startsWith(name) && labels.every((x) => l.includes(x)));
    const opened = line(mb, "istio_tcp_connections_opened_total", 'reporter="destination"', `source_principal="${id("sleep")}"`, 'destination_workload="echo"',
      'connection_security_policy="mutual_tls"', 'source_workload="sleep"', 'destination_service="echo.default.svc.cluster.local"', 'request_protocol="tcp"');
    assert.ok(opened, `B opened counter:\n${mb}`);
    assert.ok(line(mb, "istio_tcp_received_bytes_total", 'reporter="destination"', 'response_flags="-"'));
    assert.ok(line(ma, "istio_tcp_sent_bytes_total", 'reporter="source"', `destination_principal="${id("echo")}"`), `A sent bytes:\n${ma}`);
    assert.ok(line(ma, "istio_tcp_connections_closed_total", 'reporter="source"'));
  });

  it("propagates half-close both ways (FIN <-> END_STREAM)", async () => {
    const c = await connect(explicit.sleep, SLEEP);
    await c.roundTrip("ping");
    c.socket.end();
    // The app saw our FIN (it answers "<fin>"), and its FIN reached us while our side was closed.
    await c.until(() => c.ended, 5000, "server FIN");
    assert.equal(c.data, "ping<fin>");
  });

  it("pools: two concurrent flows share one HTTP/2 session", async () => {
    const before = b.hboneServers.get(ECHO)!.stats;
    const [tls0, streams0] = [before.tlsConnections, before.streams];
    await eventually(() => a.pool.stats().streams === 0, 3000, "earlier flows released");
    const c1 = await connect(explicit.sleep, SLEEP);
    const c2 = await connect(explicit.sleep, SLEEP);
    await Promise.all([c1.roundTrip("one"), c2.roundTrip("two")]);
    const s = a.pool.stats();
    const key = Object.keys(s.byKey).find((k) => k.includes(`${ECHO}:${hbonePort}`))!;
    assert.deepEqual(s.byKey[key], { sessions: 1, streams: 2 });
    assert.ok(b.hboneServers.get(ECHO)!.stats.tlsConnections - tls0 <= 1, "at most one new TLS connection for both flows");
    assert.equal(b.hboneServers.get(ECHO)!.stats.streams - streams0, 2);
    c1.socket.destroy();
    c2.socket.destroy();
  });

  it("clients that leave during setup release their stream slots and flows", async () => {
    await eventually(() => a.connections.counts().outbound === 0 && a.pool.stats().streams === 0, 3000, "earlier flows finished");
    const logged = logA.records.length;
    await Promise.all(Array.from({ length: 5 }, async () => (await connect(explicit.sleep, SLEEP)).socket.resetAndDestroy()));
    await eventually(() => logA.records.length - logged >= 5, 3000,
      () => `five flows finished: ${JSON.stringify([logA.records.slice(logged), a.pool.stats(), a.connections.counts(), b.connections.counts()])}`);
    await eventually(() => a.pool.stats().streams === 0 && a.connections.counts().outbound === 0 && b.connections.counts().inbound === 0,
      3000, () => `nothing left open: ${JSON.stringify([a.pool.stats().streams, a.connections.counts(), b.connections.counts()])}`);
  });

  it("a new session to the same peer resumes TLS 1.3 and still carries the client identity", async () => {
    const server = b.hboneServers.get(ECHO)!;
    const [tls0, resumed0] = [server.stats.tlsConnections, server.stats.resumed];
    a.pool.drainIdentity(id("sleep")); // as after a GOAWAY: the next flow opens a new session
    const c = await connect(explicit.sleep, SLEEP);
    const clientAddr = `${SLEEP}:${c.socket.localPort}`;
    await c.roundTrip("resumed");
    c.socket.end();
    await c.until(() => c.ended);
    assert.equal(server.stats.tlsConnections - tls0, 1);
    assert.equal(server.stats.resumed - resumed0, 1, "the session ticket of the first session was used");
    await eventually(() => logB.records.some((r) => r.record["src.addr"] === clientAddr), 3000, "B access log");
    assert.equal(logB.records.find((r) => r.record["src.addr"] === clientAddr)!.record["src.identity"], id("sleep"));
  });

  it("SOCKS5: a service VIP goes to an endpoint, a hostname resolves to the service", async () => {
    for (const host of [ECHO_VIP, "echo.default.svc.cluster.local"]) {
      const { client, rep } = await socks5(a.addresses.socks5!, host, 80, SLEEP);
      assert.equal(rep, 0, host);
      await client.roundTrip(`via ${host}`);
      client.socket.end();
      await client.until(() => client.ended);
      assert.equal(client.data, `via ${host}<fin>`);
    }
    const unknown = await socks5(a.addresses.socks5!, "nope.example.com", 80, SLEEP);
    assert.equal(unknown.rep, 2, "not allowed by ruleset");
    const noSource = await socks5(a.addresses.socks5!, ECHO_VIP, 80, "127.10.0.77");
    assert.equal(noSource.rep, 2, "a client that is no local workload is refused");
  });

  it("L4 DENY: B answers 401 and the client connection is closed", async () => {
    const c = await connect(explicit.intruder, INTRUDER);
    c.socket.write("let me in");
    await c.gone();
    assert.equal(c.data, "");
    await eventually(() => logA.records.some((r) => String(r.record.error ?? "").includes("answered 401")), 3000, "A logs the 401");
    const denied = logB.records.find((r) => r.record["src.identity"] === id("intruder"))!;
    assert.match(String(denied.record.error), /DENY policy default\/deny-intruder/);
    const mb = (await httpGet(b.addresses.metrics!, "/metrics")).body;
    assert.ok(mb.split("\n").some((l) => l.startsWith("istio_tcp_connections_closed_total") && l.includes('response_flags="DENY"') && l.includes("intruder")));
    const { rep } = await socks5(a.addresses.socks5!, ECHO, echo.port, INTRUDER);
    assert.equal(rep, 2, "SOCKS5 reports a policy denial as 'not allowed'");
  });

  it("a policy change closes live flows it now denies", async () => {
    const c = await connect(explicit.sleep, SLEEP);
    await c.roundTrip("before");
    b.state.upsertPolicy({
      name: "deny-sleep", namespace: "default", scope: "Namespace", action: "Deny",
      rules: [{ clauses: [{ matches: [{ ...emptyMatch(), principals: [{ exact: "cluster.local/ns/default/sa/sleep" }] }] }] }],
    });
    try {
      await c.gone();
      assert.ok(logB.records.some((r) => String(r.record.error ?? "").includes("AuthorizationPolicyLateRejection")));
    } finally {
      b.state.removePolicy("default/deny-sleep");
    }
  });

  it("refuses a peer whose certificate is not the expected identity", async () => {
    const c = await connect(explicit.wrongId, SLEEP);
    c.socket.write("x");
    await c.gone();
    assert.equal(c.data, "");
    await eventually(() => logA.records.some((r) => /peer certificate SAN is .*sa\/other, expected .*sa\/echo/.test(String(r.record.error ?? ""))), 3000, "SAN error");
  });

  it("the HBONE server refuses plain TCP, ALPN http/1.1, no client certificate, and a foreign CA", async () => {
    const server = b.hboneServers.get(ECHO)!;
    const rejected0 = server.stats.rejected;
    // Plain TCP: not TLS, the handshake fails and the socket is closed.
    const plain = net.connect({ host: ECHO, port: hbonePort });
    plain.on("error", () => {});
    plain.write("CONNECT 127.10.0.3:80 HTTP/1.1\r\n\r\n");
    await new Promise((r) => plain.once("close", r));
    const sleepCert = await ca.source.fetch(id("sleep"));
    const attempt = (o: tls.ConnectionOptions) => new Promise<string>((resolve) => {
      const s = tls.connect({ host: ECHO, port: hbonePort, ca: ca.bundle, checkServerIdentity: () => undefined, ...o });
      // TLS 1.3: the client finishes first; the server's verdict on our certificate comes as an alert.
      s.once("secureConnect", () => { s.once("close", () => resolve(`closed after handshake (alpn ${String(s.alpnProtocol)})`)); s.write("x"); });
      s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    const withCert = { key: sleepCert.privateKeyPem, cert: sleepCert.certChain.join("") };
    assert.match(await attempt({ ...withCert, ALPNProtocols: ["http/1.1"] }), /NO_APPLICATION_PROTOCOL/);
    assert.match(await attempt({ ALPNProtocols: ["h2"] }), /CERTIFICATE_REQUIRED/);
    const foreign = await testCa();
    const stranger = await foreign.source.fetch(id("sleep"));
    // Node verifies the client chain after the handshake and closes without an alert.
    assert.match(await attempt({ key: stranger.privateKeyPem, cert: stranger.certChain.join(""), ALPNProtocols: ["h2"] }), /UNKNOWN_CA|closed after handshake/);
    await eventually(() => server.stats.rejected - rejected0 >= 4, 3000, "four refusals");
  });

  it("a waypoint-bound service goes to the waypoint with authority VIP:port", async () => {
    const { client, rep } = await socks5(a.addresses.socks5!, REVIEWS_VIP, 9080, SLEEP);
    assert.equal(rep, 0);
    await client.roundTrip("to reviews");
    client.socket.end();
    await client.until(() => client.ended);
    const req = wp.requests.at(-1)!;
    assert.equal(req.authority, `${REVIEWS_VIP}:9080`);
    assert.equal(req.peerSan, `URI:${id("sleep")}`, "the waypoint sees the client's identity");
    assert.match(req.forwarded, new RegExp(`^for="${SLEEP.replaceAll(".", "\\.")}:\\d+";host=reviews\\.default\\.svc\\.cluster\\.local$`));
  });

  it("plaintext inbound has no identity: allowed without policy, denied by STRICT", async () => {
    const at = b.addresses.plaintext[0]!;
    const c = await connect(at, SLEEP);
    await c.roundTrip("plain");
    c.socket.end();
    await c.until(() => c.ended);
    b.state.upsertPolicy({
      name: "strict", namespace: "istio-system", scope: "Global", action: "Deny",
      rules: [{ clauses: [{ matches: [{ ...emptyMatch(), notPrincipals: [{ presence: true }] }] }] }],
    });
    try {
      const d = await connect(at, SLEEP);
      d.socket.write("plain");
      await d.gone();
      assert.equal(d.data, "");
      // HBONE (mTLS) still passes.
      const e = await connect(explicit.sleep, SLEEP);
      await e.roundTrip("mtls");
      e.socket.destroy();
    } finally {
      b.state.removePolicy("istio-system/strict");
    }
  });

  it("certificate rotation: the live flow survives, the next session presents the new certificate", async () => {
    const { client, rep } = await socks5(a.addresses.socks5!, REVIEWS_VIP, 9080, SLEEP);
    assert.equal(rep, 0);
    await client.roundTrip("before rotation");
    const first = wp.requests.at(-1)!;
    const oldSerial = a.certs.current(id("sleep"))!.serial;
    assert.equal(first.peerSerial.toLowerCase(), oldSerial.toLowerCase());
    const rotated = await a.certs.rotate(id("sleep"));
    assert.notEqual(rotated.serial, oldSerial);
    await client.roundTrip(" after rotation");
    const next = await socks5(a.addresses.socks5!, REVIEWS_VIP, 9080, SLEEP);
    assert.equal(next.rep, 0);
    await next.client.roundTrip("new flow");
    const second = wp.requests.at(-1)!;
    assert.equal(second.peerSerial.toLowerCase(), rotated.serial.toLowerCase(), "new session, new certificate (no resumption of the old one)");
    assert.notEqual(second.session, first.session);
    // And through ztunnel B: a new flow works with the rotated certificate.
    const c = await connect(explicit.sleep, SLEEP);
    await c.roundTrip("rotated");
    // The server side: B rotates echo's certificate; the live flow goes on, new handshakes get the new one.
    const echoNew = await b.certs.rotate(id("echo"));
    await c.roundTrip(" still");
    const sleepCert = a.certs.current(id("sleep"))!;
    const served = await new Promise<string>((resolve, reject) => {
      const t = tls.connect({ host: ECHO, port: hbonePort, ca: ca.bundle, key: sleepCert.privateKeyPem, cert: sleepCert.certChain.join(""), ALPNProtocols: ["h2"], checkServerIdentity: () => undefined },
        () => { resolve(t.getPeerX509Certificate()!.serialNumber); t.destroy(); });
      t.on("error", reject);
    });
    assert.equal(served.toLowerCase(), echoNew.serial.toLowerCase());
    for (const s of [client, next.client, c]) s.socket.destroy();
  });
});

/** ZT_DEBUG=1 prints the ztunnels' logs. */
const debugLogger = Object.fromEntries((["debug", "info", "warn", "error"] as const).map((l) => [l, (msg: string, f?: Record<string, unknown>) => console.error(l, msg, JSON.stringify(f ?? {}))])) as
  unknown as import("@waystation/ztunnel").Logger;

function emptyMatch() {
  return {
    namespaces: [], notNamespaces: [], serviceAccounts: [], notServiceAccounts: [], principals: [], notPrincipals: [],
    sourceIps: [], notSourceIps: [], destinationIps: [], notDestinationIps: [], destinationPorts: [], notDestinationPorts: [],
  };
}
