import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatProblem } from "@waystation/api";
import { FileSource, type MeshSnapshot } from "./fileSource.js";

const ns = (name: string) => `apiVersion: v1\nkind: Namespace\nmetadata: { name: ${name} }\n`;
const svc = (port: string) => `apiVersion: v1\nkind: Service\nmetadata: { name: reviews, namespace: bookinfo }\nspec:\n  ports:\n    - port: ${port}\n`;

describe("FileSource", () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), "waystation-fs-")); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it("loads a directory tree, sorted, with paths relative to cwd", async () => {
    await writeFile(join(dir, "b.yaml"), svc("9080"));
    await writeFile(join(dir, "a.yaml"), ns("bookinfo"));
    await writeFile(join(dir, "notes.txt"), "not a manifest");
    const src = new FileSource([dir], { cwd: dir });
    const s = await src.load();
    assert.deepEqual(s.files, ["a.yaml", "b.yaml"]);
    assert.deepEqual(s.resources.map((r) => r.key.kind), ["Namespace", "Service"]);
    assert.equal(s.generation, 1);
  });

  it("reloads on change, keeps the last good version of a resource that became invalid, and drops a deleted file's resources", async () => {
    const src = new FileSource([dir], { cwd: dir, debounceMs: 20 });
    const changes: MeshSnapshot[] = [];
    let wake: () => void = () => {};
    const next = () => new Promise<void>((r) => { wake = r; });
    await src.watch((s) => { changes.push(s); wake(); });
    try {
      let waiting = next();
      await writeFile(join(dir, "b.yaml"), svc("ninety"));
      await waiting;
      let s = changes.at(-1)!;
      assert.deepEqual(s.problems.map(formatProblem), ["b.yaml:6:13 Service bookinfo/reviews: spec.ports[0].port must be an integer"]);
      assert.deepEqual(s.stale.map((x) => x.key.name), ["reviews"]);
      const kept = s.resources.find((r) => r.key.kind === "Service")!;
      assert.deepEqual((kept.object.spec as { ports: { port: number }[] }).ports[0]!.port, 9080);

      waiting = next();
      await writeFile(join(dir, "b.yaml"), svc("9081"));
      await waiting;
      s = changes.at(-1)!;
      assert.deepEqual(s.problems, []);
      assert.deepEqual(s.stale, []);
      assert.equal((s.resources.find((r) => r.key.kind === "Service")!.object.spec as { ports: { port: number }[] }).ports[0]!.port, 9081);

      waiting = next();
      await unlink(join(dir, "b.yaml"));
      await waiting;
      s = changes.at(-1)!;
      assert.deepEqual(s.resources.map((r) => r.key.kind), ["Namespace"]);
      assert.ok(s.generation > 1);
    } finally {
      src.close();
    }
  });

  it("fails clearly on a path that does not exist", async () => {
    await assert.rejects(new FileSource([join(dir, "missing")]).load(), /missing: no such file or directory/);
  });
});

describe("FileSource directories", () => {
  it("reads a directory's own files, and subdirectories only with recursive (like kubectl apply -R)", async () => {
    const dir = await mkdtemp(join(tmpdir(), "waystation-fs-"));
    try {
      const { mkdir } = await import("node:fs/promises");
      await mkdir(join(dir, "more"));
      await writeFile(join(dir, "a.yaml"), ns("a"));
      await writeFile(join(dir, "more", "b.yml"), ns("b"));
      await writeFile(join(dir, ".hidden.yaml"), ns("hidden"));
      const flat = await new FileSource([dir], { cwd: dir }).load();
      assert.deepEqual(flat.resources.map((r) => r.key.name), ["a"]);
      const deep = await new FileSource([dir], { cwd: dir, recursive: true }).load();
      assert.deepEqual(deep.resources.map((r) => r.key.name), ["a", "b"]);
      assert.deepEqual(deep.files, ["a.yaml", "more/b.yml"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
