/**
 * The one error type of the validator, and the helpers that build the field paths it carries.
 *
 * Paths use Envoy's proto field names (snake_case) whatever spelling the input used, list
 * indexes in brackets and map keys as quoted strings:
 * `filter_chains[0].filters[0].typed_config.http_filters[1].name`,
 * `typed_extension_protocol_options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]`.
 * The payload of an `Any` continues the path of the `Any` itself, as Envoy's own messages do.
 */

/** Which stage found the problem (see index.ts). */
export type ValidationStage = "decode" | "rule" | "reference";

/** One problem in one resource. */
export interface ValidationError {
  readonly stage: ValidationStage;
  /**
   * Field path inside the resource; in a snapshot prefixed with the collection and index
   * (`clusters[3].name`). The empty string is the resource itself.
   */
  readonly path: string;
  /**
   * What was checked: `unknown_field`, `wrong_type`, `oneof`, `any_type` for decoding;
   * the PGV rule (`string.min_len`, `message.required`, `oneof.required` ...) for rules;
   * `route_config`, `cluster`, `eds`, `secret`, `internal_listener`, `duplicate` for references.
   */
  readonly rule: string;
  /** Operator-facing explanation, without the path. */
  readonly message: string;
  /** The resource the error is in, when known (snapshot validation always sets it). */
  readonly resource?: { readonly collection: string; readonly name: string };
}

/** `path: message`, the one-line form used in logs, NACK-like reports and the CLI. */
export function formatValidationError(e: ValidationError): string {
  const where = e.resource && e.stage !== "reference" ? ` (${singular(e.resource.collection)} "${e.resource.name}")` : "";
  return `${e.path === "" ? "<resource>" : e.path}${where}: ${e.message}`;
}

/** Appends a field name to a path. */
export function fieldPath(path: string, name: string): string {
  return path === "" ? name : `${path}.${name}`;
}

/** Appends a list index to a path. */
export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** Appends a map key to a path. */
export function keyPath(path: string, key: string | number | bigint | boolean): string {
  return typeof key === "string" ? `${path}[${JSON.stringify(key)}]` : `${path}[${String(key)}]`;
}

/** Short description of a JSON value for "expected X, got Y" messages. */
export function describeJson(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string": {
      const s = JSON.stringify(value);
      return s.length > 40 ? `${s.slice(0, 37)}..."` : s;
    }
    case "number":
    case "boolean":
      return String(value);
    case "object":
      return "an object";
    default:
      return typeof value;
  }
}

/** Closest candidate within a small edit distance, for "did you mean" hints. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 4)) + 1;
  const lower = word.toLowerCase();
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const v = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      row.push(v);
      if (v < rowMin) rowMin = v;
    }
    if (rowMin >= cap) return cap;
    prev = row;
  }
  return prev[b.length] ?? cap;
}

function singular(collection: string): string {
  switch (collection) {
    case "listeners": return "listener";
    case "routes": return "route configuration";
    case "clusters": return "cluster";
    case "endpoints": return "cluster load assignment";
    case "secrets": return "secret";
    default: return collection;
  }
}

/** Human name of a snapshot collection's resource kind ("route configuration"). */
export const resourceKind = singular;
