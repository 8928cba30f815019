import { formatPath, type FieldPath } from "./issues.js";

/** Where a document (or a field in it) came from. Lines and columns are 1-based. */
export interface Origin {
  file: string;
  line: number;
  column: number;
}

/**
 * A problem found while loading: a YAML syntax error, a schema violation or a semantic check,
 * tied to the file position, the resource (when known) and the field path.
 */
export interface Problem {
  origin: Origin;
  severity: "error" | "warning";
  /** "VirtualService default/reviews", or "" when the document has no usable identity. */
  resource: string;
  path: FieldPath;
  message: string;
}

/**
 * One line per problem, e.g.
 * `examples/bad/vs.yaml:9:15 VirtualService default/reviews: spec.http[0].route[0].weight must be an integer`.
 */
export function formatProblem(p: Problem): string {
  const where = `${p.origin.file}:${p.origin.line}:${p.origin.column}`;
  const sev = p.severity === "warning" ? " warning:" : "";
  const who = p.resource ? ` ${p.resource}:` : "";
  const field = p.path.length > 0 ? `${formatPath(p.path)} ` : "";
  return `${where}${sev}${who} ${field}${p.message}`;
}
