/**
 * Loading manifests from text: YAML documents -> validated, typed resources and problems with
 * file:line:column. Pure: the caller reads the files. One bad document never hides the good ones.
 */
import type { KindDef } from "./kind.js";
import { compareKeys, describeKey, keyString, type KubeObject, type ResourceKey } from "./meta.js";
import { formatProblem, type Origin, type Problem } from "./problem.js";
import { error, type FieldIssue } from "./issues.js";
import type { Validator } from "./validate.js";
import { parseYamlFile, type ParsedDocument } from "./yaml.js";

/** A validated resource and where it was defined. */
export interface LoadedResource<Spec = unknown> {
  key: ResourceKey;
  object: KubeObject<Spec>;
  origin: Origin;
  def: KindDef;
}

/** A document of a kind Waystation does not read. */
export interface Ignored {
  origin: Origin;
  reason: string;
}

export interface LoadResult {
  /** Valid resources, sorted by (group, kind, namespace, name). */
  resources: LoadedResource[];
  /** Errors and warnings, sorted by file, line, column. */
  problems: Problem[];
  ignored: Ignored[];
  /** Resources that were present but invalid: their keys, so a file source can keep the last good version. */
  invalidKeys: ResourceKey[];
  /** Files that had YAML syntax errors (some of their documents may be missing). */
  brokenFiles: string[];
  /** How many documents were rejected (schema, semantic or syntax errors). */
  invalidCount: number;
}

export interface SourceFile {
  /** Path as shown to the user (relative to where they ran the command). */
  path: string;
  text: string;
}

/** Loads every document of every file. Files are processed in path order, so results are deterministic. */
export function loadManifests(files: readonly SourceFile[], validator: Validator): LoadResult {
  const problems: Problem[] = [];
  const ignored: Ignored[] = [];
  const invalidKeys: ResourceKey[] = [];
  const brokenFiles: string[] = [];
  let invalidCount = 0;
  const seen = new Map<string, LoadedResource>();

  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const parsed = parseYamlFile(file.text);
    if (parsed.errors.length > 0) {
      brokenFiles.push(file.path);
      invalidCount += Math.max(1, parsed.brokenDocuments);
    }
    for (const e of parsed.errors) {
      problems.push({ origin: { file: file.path, line: e.line, column: e.column }, severity: "error", resource: "", path: [], message: `YAML: ${e.message}` });
    }
    for (const doc of parsed.documents) {
      for (const item of expandLists(doc)) {
        loadOne(file, doc, item.value, item.prefix);
      }
    }
  }

  function loadOne(file: SourceFile, doc: ParsedDocument, value: unknown, prefix: (string | number)[]) {
    const path = file.path;
    const origin = { file: path, ...doc.locate(prefix) };
    const result = validator.validate(value);
    const report = (issues: FieldIssue[], resource: string) => {
      for (const issue of issues) {
        const pos = issue.embedded
          ? embeddedPosition(file.text, doc.locate([...prefix, ...issue.path.slice(0, issue.embedded.depth)]), issue.embedded)
          : doc.locate([...prefix, ...issue.path], issue.at);
        problems.push({ origin: { file: path, ...pos }, severity: issue.severity, resource, path: issue.path, message: issue.message });
      }
    };
    if (result.status === "ignored") {
      ignored.push({ origin, reason: result.reason });
      return;
    }
    if (result.status === "invalid") {
      const who = result.key ? describeKey(result.key) : describeLoose(value);
      report(result.issues, who);
      if (result.key) invalidKeys.push(result.key);
      invalidCount++;
      return;
    }
    const who = describeKey(result.key);
    report(result.issues, who);
    const k = keyString(result.key);
    const first = seen.get(k);
    if (first) {
      report([error(["metadata", "name"], `duplicates the definition at ${first.origin.file}:${first.origin.line}:${first.origin.column}, which is the one used`)], who);
      invalidCount++;
      return;
    }
    seen.set(k, { key: result.key, object: result.object, origin, def: result.def });
  }

  return {
    resources: [...seen.values()].sort((a, b) => compareKeys(a.key, b.key)),
    problems: problems.sort(compareProblems),
    ignored,
    invalidKeys,
    brokenFiles,
    invalidCount,
  };
}

/**
 * The file position of a place inside a string value (FieldIssue.embedded). In a literal block
 * scalar (`mesh: |`, `|-`, `|2+` ...) content lines follow the header line one for one, each
 * indented by the block's indentation (explicit, or that of its first non-blank line; YAML 1.2
 * §8.1.1.1), so line n of the string is the header's line + n. Folded, quoted and plain scalars
 * do not keep lines, so there the string's own position is used.
 */
function embeddedPosition(text: string, at: { line: number; column: number }, inner: { line: number; column: number }): { line: number; column: number } {
  const lines = text.split(/\r?\n/);
  const headerLine = lines[at.line - 1] ?? "";
  const header = /^\|([1-9][-+]?|[-+][1-9]?)?[ \t]*(#.*)?$/.exec(headerLine.slice(at.column - 1));
  const line = at.line + inner.line;
  if (!header || inner.line < 1 || line > lines.length) return at;
  const explicit = /[1-9]/.exec(header[1] ?? "")?.[0];
  const leading = (s: string) => s.length - s.trimStart().length;
  const firstContent = lines.slice(at.line).find((l) => l.trim() !== "");
  const indent = explicit ? leading(headerLine) + Number(explicit) : firstContent === undefined ? 0 : leading(firstContent);
  return { line, column: indent + inner.column };
}

/** `kind: List` (as kubectl prints) holds its resources under items. */
function expandLists(doc: ParsedDocument): { value: unknown; prefix: (string | number)[] }[] {
  const v = doc.value as { kind?: unknown; items?: unknown } | null;
  if (v && typeof v === "object" && typeof v.kind === "string" && v.kind.endsWith("List") && Array.isArray(v.items)) {
    return v.items.map((item, i) => ({ value: item, prefix: ["items", i] }));
  }
  return [{ value: doc.value, prefix: [] }];
}

function describeLoose(value: unknown): string {
  const v = value as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } } | null;
  if (!v || typeof v !== "object" || typeof v.kind !== "string") return "";
  const name = typeof v.metadata?.name === "string" ? v.metadata.name : "";
  const ns = typeof v.metadata?.namespace === "string" ? v.metadata.namespace : "";
  return name ? `${v.kind} ${ns ? `${ns}/` : ""}${name}` : v.kind;
}

function compareProblems(a: Problem, b: Problem): number {
  return a.origin.file < b.origin.file ? -1 : a.origin.file > b.origin.file ? 1
    : a.origin.line - b.origin.line || a.origin.column - b.origin.column;
}

/** Formats every problem, one per line. */
export function formatProblems(problems: readonly Problem[]): string[] {
  return problems.map(formatProblem);
}
