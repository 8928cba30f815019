/**
 * The demo's scenario: each request of the plan goes through the client node's ztunnel (SOCKS5),
 * then the two ztunnels' access records for it are read back. A request passes when what happened
 * is what the plan expects, proven by the records: mTLS with both SPIFFE identities for the
 * allowed one, the destination ztunnel's DENY (and an app that never saw a connection) for the
 * denied one.
 */
import type { AccessEntry, AccessLogs } from "./accessLogs.js";
import type { EchoApp } from "./echoApp.js";
import type { DemoApp, DemoPlan, DemoRequest } from "./plan.js";
import { getViaSocks5, type SocksHttpResult } from "./socksHttp.js";

/** What the scenario needs from the running demo. */
export interface ScenarioEnv {
  readonly plan: DemoPlan;
  /** SOCKS5 listener of each node's ztunnel. */
  readonly socks5: ReadonlyMap<string, { host: string; port: number }>;
  /** The running app of each plan app, by `ip:port`. */
  readonly apps: ReadonlyMap<string, EchoApp>;
  readonly logs: AccessLogs;
}

/** The outcome of one request, and its report. */
export interface RequestOutcome {
  readonly ok: boolean;
  readonly lines: string[];
}

/** Runs every request of the plan in order. */
export async function runScenario(env: ScenarioEnv): Promise<{ ok: boolean; lines: string[] }> {
  const lines: string[] = [];
  let ok = true;
  for (const [i, req] of env.plan.requests.entries()) {
    const r = await runRequest(env, req);
    ok &&= r.ok;
    lines.push(...r.lines.map((l, j) => (j === 0 ? `${i + 1}. ${l}` : `   ${l}`)), "");
  }
  const passed = env.plan.requests.length;
  lines.push(ok ? `Scenario passed: ${passed} of ${passed} requests did what the policy says.` : "Scenario FAILED: see the lines marked with !");
  return { ok, lines };
}

async function runRequest(env: ScenarioEnv, req: DemoRequest): Promise<RequestOutcome> {
  const from = req.from;
  const target = env.plan.apps.find((a) => a.service === req.host && a.servicePort === req.port)!;
  const app = env.apps.get(`${target.pod.ip}:${target.port}`)!;
  const proxy = env.socks5.get(from.node)!;
  const acceptedBefore = app.accepted();
  const res = await getViaSocks5(proxy, from.ip, req.host, req.port);
  // Records are written when a connection ends: both ends have closed by now, or soon will.
  const [out, inb] = await Promise.all([
    env.logs.find(from.node, "outbound", res.clientAddress, 5000),
    env.logs.find(target.pod.node, "inbound", res.clientAddress, 5000),
  ]);
  return req.expect === "allowed" ? reportAllowed(req, target, res, out, inb) : reportDenied(req, target, res, out, inb, app.accepted() - acceptedBefore);
}

const field = (e: AccessEntry | undefined, k: string): string => (e && e.record[k] !== undefined ? String(e.record[k]) : "-");
const title = (req: DemoRequest, verdict: string) =>
  `${req.from.namespace}/${req.from.name} (${req.from.ip}, ${req.from.node}) -> ${req.host}:${req.port}: ${verdict}`;
const pad = (label: string) => label.padEnd(12);

function reportAllowed(req: DemoRequest, target: DemoApp, res: SocksHttpResult, out: AccessEntry | undefined, inb: AccessEntry | undefined): RequestOutcome {
  const problems: string[] = [];
  if (res.status !== 200) problems.push(`expected HTTP 200, got ${res.status ?? res.replyText ?? res.error}`);
  if (!res.body?.startsWith("echo from")) problems.push("the answer is not the echo app's");
  if (field(inb, "src.identity") !== req.from.identity) problems.push(`${target.pod.node} saw client identity ${field(inb, "src.identity")}, expected ${req.from.identity}`);
  if (field(out, "dst.identity") !== target.pod.identity) problems.push(`${req.from.node} verified server identity ${field(out, "dst.identity")}, expected ${target.pod.identity}`);
  if (inb?.record.error || out?.record.error) problems.push(`error logged: ${field(inb, "error")} / ${field(out, "error")}`);
  const lines = [
    title(req, problems.length === 0 ? "allowed, as the policy says" : "! NOT as expected"),
    `${pad("client")}GET http://${req.host}:${req.port}/ via ztunnel ${req.from.node}'s SOCKS5, from ${res.clientAddress} -> ${res.status ? `HTTP ${res.status}` : res.replyText ?? res.error}`,
    `${pad(req.from.node)}outbound: HBONE (HTTP/2 CONNECT over mTLS) to ${field(out, "dst.addr")}, CONNECT ${field(out, "dst.hbone_addr")}`,
    `${pad("")}client certificate ${field(out, "src.identity")}; server verified as ${field(out, "dst.identity")}`,
    `${pad(target.pod.node)}inbound: peer certificate ${field(inb, "src.identity")} (mTLS), allowed by L4 policy; dialed the app ${target.pod.ip}:${target.port}`,
    `${pad(target.pod.app)}${JSON.stringify(res.body?.trim() ?? "")}`,
  ];
  return { ok: problems.length === 0, lines: [...lines, ...problems.map((p) => `! ${p}`)] };
}

function reportDenied(req: DemoRequest, target: DemoApp, res: SocksHttpResult, out: AccessEntry | undefined, inb: AccessEntry | undefined, appConnections: number): RequestOutcome {
  const problems: string[] = [];
  if (res.reply === 0 || res.status !== undefined) problems.push(`the tunnel was opened (SOCKS5 reply ${res.reply}, HTTP ${res.status})`);
  if (!/DENY/.test(field(inb, "error"))) problems.push(`${target.pod.node} logged no policy denial (error: ${field(inb, "error")})`);
  if (field(inb, "src.identity") !== req.from.identity) problems.push(`${target.pod.node} saw client identity ${field(inb, "src.identity")}, expected ${req.from.identity}`);
  if (appConnections !== 0) problems.push(`the app accepted ${appConnections} connection(s)`);
  const lines = [
    title(req, problems.length === 0 ? "denied, as the policy says" : "! NOT as expected"),
    `${pad("client")}GET http://${req.host}:${req.port}/ via ztunnel ${req.from.node}'s SOCKS5, from ${res.clientAddress} -> ${res.reply !== undefined ? `SOCKS5 reply ${res.reply} (${res.replyText})` : res.error}`,
    `${pad(req.from.node)}outbound: HBONE to ${field(out, "dst.addr")} as ${field(out, "src.identity")}: ${field(out, "error")}`,
    `${pad(target.pod.node)}inbound: peer certificate ${field(inb, "src.identity")} (mTLS), refused with 401: ${field(inb, "error")}`,
    `${pad(target.pod.app)}never reached (${appConnections} new connections)`,
  ];
  return { ok: problems.length === 0, lines: [...lines, ...problems.map((p) => `! ${p}`)] };
}
