/**
 * Timing helpers shared by the benchmarks: a forced GC between runs (so one run's garbage is not
 * collected during the next one), warm-up then median of several runs, percentiles, memory
 * readings, and a plain-text table printer.
 */
import { performance } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const rawGc = runInNewContext("gc") as (() => void) | undefined;

/** A full, synchronous major GC (twice: the first one may leave finalizer-reachable garbage). */
export function gc(): void {
  rawGc?.();
  rawGc?.();
}

/** Wall milliseconds of one synchronous call, and its result. */
export function timed<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

/** Runs of one measured function. */
export interface Runs<T> {
  /** Wall milliseconds of the measured runs (warm-ups excluded), in run order. */
  samples: number[];
  /** CPU milliseconds (user + system) of the same runs; above wall means GC helper threads worked. */
  cpu: number[];
  /** Result of the last run. */
  last: T;
  median: number;
  min: number;
}

/**
 * One forced GC (so earlier garbage is not collected during these runs), `warmup` unmeasured runs,
 * then `runs` measured ones. The median is what the tables report: a GC or JIT pause in one run
 * moves the mean, not the median. No GC is forced between runs: a forced full GC flushes compiled
 * code and inline caches, which made the next run up to 2x slower than a steady-state one.
 */
export function repeat<T>(fn: () => T, opts: { warmup: number; runs: number }): Runs<T> {
  gc();
  for (let i = 0; i < opts.warmup; i++) fn();
  let last: T | undefined;
  const samples: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const c = process.cpuUsage();
    const t = performance.now();
    last = fn();
    samples.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
  }
  return { samples, cpu, last: last as T, median: median(samples), min: Math.min(...samples) };
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

/** Nearest-rank percentile (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * s.length);
  return s[Math.min(s.length - 1, Math.max(0, rank - 1))]!;
}

/** Process memory in bytes after a forced GC. */
export interface Memory { rss: number; heapUsed: number; external: number; arrayBuffers: number }

export function memoryAfterGc(): Memory {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
}

/** "12.3" for milliseconds, with a sensible number of digits. */
export function ms(x: number): string {
  if (!Number.isFinite(x)) return "-";
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3);
}

/** Bytes as "1.2 MB", "34.5 KB", "512 B". */
export function bytes(x: number): string {
  if (!Number.isFinite(x)) return "-";
  const a = Math.abs(x);
  return a >= 1024 * 1024 ? `${(x / 1024 / 1024).toFixed(1)} MB` : a >= 1024 ? `${(x / 1024).toFixed(1)} KB` : `${Math.round(x)} B`;
}

/** Prints an aligned table: the `left` columns (default: the first) left-aligned, the others right-aligned. */
export function printTable(title: string, header: readonly string[], rows: readonly (readonly string[])[], left: readonly number[] = [0]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(line(r));
}

/** `--name value` / `--name=value` from an argument list, else the default. */
export function option(args: readonly string[], name: string, fallback: string): string {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}`) return args[i + 1] ?? fallback;
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return fallback;
}

/** A comma-separated list of positive integers ("100,1000"). */
export function intList(text: string): number[] {
  return text.split(",").map((s) => Number(s.replace(/_/g, ""))).filter((n) => Number.isInteger(n) && n > 0);
}
