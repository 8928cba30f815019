/**
 * The bundled examples, as a user runs them: examples/ is a valid mesh; every file in
 * examples/invalid/ is rejected with exactly the lines its `# expect:` header lists.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { promisify } from "node:util";
import { PassThrough } from "node:stream";
import { main } from "@waystation/cli";

const root = new URL("..", import.meta.url).pathname;

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough(), err = new PassThrough();
  let o = "", e = "";
  out.on("data", (d) => (o += d));
  err.on("data", (d) => (e += d));
  const cwd = process.cwd();
  process.chdir(root);
  try {
    const code = await main(["node", "waystation", ...args], out, err);
    return { code, out: o, err: e };
  } finally {
    process.chdir(cwd);
  }
}

describe("examples", () => {
  it("examples/ is a valid mesh", async () => {
    const r = await run("validate", "examples");
    assert.equal(r.code, 0, r.out);
    const lines = r.out.trim().split("\n");
    assert.match(lines.at(-1)!, /^\d+ resources valid, 0 invalid$/);
    assert.deepEqual(lines.filter((l) => /^examples\/.*:\d+:\d+ /.test(l) && !l.includes(" ignored: ")), []);
    assert.ok(lines.some((l) => l.startsWith("waypoints: bookinfo/waypoint, istio-egress/egress-waypoint")), r.out);
  });

  const dir = join(root, "examples/invalid");
  for (const f of readdirSync(dir).filter((x) => x.endsWith(".yaml")).sort()) {
    it(`examples/invalid/${f} reports exactly what its header expects`, async () => {
      const expected = readFileSync(join(dir, f), "utf8").split("\n").filter((l) => l.startsWith("# expect: ")).map((l) => l.slice("# expect: ".length));
      assert.ok(expected.length > 0, `${f} has no # expect: lines`);
      const r = await run("validate", "-q", `examples/invalid/${f}`);
      assert.equal(r.code, 1);
      const lines = r.out.trim().split("\n");
      assert.deepEqual(lines.slice(0, -1), expected);
    });
  }

  it("keeps the good document of a file with a bad one", async () => {
    const r = await run("validate", "-q", "examples/invalid/mixed.yaml");
    assert.equal(r.out.trim().split("\n").at(-1), "1 resources valid, 1 invalid");
  });

  it("speaks JSON for tools", async () => {
    const r = await run("validate", "-o", "json", "examples/invalid/vs-regex.yaml");
    const doc = JSON.parse(r.out) as { valid: number; invalid: number; problems: { file: string; line: number; column: number; path: string }[] };
    assert.equal(doc.invalid, 1);
    assert.deepEqual(doc.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.path}`), ["examples/invalid/vs-regex.yaml:13:20 spec.http[0].match[0].uri.regex"]);
  });

  it("runs as the installed bin: npx waystation validate", async () => {
    const bin = join(root, "node_modules/.bin/waystation");
    const { stdout } = await promisify(execFile)(bin, ["validate", "-q", "examples"], { cwd: root });
    assert.match(stdout, /resources valid, 0 invalid/);
    await assert.rejects(promisify(execFile)(bin, ["validate", "-q", "examples/invalid"], { cwd: root }), (e: { code?: number }) => e.code === 1);
  });
});
