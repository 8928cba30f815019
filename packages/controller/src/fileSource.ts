/**
 * The file source: a directory of manifests (or single files), loaded and validated, watched for
 * changes with a debounce, keeping the last good version of a resource that becomes invalid.
 * It reads resources and nothing else (DESIGN.md "Sources").
 */
import { watch, type FSWatcher } from "node:fs";
import { createHash } from "node:crypto";
import { dirname, resolve } from "node:path";
import { stat } from "node:fs/promises";
import { defaultValidator, loadManifests, reconcile, type Ignored, type LoadedResource, type Problem, type Reconciled, type Validator } from "@waystation/api";
import { listManifestFiles, readManifestFiles } from "./readTree.js";
import { silentLogger, type Logger } from "./logger.js";

/** What the source emits: a typed, sorted set of resources and everything wrong with the input. */
export interface MeshSnapshot {
  /** Increments on every emitted change; starts at 1. */
  generation: number;
  /** Resources to serve (fresh good ones plus kept last-good versions), sorted by group/kind/namespace/name. */
  resources: LoadedResource[];
  /** Problems of the current files. */
  problems: Problem[];
  /** Resources served from an earlier load because their current version is invalid. */
  stale: Reconciled["stale"];
  ignored: Ignored[];
  /** Documents rejected in the current files. */
  invalidCount: number;
  files: string[];
}

export interface FileSourceOptions {
  /** Quiet period after the last change before reloading (default 100 ms). */
  debounceMs?: number;
  /** Reload at the latest this long after the first change of a burst (default 10 s). */
  maxDelayMs?: number;
  /** Read subdirectories of directory paths too (like `kubectl apply -R`). Default false. */
  recursive?: boolean;
  validator?: Validator;
  logger?: Logger;
  cwd?: string;
}

export class FileSource {
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly validator: Validator;
  private readonly log: Logger;
  private readonly cwd: string;
  private readonly recursive: boolean;
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private burstStart = 0;
  private current: MeshSnapshot | undefined;
  private contentHash = "";
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly paths: readonly string[], opts: FileSourceOptions = {}) {
    this.debounceMs = opts.debounceMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 10_000;
    this.validator = opts.validator ?? defaultValidator();
    this.log = opts.logger ?? silentLogger;
    this.cwd = opts.cwd ?? process.cwd();
    this.recursive = opts.recursive ?? false;
  }

  /** Loads once. Throws only when a given path does not exist. */
  async load(): Promise<MeshSnapshot> {
    await this.reload();
    return this.current!;
  }

  /** The latest snapshot, if loaded. */
  snapshot(): MeshSnapshot | undefined {
    return this.current;
  }

  /**
   * Loads, then watches; `onChange` is called with every new snapshot whose content differs from
   * the previous one (a touched file with the same bytes does not count).
   */
  async watch(onChange: (s: MeshSnapshot) => void): Promise<MeshSnapshot> {
    const first = await this.load();
    const roots = new Set<string>();
    for (const p of this.paths) {
      const abs = resolve(this.cwd, p);
      const s = await stat(abs);
      roots.add(s.isDirectory() ? abs : dirname(abs));
    }
    for (const root of roots) {
      // Recursive watching is supported on Linux since Node 20.
      const w = watch(root, { recursive: this.recursive }, () => this.schedule(onChange));
      w.on("error", (e) => this.log.warn("file watch error", { root, error: String(e) }));
      this.watchers.push(w);
    }
    return first;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  private schedule(onChange: (s: MeshSnapshot) => void): void {
    if (this.closed) return;
    const now = Date.now();
    if (!this.timer) this.burstStart = now;
    else clearTimeout(this.timer);
    const wait = Math.max(0, Math.min(this.debounceMs, this.burstStart + this.maxDelayMs - now));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const before = this.contentHash;
      this.reloading = this.reloading.then(() => this.reload()).then(() => {
        if (!this.closed && this.contentHash !== before) onChange(this.current!);
      }).catch((e) => this.log.error("reload failed", { error: String(e) }));
    }, wait);
  }

  private async reload(): Promise<void> {
    const files = await listManifestFiles(this.paths.map((p) => resolve(this.cwd, p)), this.recursive);
    const sources = await readManifestFiles(files, this.cwd);
    const hash = createHash("sha256");
    for (const f of sources) hash.update(f.path).update("\0").update(f.text).update("\0");
    const digest = hash.digest("hex");
    if (digest === this.contentHash && this.current) return;
    const fresh = loadManifests(sources, this.validator);
    const merged = reconcile(this.current?.resources ?? [], fresh, new Set(sources.map((f) => f.path)));
    for (const s of merged.stale) {
      this.log.warn("keeping the last good version of an invalid resource", { resource: `${s.key.kind} ${s.key.namespace}/${s.key.name}`, file: s.origin.file, reason: s.reason });
    }
    this.contentHash = digest;
    this.current = {
      generation: (this.current?.generation ?? 0) + 1,
      resources: merged.resources,
      problems: fresh.problems,
      stale: merged.stale,
      ignored: fresh.ignored,
      invalidCount: fresh.invalidCount,
      files: sources.map((f) => f.path),
    };
  }
}
