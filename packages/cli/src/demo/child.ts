/**
 * A `waystation <subcommand>` child process of the demo: its output goes to a log file, and its
 * JSON log lines to listeners (the demo reads the ztunnels' access logs from them). Children get a
 * process group of their own, so Ctrl-C reaches the demo only and it stops them in order.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { fileURLToPath } from "node:url";

/** The `waystation` executable of this checkout. */
const bin = fileURLToPath(new URL("../../bin/waystation.js", import.meta.url));

/** One JSON log line of a child. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A running child. */
export class Child {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  readonly #proc: ChildProcess;
  readonly #listeners = new Set<(line: LogLine) => void>();
  /** Listeners of raw lines (JSON or not). */
  readonly #raw = new Set<(line: string) => void>();
  /** The last lines, for error messages. */
  readonly #tail: string[] = [];
  #exitCode: number | null | undefined;

  constructor(readonly name: string, args: readonly string[], readonly logFile: string) {
    const log = createWriteStream(logFile, { flags: "a" });
    this.#proc = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
    this.pid = this.#proc.pid ?? 0;
    this.exited = new Promise((resolve) => this.#proc.once("exit", (code, signal) => {
      this.#exitCode = code ?? (signal ? null : 0);
      log.end();
      resolve(this.#exitCode);
    }));
    for (const stream of [this.#proc.stdout!, this.#proc.stderr!]) {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (d: string) => {
        log.write(d);
        const lines = (partial + d).split("\n");
        partial = lines.pop()!;
        for (const l of lines) this.#line(l);
      });
    }
  }

  /** Calls `fn` for every JSON line from now on; returns the unsubscribe function. */
  onLog(fn: (line: LogLine) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Resolves with the first line (JSON or not) `match` accepts; rejects if the child exits first or after `ms`. */
  waitFor<T>(what: string, match: (line: string) => T | undefined, ms: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const onLine = (l: string) => {
        const v = match(l);
        if (v !== undefined) { cleanup(); resolve(v); }
      };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`${this.name}: ${what} not seen within ${ms} ms${this.#tailText()}`)); }, ms);
      const cleanup = () => { clearTimeout(timer); this.#raw.delete(onLine); };
      this.#raw.add(onLine);
      void this.exited.then((code) => { cleanup(); reject(new Error(`${this.name} exited (code ${code}) before ${what}${this.#tailText()}`)); });
    });
  }

  /** Whether the process is still running. */
  running(): boolean {
    return this.#exitCode === undefined;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running()) return;
    this.#proc.kill("SIGTERM");
    const timer = setTimeout(() => this.#proc.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Synchronous last resort (process `exit` handler). */
  kill(): void {
    if (this.running()) this.#proc.kill("SIGKILL");
  }

  #line(l: string): void {
    this.#tail.push(l);
    if (this.#tail.length > 20) this.#tail.shift();
    for (const fn of this.#raw) fn(l);
    if (!l.startsWith("{")) return;
    let parsed: LogLine;
    try {
      parsed = JSON.parse(l) as LogLine;
    } catch {
      return;
    }
    for (const fn of this.#listeners) fn(parsed);
  }

  #tailText(): string {
    const lines = this.#tail.slice(-8);
    return lines.length > 0 ? `; its last output (${this.logFile}):\n    ${lines.join("\n    ")}` : `; see ${this.logFile}`;
  }
}
