/**
 * Golden files: testdata/<case>.in.yaml -> testdata/<case>.out.yaml. A test renders its output and
 * calls `expectGolden`; with UPDATE_GOLDEN=1 the file is rewritten instead of compared, and
 * `pruneGolden` deletes outputs that no input produces any more. A reviewer reads the diff of the
 * .out.yaml files to see what a change does to real proxies.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { stringify } from "yaml";

export const updating = process.env.UPDATE_GOLDEN === "1";

export interface GoldenCase {
  name: string;
  input: string;
  inputPath: string;
  outputPath: string;
}

/** Every <case>.in.yaml in `dir`, sorted by name. */
export function goldenCases(dir: string): GoldenCase[] {
  return readdirSync(dir).filter((f) => f.endsWith(".in.yaml")).sort().map((f) => {
    const name = basename(f, ".in.yaml");
    return { name, inputPath: join(dir, f), outputPath: join(dir, `${name}.out.yaml`), input: readFileSync(join(dir, f), "utf8") };
  });
}

/** Compares `actual` with the golden file, or writes it when UPDATE_GOLDEN=1. */
export function expectGolden(c: GoldenCase, actual: string): void {
  if (updating) {
    writeFileSync(c.outputPath, actual);
    return;
  }
  assert.ok(existsSync(c.outputPath), `${c.outputPath} is missing; run UPDATE_GOLDEN=1 npm test to create it`);
  const expected = readFileSync(c.outputPath, "utf8");
  assert.equal(actual, expected, `${c.outputPath} differs; if the change is intended, run UPDATE_GOLDEN=1 npm test and review the diff`);
}

/** With UPDATE_GOLDEN=1, deletes .out.yaml files that have no .in.yaml. Returns what it deleted. */
export function pruneGolden(dir: string): string[] {
  if (!updating) return [];
  const inputs = new Set(readdirSync(dir).filter((f) => f.endsWith(".in.yaml")).map((f) => basename(f, ".in.yaml")));
  const stale = readdirSync(dir).filter((f) => f.endsWith(".out.yaml") && !inputs.has(basename(f, ".out.yaml")));
  for (const f of stale) unlinkSync(join(dir, f));
  return stale;
}

/**
 * YAML for golden files: "@type" and "name" first in every mapping (how Envoy users read config),
 * other keys in the order given, long lines not folded.
 */
export function goldenYaml(value: unknown): string {
  return stringify(reorder(value), { lineWidth: 0, aliasDuplicateObjects: false });
}

function reorder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorder);
  if (v === null || typeof v !== "object") return v;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  const first = ["@type", "name"].filter((k) => k in o);
  const out: Record<string, unknown> = {};
  for (const k of [...first, ...keys.filter((k) => !first.includes(k))]) out[k] = reorder(o[k]);
  return out;
}
