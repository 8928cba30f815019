/**
 * Route IR -> the part of it a proxyless gRPC client honours (gRFC A28 routing, A31 timeouts,
 * A33 fault injection, A44 retries; grpc-js-xds 1.14 `route-config-resource-type.js` and
 * `resolver-xds.js`). Everything else is dropped here, with a note for a condition, so that the
 * shared route builder never emits a field gRPC would reject (a NACK of the whole
 * RouteConfiguration) or silently ignore (the configuration would lie about what happens):
 *
 * - matches: path exact/prefix/regex and metadata (header) matches are honoured. Gateway API
 *   segment prefixes become an exact and a prefix match (gRPC has no path_separated_prefix).
 *   A query parameter, a pseudo-header (:authority, :method ...) or a -bin header never matches a
 *   gRPC call, so such a match is dropped (and a route left without matches with it).
 * - retries: only retry_on names that are gRPC status codes count (cancelled, deadline-exceeded,
 *   internal, resource-exhausted, unavailable); HTTP status codes and per-try timeouts do not exist
 *   for gRPC; a policy without any gRPC code is dropped, as is one with zero attempts (gRPC
 *   rejects num_retries 0); gRPC caps a call at 5 attempts, which a condition points out.
 * - rewrites, mirrors, header mutations and CORS are not implemented by gRPC clients; CORS per-route
 *   config would even be rejected (it is an unknown, non-optional filter config).
 * - redirects and direct responses have no gRPC form; grpcRouteActions.ts turns them into aborts.
 * Weighted backends, timeouts (as max_stream_duration) and fault injection pass through.
 */
import type { FieldPath } from "@waystation/api";
import { defaultRetryOn } from "../routing/envoyActions.js";
import { segmentValue } from "../routing/envoyMatch.js";
import type { ActionIR, MatchIR, RetryIR, RouteIR } from "../routing/ir.js";
import { grpcCodeOfHttp } from "./routeActions.js";

/** Something of a route that gRPC clients do not get, for a condition on the route's source. */
export interface GrpcNote {
  route: RouteIR;
  path: FieldPath;
  message: string;
}

/** The retry_on names gRPC maps to status codes (grpc-js-xds resolver-xds.js RETRY_CODES). */
export const grpcRetryOn = ["cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable"] as const;

/** The routes as gRPC clients will honour them, in the same order, and what was left out. */
export function grpcRoutesIR(routes: readonly RouteIR[]): { routes: RouteIR[]; notes: GrpcNote[] } {
  const notes: GrpcNote[] = [];
  const out: RouteIR[] = [];
  for (const r of routes) {
    const note = (message: string, path: FieldPath = r.source.path) => notes.push({ route: r, path, message });
    const matches = grpcMatches(r, note);
    if (matches === undefined) continue;
    const route: RouteIR = { ...r, matches, action: grpcAction(r.action, note) };
    if (r.requestHeaders || r.responseHeaders) {
      note("header mutations are not applied by gRPC clients; they are dropped");
      delete route.requestHeaders;
      delete route.responseHeaders;
    }
    if (r.cors) {
      note("CORS does not apply to gRPC clients; the policy is dropped");
      delete route.cors;
    }
    out.push(route);
  }
  return { routes: out, notes };
}

/** undefined: no match of the route can match a gRPC call, the route is dropped. */
function grpcMatches(r: RouteIR, note: (m: string) => void): MatchIR[] | undefined {
  // An IR route without matches takes every call; one whose matches are all dropped takes none.
  if (r.matches.length === 0) return [];
  const out: MatchIR[] = [];
  for (const m of r.matches) {
    const why = m.queryParams.length > 0 ? "query parameters (a gRPC call has no query string)"
      : m.headers.some((h) => h.name.startsWith(":")) ? `pseudo-header ${m.headers.find((h) => h.name.startsWith(":"))!.name} (gRPC matches metadata only)`
        : m.headers.some((h) => h.name.endsWith("-bin")) ? "a binary (-bin) header, which gRPC never matches"
          : undefined;
    if (why) {
      note(`the match on ${why} can never match a gRPC call; it is dropped`);
      continue;
    }
    if (m.path?.kind !== "segmentPrefix") {
      out.push(m);
      continue;
    }
    // Gateway API PathPrefix "/pkg.Svc" = exactly /pkg.Svc, or anything under /pkg.Svc/.
    const v = segmentValue(m.path.value);
    const ic = m.path.ignoreCase ? { ignoreCase: true } : {};
    if (v === "") out.push({ ...m, path: { kind: "prefix", value: "/", ...ic } });
    else out.push({ ...m, path: { kind: "exact", value: v, ...ic } }, { ...m, path: { kind: "prefix", value: `${v}/`, ...ic } });
  }
  return out.length > 0 ? out : undefined;
}

function grpcAction(a: ActionIR, note: (m: string, path?: FieldPath) => void): ActionIR {
  if (a.kind === "redirect") {
    note(`gRPC clients cannot follow redirects; calls this route matches fail with ${grpcCodeOfHttp(a.status)} (the gRPC code of HTTP ${a.status})`);
    return a;
  }
  if (a.kind === "direct") {
    note(`gRPC clients have no direct responses; calls this route matches fail with ${grpcCodeOfHttp(a.status)} (the gRPC code of HTTP ${a.status})`);
    return a;
  }
  if (a.kind !== "forward") return a;
  const out: Extract<ActionIR, { kind: "forward" }> = { ...a, mirrors: [] };
  if (a.mirrors.length > 0) note("gRPC clients do not mirror traffic; the mirror is dropped");
  if (a.rewrite) {
    note("gRPC clients do not rewrite paths or authorities; the rewrite is dropped");
    delete out.rewrite;
  }
  if (a.backends.some((b) => b.requestHeaders || b.responseHeaders)) {
    note("header mutations are not applied by gRPC clients; they are dropped");
    out.backends = a.backends.map(({ requestHeaders: _q, responseHeaders: _s, ...b }) => b);
  }
  const retry = a.retry && grpcRetry(a.retry, note);
  if (retry) out.retry = retry;
  else delete out.retry;
  return out;
}

function grpcRetry(r: RetryIR, note: (m: string) => void): RetryIR | undefined {
  if (r.perTryTimeoutMs !== undefined) note("gRPC clients have no per-try timeout; perTryTimeout is ignored");
  if (r.attempts <= 0) return undefined;
  const on = (r.retryOn ?? defaultRetryOn).split(",").map((s) => s.trim()).filter((s) => s !== "");
  const kept = on.filter((x) => (grpcRetryOn as readonly string[]).includes(x));
  if (r.retryOn !== undefined) {
    // Only what the user wrote is worth a condition; Istio's default list is not theirs.
    // The builder adds retriable-status-codes itself when there are codes (envoyActions.ts).
    const written = [...on.filter((x) => x !== "retriable-status-codes"), ...r.retriableStatusCodes.map((c) => `HTTP ${c}`)];
    const ignored = written.filter((x) => !kept.includes(x));
    const only = `gRPC clients retry only on gRPC status codes (${grpcRetryOn.join(", ")})`;
    if (kept.length === 0) {
      note(`${only}; this policy retries on ${written.join(", ")}, none of which is one, so gRPC clients do not retry on this route`);
      return undefined;
    }
    if (ignored.length > 0) note(`${only}; ${ignored.join(", ")} ${ignored.length > 1 ? "are" : "is"} ignored`);
  }
  if (r.attempts > 4) note(`gRPC makes at most 5 attempts per call (gRFC A6), so ${r.attempts} retries are cut to 4`);
  const out: RetryIR = { attempts: r.attempts, retryOn: kept.join(","), retriableStatusCodes: [] };
  if (r.backoffBaseMs !== undefined) out.backoffBaseMs = r.backoffBaseMs;
  return kept.length > 0 ? out : undefined;
}
