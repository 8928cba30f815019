/**
 * `waystation demo --once` as a user runs it: a child process that starts the control plane and
 * two ztunnels as its own children, prints the scenario and exits. Run beside it (in this process),
 * the same demo on a copy of examples/demo without the DENY policy (and on other loopback
 * addresses) must exit 1: the request meant to be denied goes through.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { after, before, describe, it } from "node:test";
import { main } from "@waystation/cli";

const root = new URL("..", import.meta.url).pathname;
const id = (sa: string) => `spiffe://cluster.local/ns/demo/sa/${sa}`;

/** Runs the CLI as a child process; resolves when it exits. */
function runCli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(root, "packages/cli/bin/waystation.js"), ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("exit", (code) => resolve({ code, out, err }));
  });
}

/** Runs the CLI in this process (main), as the test of a failing run does to spare a process start. */
async function runMain(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const out = new PassThrough(), err = new PassThrough();
  let o = "", e = "";
  out.on("data", (d) => (o += d));
  err.on("data", (d) => (e += d));
  const code = await main(["node", "waystation", ...args], out, err);
  return { code, out: o, err: e };
}

/** The pids a run printed, and its work directory. */
function leftovers(out: string): { running: number[]; workDir: string | undefined } {
  const pids = [...out.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
  const running = pids.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
  return { running, workDir: /^\s+logs\s+(\S+)$/m.exec(out)?.[1] };
}

describe("waystation demo --once", () => {
  let dir: string;
  let ok: Awaited<ReturnType<typeof runCli>>, open: Awaited<ReturnType<typeof runCli>>;

  before(async () => {
    // The variant: other addresses (so both run at once) and no deny-notsleep policy.
    dir = await mkdtemp(join(tmpdir(), "waystation-demo-test-"));
    const mesh = await readFile(join(root, "examples/demo/mesh.yaml"), "utf8");
    await writeFile(join(dir, "mesh.yaml"), mesh.replaceAll("127.0.0.", "127.13.0."));
    const policy = await readFile(join(root, "examples/demo/policy.yaml"), "utf8");
    await writeFile(join(dir, "policy.yaml"), policy.split(/^---$/m).filter((d) => !d.includes("deny-notsleep")).join("---"));
    [ok, open] = await Promise.all([runCli(["demo", "--once"]), runMain(["demo", "--once", "--config", dir])]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("exits 0 and prints an mTLS request with both SPIFFE identities, and one denied by L4 policy", () => {
    assert.equal(ok.code, 0, `${ok.out}\n${ok.err}`);
    const text = ok.out;
    assert.match(text, /^1\. demo\/sleep-\S+ \(127\.0\.0\.2, node-a\) -> echo\.demo\.svc\.cluster\.local:80: allowed, as the policy says$/m);
    assert.match(text, /HTTP 200/);
    assert.ok(text.includes(`client certificate ${id("sleep")}; server verified as ${id("echo")}`), text);
    assert.ok(text.includes(`inbound: peer certificate ${id("sleep")} (mTLS), allowed`), text);
    assert.match(text, /"echo from demo\/echo-\S+ \(127\.0\.0\.4:8080\): GET \/ host=echo\.demo\.svc\.cluster\.local/);
    assert.match(text, /^2\. demo\/notsleep-\S+ \(127\.0\.0\.3, node-a\) -> echo\.demo\.svc\.cluster\.local:80: denied, as the policy says$/m);
    assert.match(text, /SOCKS5 reply 2 \(connection not allowed by ruleset\)/);
    assert.ok(text.includes(`inbound: peer certificate ${id("notsleep")} (mTLS), refused with 401: denied by DENY policy demo/deny-notsleep`), text);
    assert.match(text, /never reached \(0 new connections\)/);
    assert.match(text, /^Scenario passed: 2 of 2 requests/m);
  });

  it("leaves no process and no temporary directory behind", () => {
    const { running, workDir } = leftovers(ok.out);
    assert.ok(workDir, ok.out);
    assert.deepEqual(running, []);
    assert.equal(existsSync(workDir), false);
  });

  it("exits 1 when the scenario does not go as the policy says (no DENY policy: the request goes through)", async () => {
    assert.equal(open.code, 1, `${open.out}\n${open.err}`);
    assert.match(open.out, /^1\. .*: allowed, as the policy says$/m);
    assert.match(open.out, /^2\. demo\/notsleep-\S+ \(127\.13\.0\.3, node-a\) .*: ! NOT as expected$/m);
    assert.match(open.out, /^Scenario FAILED/m);
    const { running, workDir } = leftovers(open.out);
    assert.deepEqual(running, []);
    assert.ok(workDir && existsSync(workDir), "a failed run keeps its logs");
    assert.match(open.err, new RegExp(`logs kept in ${workDir}`));
    await rm(workDir, { recursive: true, force: true });
  });

  it("refuses a configuration it cannot run, saying why", async () => {
    await writeFile(join(dir, "mesh.yaml"), (await readFile(join(dir, "mesh.yaml"), "utf8")).replace("podIP: 127.13.0.4", "podIP: 10.0.0.4").replace("ip: 127.13.0.4", "ip: 10.0.0.4"));
    const { code, err } = await runMain(["demo", "--once", "--config", dir]);
    assert.equal(code, 1);
    assert.match(err, /pods must have loopback addresses \(127\.x\.y\.z\) to run on this host: demo\/echo-\S+ 10\.0\.0\.4/);
  });
});
