/**
 * Keeping the last good version of a resource that became invalid (DESIGN.md: "the rest keeps
 * serving, and the last good version of the rejected resource is kept"). Pure: given the previous
 * set of good resources and a fresh load, decide the set to serve and which ones are stale.
 */
import { compareKeys, keyString, type ResourceKey } from "./meta.js";
import type { LoadedResource, LoadResult } from "./load.js";

export interface Reconciled {
  /** What to serve: the fresh good resources plus kept last-good versions, sorted. */
  resources: LoadedResource[];
  /** Resources served from a previous load because their new version is invalid or unreadable. */
  stale: { key: ResourceKey; origin: LoadedResource["origin"]; reason: "invalid" | "file-unparseable" }[];
}

/**
 * A previous resource is kept when (a) its key is among the invalid documents of this load, or
 * (b) its file still exists but had YAML syntax errors and no longer yields it (we cannot tell a
 * deletion from a broken edit, so we keep serving). A resource whose file parsed cleanly and no
 * longer contains it, or whose file is gone, is removed.
 */
export function reconcile(previous: readonly LoadedResource[], fresh: LoadResult, existingFiles: ReadonlySet<string>): Reconciled {
  const out = new Map<string, LoadedResource>();
  for (const r of fresh.resources) out.set(keyString(r.key), r);
  const invalid = new Set(fresh.invalidKeys.map(keyString));
  const broken = new Set(fresh.brokenFiles);
  const stale: Reconciled["stale"] = [];
  for (const prev of previous) {
    const k = keyString(prev.key);
    if (out.has(k)) continue;
    if (invalid.has(k)) {
      out.set(k, prev);
      stale.push({ key: prev.key, origin: prev.origin, reason: "invalid" });
    } else if (broken.has(prev.origin.file) && existingFiles.has(prev.origin.file)) {
      out.set(k, prev);
      stale.push({ key: prev.key, origin: prev.origin, reason: "file-unparseable" });
    }
  }
  return {
    resources: [...out.values()].sort((a, b) => compareKeys(a.key, b.key)),
    stale: stale.sort((a, b) => compareKeys(a.key, b.key)),
  };
}
