/** A path into a document: object keys and array indexes, e.g. ["spec", "http", 0, "route"]. */
export type FieldPath = readonly (string | number)[];

/** One thing wrong (or worth a warning) about one field of one document. */
export interface FieldIssue {
  path: FieldPath;
  message: string;
  severity: "error" | "warning";
  /** Where to point in the source: at the field's value (default) or at its key (unknown fields). */
  at?: "value" | "key";
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
