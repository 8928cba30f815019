/**
 * Multi-document YAML parsing that keeps positions, so that an error in any field can be reported
 * as file:line:column. Comments, anchors and aliases work as in any YAML 1.2 parser.
 */
import { Alias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from "yaml";
import type { FieldPath } from "./issues.js";

/** One document of a file: its plain value, where it starts, and how to find a field in it. */
export interface ParsedDocument {
  /** 0-based index of the document in its file. */
  index: number;
  value: unknown;
  line: number;
  column: number;
  /** Position of the field at `path` (its value, or its key), falling back to the nearest ancestor. */
  locate(path: FieldPath, at?: "value" | "key"): { line: number; column: number };
}

export interface YamlSyntaxError {
  line: number;
  column: number;
  message: string;
}

export interface ParsedFile {
  documents: ParsedDocument[];
  /** Syntax errors; a broken document is dropped, the others in the file still load. */
  errors: YamlSyntaxError[];
  /** How many documents were dropped because of syntax errors. */
  brokenDocuments: number;
}

export function parseYamlFile(text: string): ParsedFile {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true, merge: true });
  const out: ParsedFile = { documents: [], errors: [], brokenDocuments: 0 };
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) {
    // An empty stream: parseAllDocuments returns an EmptyStream with its own errors.
    for (const e of (docs as unknown as { errors: { pos: [number, number]; message: string }[] }).errors ?? []) {
      const p = lc.linePos(e.pos[0]);
      out.errors.push({ line: p.line, column: p.col, message: firstLine(e.message) });
    }
    if (out.errors.length > 0) out.brokenDocuments = 1;
  }
  list.forEach((doc, index) => {
    if (doc.errors.length > 0) {
      out.brokenDocuments++;
      for (const e of doc.errors) {
        const p = lc.linePos(e.pos[0]);
        out.errors.push({ line: p.line, column: p.col, message: firstLine(e.message) });
      }
      return;
    }
    if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return; // empty document
    const start = lc.linePos(doc.contents.range?.[0] ?? 0);
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      out.errors.push({ line: start.line, column: start.col, message: (e as Error).message });
      out.brokenDocuments++;
      return;
    }
    out.documents.push({
      index,
      value,
      line: start.line,
      column: start.col,
      locate: (path, at = "value") => {
        const offset = findOffset(doc, path, at);
        const p = lc.linePos(offset ?? doc.contents?.range?.[0] ?? 0);
        return { line: p.line, column: p.col };
      },
    });
  });
  return out;
}

function findOffset(doc: Document, path: FieldPath, at: "value" | "key"): number | undefined {
  let node: Node | null | undefined = doc.contents as Node | null;
  let best = node?.range?.[0];
  for (let i = 0; i < path.length; i++) {
    node = deref(doc, node);
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) return best;
      const keyStart = (pair.key as Node).range?.[0];
      if (last && at === "key") return keyStart ?? best;
      const v = deref(doc, pair.value as Node | null);
      best = v?.range?.[0] ?? keyStart ?? best;
      node = pair.value as Node | null;
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg] as Node | undefined;
      if (!item) return best;
      best = deref(doc, item)?.range?.[0] ?? best;
      node = item;
    } else {
      return best;
    }
  }
  return best;
}

function deref(doc: Document, node: Node | null | undefined): Node | null | undefined {
  let n = node;
  for (let guard = 0; n instanceof Alias && guard < 100; guard++) n = n.resolve(doc) as Node | undefined;
  return n;
}

function firstLine(s: string): string {
  return s.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
}
