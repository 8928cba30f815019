/**
 * The route IR: what VirtualService `http` entries and Gateway API HTTPRoute/GRPCRoute rules both
 * become before Envoy routes are built (Envoy Gateway's provider -> IR -> xDS split). Pure data, no
 * Envoy types: sources translate into it (virtualService.ts, httpRoute.ts, grpcRoute.ts) and one
 * builder (envoyRoutes.ts) turns it into Envoy routes for any proxy role, given how that role names
 * the cluster of a backend.
 */
import type { FieldPath, ResourceKey } from "@waystation/api";

/** A string comparison. `ignoreCase` applies to exact/prefix/suffix. */
export type StringMatchIR =
  | { exact: string; ignoreCase?: boolean }
  | { prefix: string; ignoreCase?: boolean }
  | { suffix: string; ignoreCase?: boolean }
  | { regex: string };

/** A header (or pseudo-header such as :authority, :method, :scheme) condition. */
export interface HeaderMatchIR {
  name: string;
  /** Omitted: the header must be present (any value). */
  value?: StringMatchIR;
  /** The condition holds when the header does NOT match (Istio withoutHeaders, Envoy invert_match). */
  invert?: boolean;
}

export interface QueryMatchIR {
  name: string;
  /** Omitted: the parameter must be present. */
  value?: StringMatchIR;
}

/** All conditions of one match must hold (AND); a route's matches are alternatives (OR). */
export interface MatchIR {
  path?:
    | { kind: "exact"; value: string; ignoreCase?: boolean }
    | { kind: "prefix"; value: string; ignoreCase?: boolean }
    /** Gateway API PathPrefix: "/foo" matches /foo and /foo/bar, not /foobar. */
    | { kind: "segmentPrefix"; value: string; ignoreCase?: boolean }
    | { kind: "regex"; value: string };
  headers: HeaderMatchIR[];
  queryParams: QueryMatchIR[];
}

export interface HeaderMutationIR {
  /** Replace (or add when absent). */
  set: { name: string; value: string }[];
  /** Append a value. */
  add: { name: string; value: string }[];
  remove: string[];
}

/** A destination: a host (FQDN), optional port and subset, and its share of the traffic. */
export interface BackendIR {
  host: string;
  port?: number;
  subset?: string;
  /** Relative weight; a route with one backend may leave it 1. */
  weight: number;
  requestHeaders?: HeaderMutationIR;
  responseHeaders?: HeaderMutationIR;
  /** Where this backend was written, for a condition when it does not resolve. */
  path: FieldPath;
  /**
   * Set by the source when the reference itself is invalid (unknown Service or port, a
   * cross-namespace reference without a ReferenceGrant, an unsupported kind). The builder then
   * answers 500 for this backend's share of the traffic without asking the ClusterResolver; the
   * source has already recorded the condition, so the builder does not report it again.
   */
  error?: string;
}

export interface RetryIR {
  /** Retries after the first try; 0 disables retries (a per-try timeout still applies). */
  attempts: number;
  perTryTimeoutMs?: number;
  /**
   * Envoy retry_on conditions, e.g. "5xx,reset,connect-failure". Omitted: Istio's default
   * "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes". The builder
   * adds "retriable-status-codes" itself when retriableStatusCodes is not empty.
   */
  retryOn?: string;
  retriableStatusCodes: number[];
  /** Gateway API backoff. */
  backoffBaseMs?: number;
}

export interface RewriteIR {
  /** Replace the matched prefix (VirtualService rewrite.uri on a prefix match; ReplacePrefixMatch). */
  prefix?: string;
  /** Replace the whole path (ReplaceFullPath; VirtualService rewrite.uri on an exact match). */
  fullPath?: string;
  regex?: { pattern: string; substitution: string };
  authority?: string;
}

export interface MirrorIR {
  backend: Omit<BackendIR, "weight">;
  /** 0..100; omitted = 100. */
  percent?: number;
}

export interface FaultIR {
  delay?: { fixedDelayMs: number; percent: number };
  abort?: { httpStatus?: number; grpcStatus?: number; percent: number };
}

export interface CorsIR {
  allowOrigins: StringMatchIR[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAgeSeconds?: number;
  allowCredentials?: boolean;
}

export type ActionIR =
  | {
    kind: "forward";
    backends: BackendIR[];
    timeoutMs?: number;
    retry?: RetryIR;
    rewrite?: RewriteIR;
    mirrors: MirrorIR[];
  }
  | {
    kind: "redirect";
    scheme?: string;
    host?: string;
    port?: number;
    /** Replace the whole path, or only the matched prefix. */
    path?: { full: string } | { prefix: string };
    status: 301 | 302 | 303 | 307 | 308;
  }
  | { kind: "direct"; status: number; body?: string }
  /**
   * The route cannot be served as written (unknown backend, unsupported feature): it stays in place
   * and answers `status` (500, as Istio and Gateway API do), so traffic never silently falls
   * through to a later route.
   */
  | { kind: "unresolved"; status: number; reason: string };

/** One route, in the order it must be tried. */
export interface RouteIR {
  /** Envoy route name, derived from the source: "<ns>.<name>.<rule name or index>". */
  name: string;
  source: { key: ResourceKey; path: FieldPath };
  /** Alternatives; empty means "everything" (prefix /). */
  matches: MatchIR[];
  action: ActionIR;
  requestHeaders?: HeaderMutationIR;
  responseHeaders?: HeaderMutationIR;
  fault?: FaultIR;
  cors?: CorsIR;
}

/**
 * How a proxy role names clusters: `{ error }` when this proxy cannot send to the backend. The
 * builder then answers 500 for that backend's share (or drops a mirror) and reports the error.
 */
export type ClusterResolver = (backend: Pick<BackendIR, "host" | "port" | "subset">) => { cluster: string } | { error: string };
