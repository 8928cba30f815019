/**
 * The benchmark dispatcher: `npm run bench -- <name> [args...]` runs `bench/<name>.ts`, whose
 * module exports `run(args: string[]): Promise<void>` and, optionally, `description`. Without a
 * name it lists the benchmarks. A benchmark module must have no side effects at import, so that
 * listing them is cheap and safe. Benchmarks print tables; they never assert.
 */
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** What every `bench/<name>.ts` exports. */
export interface BenchModule {
  run(args: string[]): Promise<void>;
  /** One line for the listing. */
  description?: string;
}

const dir = dirname(fileURLToPath(import.meta.url));

function names(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && f !== "run.ts" && !f.endsWith(".test.ts"))
    .map((f) => f.slice(0, -3))
    .sort();
}

async function load(name: string): Promise<BenchModule> {
  const mod = await import(pathToFileURL(join(dir, `${name}.ts`)).href) as Partial<BenchModule>;
  if (typeof mod.run !== "function") throw new Error(`bench/${name}.ts does not export run(args)`);
  return mod as BenchModule;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  const known = names();
  if (!name || name === "--help" || name === "-h" || name === "list") {
    console.log("usage: npm run bench -- <name> [args...]   (see bench/README.md)\n\nbenchmarks:");
    for (const n of known) {
      const d = await load(n).then((m) => m.description ?? "", (e: unknown) => `(cannot load: ${e instanceof Error ? e.message : String(e)})`);
      console.log(`  ${n.padEnd(12)} ${d}`);
    }
    return 0;
  }
  if (!known.includes(name)) {
    console.error(`unknown benchmark "${name}"; known: ${known.join(", ") || "none"}`);
    return 2;
  }
  await (await load(name)).run(args);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { console.error(err instanceof Error ? err.stack : String(err)); process.exitCode = 1; },
);
