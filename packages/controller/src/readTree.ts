/** Reading manifest files from disk: files given directly, or every .yaml/.yml/.json below a directory. */
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative, isAbsolute } from "node:path";
import type { SourceFile } from "@waystation/api";

const manifestExt = /\.(ya?ml|json)$/i;

/**
 * Lists manifest files under the given paths, sorted, skipping hidden entries and node_modules.
 * As with `kubectl apply -f`, a directory means the manifests in it; subdirectories are read only
 * when `recursive` is set (`-R`). That lets a directory hold one mesh and keep others (or broken
 * samples) in subdirectories.
 */
export async function listManifestFiles(paths: readonly string[], recursive = false): Promise<string[]> {
  const out = new Set<string>();
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (!s) throw new Error(`${p}: no such file or directory`);
    if (s.isDirectory()) await walk(p, out, recursive);
    else out.add(p);
  }
  return [...out].sort();
}

async function walk(dir: string, out: Set<string>, recursive: boolean): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const e of entries) {
    if (e.name.startsWith(".") || e.name === "node_modules") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) { if (recursive) await walk(p, out, recursive); }
    else if (e.isFile() && manifestExt.test(e.name)) out.add(p);
  }
}

/** Reads the files; paths are shown relative to `cwd` when they lie below it. */
export async function readManifestFiles(files: readonly string[], cwd = process.cwd()): Promise<SourceFile[]> {
  return Promise.all(files.map(async (f) => ({ path: display(f, cwd), text: await readFile(f, "utf8") })));
}

function display(p: string, cwd: string): string {
  if (!isAbsolute(p)) return p;
  const r = relative(cwd, p);
  return r.startsWith("..") ? p : r;
}
