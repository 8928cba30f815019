/** A path into a document: object keys and array indexes, e.g. ["spec", "http", 0, "route"]. */
export type FieldPath = readonly (string | number)[];

/** One thing wrong (or worth a warning) about one field of one document. */
export interface FieldIssue {
  path: FieldPath;
  message: string;
  severity: "error" | "warning";
  /** Where to point in the source: at the field's value (default) or at its key (unknown fields). */
  at?: "value" | "key";
  /**
   * For a field inside a string that holds a YAML document of its own (a ConfigMap's `data.mesh`):
   * `path.slice(0, depth)` leads to that string in the file, and line and column (1-based) are the
   * field's position inside the string. The loader maps that onto the file when it can.
   */
  embedded?: { depth: number; line: number; column: number };
}

/** Renders a path the way Kubernetes and Istio users write it: spec.http[0].route[1].weight. */
export function formatPath(path: FieldPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

export function error(path: FieldPath, message: string): FieldIssue {
  return { path, message, severity: "error" };
}

export function warning(path: FieldPath, message: string): FieldIssue {
  return { path, message, severity: "warning" };
}
