/**
 * End to end with the control plane: Waystation serving a YAML mesh (xDS and the CA over TLS, node
 * tokens), three ztunnels in xDS mode getting their workloads' certificates by impersonation, TCP
 * echo apps, and a waypoint, all on loopback aliases (127.12.0.x stand for pod IPs):
 *
 *   node-a: sleep 127.12.0.2, intruder 127.12.0.3       (clients)
 *   node-b: echo 127.12.0.4 (Service echo), reviews 127.12.0.7 (Service reviews, bound to the waypoint)
 *   node-c: client-c 127.12.0.5, echo-c 127.12.0.6 (Service echo-c)
 *   waypoint pod 127.12.0.9 (not captured: the waypoint is the HBONE endpoint itself, on 15008)
 *
 * The waypoint is a stand-in: there is no Envoy binary on this machine, so an HBONE terminator
 * (TLS 1.3, h2, client certificate required, certificate from the CA) records each CONNECT and
 * echoes. It proves where ztunnel sends a waypoint-bound service's traffic and with which
 * authority and identity, not what a waypoint does with it.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ControlPlane } from "@waystation/controller";
import { CaClient } from "@waystation/pki";
import { caCertificateSource, startZtunnel, ztunnelNodeId, type Ztunnel } from "@waystation/ztunnel";
import { echoApp, eventually, fakeWaypoint, freePortOn, recordingSink, socks5 } from "./harness.js";

const NS = "e2e";
const IP = { sleep: "127.12.0.2", intruder: "127.12.0.3", echo: "127.12.0.4", clientC: "127.12.0.5", echoC: "127.12.0.6", reviews: "127.12.0.7", waypoint: "127.12.0.9" };
const VIP = { echo: "10.96.12.10", echoC: "10.96.12.11", reviews: "10.96.12.20", waypoint: "10.96.12.99" };
const NODES = ["node-a", "node-b", "node-c"] as const;
const id = (sa: string) => `spiffe://cluster.local/ns/${NS}/sa/${sa}`;
/** The waypoint's HBONE port: the control plane publishes GatewayAddress hbone_mtls_port 15008. */
const WAYPOINT_PORT = 15008;

const pod = (name: string, sa: string, node: string, ip: string, labels: string, ports = "") => `
apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${NS}, labels: { ${labels} } }
spec:
  serviceAccountName: ${sa}
  nodeName: ${node}
  containers: [{ name: app, image: app${ports ? `, ports: [${ports}]` : ""} }]
status: { phase: Running, podIP: ${ip}, podIPs: [{ ip: ${ip} }] }
`;
const service = (name: string, vip: string, app: string, port: number, target: number, labels = "") => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${NS}${labels ? `, labels: { ${labels} }` : ""} }
spec: { selector: { app: ${app} }, clusterIP: ${vip}, ports: [{ name: tcp, port: ${port}, targetPort: ${target} }] }
`;
const denyPolicy = (name: string, sa: string) => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${NS} }
spec:
  selector: { matchLabels: { app: echo } }
  action: DENY
  rules: [{ from: [{ source: { principals: ["cluster.local/ns/${NS}/sa/${sa}"] } }] }]
`;

function meshYaml(echoPort: number, echoCPort: number): string {
  const sas = ["sleep", "intruder", "echo", "client-c", "echo-c", "reviews", "waypoint"].map((sa) => `
apiVersion: v1
kind: ServiceAccount
metadata: { name: ${sa}, namespace: ${NS} }
`);
  return [
    `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${NS}, labels: { istio.io/dataplane-mode: ambient } }\n`,
    ...sas,
    pod("sleep", "sleep", "node-a", IP.sleep, "app: sleep"),
    pod("intruder", "intruder", "node-a", IP.intruder, "app: intruder"),
    pod("echo", "echo", "node-b", IP.echo, "app: echo", `{ containerPort: ${echoPort} }`),
    pod("reviews", "reviews", "node-b", IP.reviews, "app: reviews", "{ containerPort: 9080 }"),
    pod("client-c", "client-c", "node-c", IP.clientC, "app: client-c"),
    pod("echo-c", "echo-c", "node-c", IP.echoC, "app: echo-c", `{ containerPort: ${echoCPort} }`),
    service("echo", VIP.echo, "echo", 80, echoPort),
    service("echo-c", VIP.echoC, "echo-c", 80, echoCPort),
    service("reviews", VIP.reviews, "reviews", 9080, 9080, "istio.io/use-waypoint: waypoint"),
    // The waypoint as istiod deploys it for the Gateway (examples/waypoint.yaml has the same shape).
    `
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: ${NS}, labels: { istio.io/waypoint-for: service } }
spec: { gatewayClassName: istio-waypoint, listeners: [{ name: mesh, port: 15008, protocol: HBONE }] }
`,
    `
apiVersion: v1
kind: Service
metadata: { name: waypoint, namespace: ${NS}, labels: { gateway.networking.k8s.io/gateway-name: waypoint } }
spec:
  selector: { gateway.networking.k8s.io/gateway-name: waypoint }
  clusterIP: ${VIP.waypoint}
  ports: [{ name: mesh, port: 15008, appProtocol: all }]
`,
    pod("waypoint", "waypoint", "node-c", IP.waypoint, "gateway.networking.k8s.io/gateway-name: waypoint, istio.io/dataplane-mode: none",
      "{ containerPort: 15008, name: mesh }"),
    denyPolicy("deny-intruder", "intruder"),
  ].join("---\n");
}

describe("ztunnel end to end: control plane, CA, three nodes, a waypoint", () => {
  let dir: string;
  let cpl: ControlPlane;
  let securePort = 0;
  let rootCertPem: string;
  const tokens = Object.fromEntries(NODES.map((n) => [n, `e2e-${n}-token-0123456789abcdef`])) as Record<(typeof NODES)[number], string>;
  const waypointToken = "e2e-waypoint-token-0123456789abcdef";
  const zt = {} as Record<(typeof NODES)[number], Ztunnel>;
  const logs = Object.fromEntries(NODES.map((n) => [n, recordingSink()])) as Record<(typeof NODES)[number], ReturnType<typeof recordingSink>>;
  let echo: Awaited<ReturnType<typeof echoApp>>, echoC: Awaited<ReturnType<typeof echoApp>>;
  const cleanup: (() => unknown)[] = [];

  const controlPlane = (port: number) => new ControlPlane({
    config: [dir], xdsPort: 0, secureXdsPort: port, monitorPort: 0, rateLimit: { port: 0 }, host: "127.0.0.1", debounceMs: 20,
    stateDir: join(dir, "ca"), nodeCredentials: join(dir, "node-credentials.yaml"),
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "waystation-e2e-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    echo = await echoApp(IP.echo);
    echoC = await echoApp(IP.echoC);
    cleanup.push(() => echo.close(), () => echoC.close());
    await writeFile(join(dir, "mesh.yaml"), meshYaml(echo.port, echoC.port));
    await writeFile(join(dir, "node-credentials.yaml"), `tokens:\n${NODES.map((n) => `  ${tokens[n]}: { kind: ztunnel, node: ${n} }\n`).join("")}` +
      `  ${waypointToken}: { kind: workload, identity: "${id("waypoint")}" }\n`);
    cpl = controlPlane(0);
    await cpl.start();
    cleanup.push(() => cpl.close());
    securePort = cpl.secureXdsPort;
    rootCertPem = await readFile(join(dir, "ca", "root-cert.pem"), "utf8");

    // Every workload IP a ztunnel listens on, and the peers it dials: one HBONE port for the mesh.
    const hbonePort = await freePortOn([IP.sleep, IP.intruder, IP.echo, IP.reviews, IP.clientC, IP.echoC]);
    // The serving certificate names localhost, not 127.0.0.1.
    const address = `localhost:${securePort}`;
    await Promise.all(NODES.map(async (node) => {
      const ca = new CaClient({ address, token: tokens[node], rootCertPem });
      cleanup.push(() => ca.close());
      zt[node] = await startZtunnel({
        node,
        config: { kind: "xds", xds: { address, rootCertPem, token: tokens[node], nodeId: ztunnelNodeId("127.0.0.1", `ztunnel-${node}`, "istio-system"), metadata: { NODE_NAME: node }, backoffMs: 50, maxBackoffMs: 300 } },
        certificates: caCertificateSource(ca, { trustBundlePem: rootCertPem }),
        trustBundlePem: rootCertPem, pick: () => 0,
        ports: { hbone: hbonePort, socks5: 0, metrics: false, readiness: false, admin: false },
        accessLog: logs[node].sink,
      });
    }));
    cleanup.push(() => Promise.all(NODES.map((n) => zt[n]?.close())));
    await eventually(() => NODES.every((n) => zt[n].ready()), 15_000, () => `ready: ${NODES.map((n) => `${n}=${zt[n].ready()} ${JSON.stringify(zt[n].xds?.status)}`).join(", ")}`);
  });

  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  /** A flow from `from` (a pod IP on `node`) through that node's SOCKS5 to `host:port`; echoes `text` back. */
  async function flow(node: (typeof NODES)[number], from: string, host: string, port: number, text: string) {
    const { client, rep } = await socks5(zt[node].addresses.socks5!, host, port, from);
    if (rep === 0) await client.roundTrip(text);
    return { client, rep, clientAddr: `${from}:${client.socket.localPort}` };
  }
  /** The access record of `node` for the flow from `clientAddr`, once the connection ended. */
  async function record(node: (typeof NODES)[number], direction: "inbound" | "outbound", clientAddr: string) {
    const find = () => logs[node].records.find((r) => r.record.direction === direction && r.record["src.addr"] === clientAddr)?.record;
    await eventually(() => find() !== undefined, 5000, `${node} ${direction} record of ${clientAddr}`);
    return find()!;
  }

  it("each ztunnel got its own workloads' certificates from the CA, by impersonation", () => {
    assert.deepEqual(zt["node-a"].certs.dump().map((c) => c.identity).sort(), [id("intruder"), id("sleep")]);
    assert.deepEqual(zt["node-b"].certs.dump().map((c) => c.identity).sort(), [id("echo"), id("reviews")]);
    assert.deepEqual(zt["node-c"].certs.dump().map((c) => c.identity).sort(), [id("client-c"), id("echo-c")]);
    assert.deepEqual([...zt["node-c"].hboneServers.keys()].sort(), [IP.clientC, IP.echoC], "the waypoint pod is not captured: no listener for it");
  });

  it("mTLS everywhere: every server-side ztunnel sees the client's SPIFFE identity, every client side verified the server's", async () => {
    const cases = [
      { node: "node-a", from: IP.sleep, host: `echo.${NS}.svc.cluster.local`, port: 80, client: "sleep", server: "echo", serverNode: "node-b", app: `${IP.echo}:${echo.port}` },
      { node: "node-a", from: IP.sleep, host: VIP.echoC, port: 80, client: "sleep", server: "echo-c", serverNode: "node-c", app: `${IP.echoC}:${echoC.port}` },
      { node: "node-c", from: IP.clientC, host: IP.echo, port: echo.port, client: "client-c", server: "echo", serverNode: "node-b", app: `${IP.echo}:${echo.port}` },
    ] as const;
    for (const c of cases) {
      const f = await flow(c.node, c.from, c.host, c.port, `${c.client} to ${c.server}`);
      assert.equal(f.rep, 0, `${c.client} -> ${c.host}`);
      f.client.socket.end();
      await f.client.until(() => f.client.ended);
      assert.equal(f.client.data, `${c.client} to ${c.server}<fin>`);
      const inbound = await record(c.serverNode, "inbound", f.clientAddr);
      assert.equal(inbound["src.identity"], id(c.client), `${c.serverNode} saw the client's certificate`);
      assert.equal(inbound["dst.identity"], id(c.server));
      assert.equal(inbound["dst.hbone_addr"], c.app, "authority: pod IP and target port");
      const outbound = await record(c.node, "outbound", f.clientAddr);
      assert.equal(outbound["src.identity"], id(c.client));
      assert.equal(outbound["dst.identity"], id(c.server), `${c.node} verified the server's certificate`);
      assert.equal(inbound.error ?? outbound.error, undefined);
    }
  });

  it("L4 DENY from the control plane's AuthorizationPolicy: 401 from the server's ztunnel, the app never sees the connection", async () => {
    const accepted = echo.accepted();
    const f = await flow("node-a", IP.intruder, `echo.${NS}.svc.cluster.local`, 80, "let me in");
    assert.equal(f.rep, 2, "SOCKS5: connection not allowed by ruleset");
    const inbound = await record("node-b", "inbound", f.clientAddr);
    assert.equal(inbound["src.identity"], id("intruder"));
    assert.match(String(inbound.error), new RegExp(`DENY policy ${NS}/deny-intruder`));
    assert.match(String((await record("node-a", "outbound", f.clientAddr)).error), /answered 401/);
    assert.equal(echo.accepted(), accepted);
  });

  it("a waypoint-bound service goes to the waypoint's address with authority VIP:port and the client's identity", async (t) => {
    // The stand-in must listen where the control plane says the waypoint is: its pod IP, port 15008.
    const ca = new CaClient({ address: `localhost:${securePort}`, token: waypointToken, rootCertPem });
    cleanup.push(() => ca.close());
    const cert = await ca.fetchCertificate({ identity: id("waypoint") }, rootCertPem);
    const wp = await fakeWaypoint(IP.waypoint, cert, rootCertPem, WAYPOINT_PORT).catch((e: NodeJS.ErrnoException) => e);
    if (wp instanceof Error) return t.skip(`${IP.waypoint}:${WAYPOINT_PORT} is not free (${wp.code}); this test runs where it is`);
    cleanup.push(() => wp.close());
    const f = await flow("node-a", IP.sleep, VIP.reviews, 9080, "to reviews");
    assert.equal(f.rep, 0);
    f.client.socket.end();
    await f.client.until(() => f.client.ended);
    assert.equal(f.client.data, "to reviews<fin>", "the waypoint stand-in echoed");
    assert.equal(wp.requests.length, 1);
    const req = wp.requests[0]!;
    assert.equal(req.authority, `${VIP.reviews}:9080`, "service waypoint: the original VIP:port");
    assert.equal(req.peerSan, `URI:${id("sleep")}`, "the waypoint sees the client's certificate");
    assert.match(req.forwarded, new RegExp(`^for="${f.clientAddr.replaceAll(".", "\\.")}";host=reviews\\.${NS}\\.svc\\.cluster\\.local$`));
    const outbound = await record("node-a", "outbound", f.clientAddr);
    assert.equal(outbound["dst.addr"], `${IP.waypoint}:${WAYPOINT_PORT}`);
    assert.equal(outbound["dst.identity"], id("waypoint"), "node-a verified the waypoint's certificate");
    assert.ok(!logs["node-b"].records.some((r) => r.record["src.addr"] === f.clientAddr), "nothing went to the reviews pod's node");
  });

  it("control-plane restart: ztunnels serve their last state while it is down, then resync, applying a change made meanwhile", async () => {
    const live = await flow("node-a", IP.sleep, VIP.echo, 80, "before");
    assert.equal(live.rep, 0);
    const connects = NODES.map((n) => zt[n].xds!.status.connects);
    await cpl.close();
    await eventually(() => NODES.every((n) => !zt[n].xds!.status.connected), 5000, "every ztunnel noticed the control plane left");

    // A change made while it is down: client-c may no longer reach echo.
    await writeFile(join(dir, "policy-client-c.yaml"), denyPolicy("deny-client-c", "client-c"));
    // Down: the live flow goes on, and new flows are decided from the last state (client-c still allowed).
    await live.client.roundTrip(" during the outage");
    const during = await flow("node-c", IP.clientC, `echo.${NS}.svc.cluster.local`, 80, "new flow while down");
    assert.equal(during.rep, 0);
    during.client.socket.destroy();
    assert.equal(zt["node-b"].state.policy(`${NS}/deny-client-c`), undefined);

    cpl = controlPlane(securePort);
    await cpl.start();
    await eventually(() => NODES.every((n, i) => zt[n].xds!.status.connected && zt[n].xds!.status.connects > connects[i]!), 10_000, "every ztunnel reconnected");
    await eventually(() => zt["node-b"].state.policy(`${NS}/deny-client-c`) !== undefined, 5000, "the new policy reached node-b");
    const after = await flow("node-c", IP.clientC, `echo.${NS}.svc.cluster.local`, 80, "after");
    assert.equal(after.rep, 2, "denied by the policy written while the control plane was down");
    assert.match(String((await record("node-b", "inbound", after.clientAddr)).error), new RegExp(`DENY policy ${NS}/deny-client-c`));
    // The flow that lived through the outage still works; sleep is not concerned by the new policy.
    await live.client.roundTrip(" after");
    live.client.socket.end();
    await live.client.until(() => live.client.ended);
    assert.equal(live.client.data, "before during the outage after<fin>");
    for (const n of NODES) assert.deepEqual(zt[n].xds!.status.nacks, [], `${n} NACKed nothing`);
  });
});
