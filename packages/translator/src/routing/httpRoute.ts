/**
 * HTTPRoute -> route IR for a waypoint. Each match of each rule becomes one IR route, ranked for
 * the precedence sort (precedence.ts). Gateway API defaults are applied here: a rule without
 * matches has one PathPrefix "/" match, a match without a path is PathPrefix "/", a header or
 * query match without a type is Exact, a backendRef without weight weighs 1.
 */
import type { FieldPath, HTTPRouteMatch, HTTPRouteRule, HTTPRouteSpec, LoadedResource } from "@waystation/api";
import { parseDurationMs } from "@waystation/api";
import { backend, ruleFilters, headerMutation, type GatewayContext } from "./gatewayFilters.js";
import type { ActionIR, BackendIR, MatchIR, RetryIR, RouteIR, StringMatchIR } from "./ir.js";
import { httpMatchRank, rankedRouteIR, type RankedRoute } from "./precedence.js";

/** Gateway API asks for retries on connection errors whenever a retry stanza is present (GEP-1731). */
const gatewayRetryOn = "connect-failure,refused-stream,reset";
/** Attempts when a retry stanza leaves them out (implementation-specific; Istio's default). */
const defaultAttempts = 2;

export function httpRouteIR(ctx: GatewayContext): RankedRoute[] {
  return rankedRouteIR(ctx.route as LoadedResource<HTTPRouteSpec>, (rule, at) => ruleBase(ctx, rule, at), httpMatch, httpMatchRank);
}

/** A Gateway API string match (Exact by default, or RegularExpression). */
export function valueMatch(type: string | undefined, value: string): StringMatchIR {
  return type === "RegularExpression" ? { regex: value } : { exact: value };
}

function httpMatch(m: HTTPRouteMatch): MatchIR {
  const type = m.path?.type ?? "PathPrefix";
  const value = m.path?.value ?? "/";
  return {
    path: type === "Exact" ? { kind: "exact", value } : type === "RegularExpression" ? { kind: "regex", value } : { kind: "segmentPrefix", value },
    headers: [
      ...(m.method !== undefined ? [{ name: ":method", value: { exact: m.method } }] : []),
      ...(m.headers ?? []).map((h) => ({ name: h.name.toLowerCase(), value: valueMatch(h.type, h.value) })),
    ],
    queryParams: (m.queryParams ?? []).map((q) => ({ name: q.name, value: valueMatch(q.type, q.value) })),
  };
}

/** Everything of a rule but its matches and name. */
function ruleBase(ctx: GatewayContext, rule: HTTPRouteRule, at: FieldPath): Omit<RouteIR, "name" | "source" | "matches"> {
  const f = ruleFilters(ctx, rule.filters, [...at, "filters"]);
  if (rule.sessionPersistence) {
    ctx.problems.push({ type: "PartiallyInvalid", reason: "UnsupportedValue", path: [...at, "sessionPersistence"], message: "session persistence is not supported by Waystation waypoints and is ignored" });
  }
  let action: ActionIR;
  if (f.unresolved !== undefined) action = { kind: "unresolved", status: 500, reason: f.unresolved };
  else if (f.redirect) action = f.redirect;
  else {
    const backends = (rule.backendRefs ?? []).map((b, i) => httpBackend(ctx, b, [...at, "backendRefs", i]));
    // No backendRefs and nothing that answers by itself: the rule answers 500 (HTTPRouteRule.backendRefs).
    if (backends.length === 0) action = { kind: "unresolved", status: 500, reason: "no backendRefs" };
    else {
      const timeouts = rule.timeouts;
      const requestMs = timeouts?.request !== undefined ? parseDurationMs(timeouts.request) : undefined;
      const backendMs = timeouts?.backendRequest !== undefined ? parseDurationMs(timeouts.backendRequest) : undefined;
      const retry = retryIR(rule.retry, backendMs);
      action = {
        kind: "forward",
        backends,
        // "0s" disables the request timeout, as Envoy's 0s does.
        ...(requestMs !== undefined ? { timeoutMs: requestMs } : {}),
        ...(retry ? { retry } : {}),
        ...(f.rewrite ? { rewrite: f.rewrite } : {}),
        mirrors: f.mirrors,
      };
    }
  }
  return {
    action,
    ...(f.requestHeaders ? { requestHeaders: f.requestHeaders } : {}),
    ...(f.responseHeaders ? { responseHeaders: f.responseHeaders } : {}),
    ...(f.cors ? { cors: f.cors } : {}),
  };
}

/**
 * HTTPRoute retry: attempts, status codes and a backoff base. backendRequest is the timeout of
 * each try, Envoy's per_try_timeout; it needs a retry policy even when there are no retries.
 */
function retryIR(retry: HTTPRouteRule["retry"], backendMs: number | undefined): RetryIR | undefined {
  if (!retry && backendMs === undefined) return undefined;
  const codes = retry?.codes ?? [];
  const backoff = retry?.backoff !== undefined ? parseDurationMs(retry.backoff) : undefined;
  return {
    attempts: retry ? retry.attempts ?? defaultAttempts : 0,
    ...(backendMs !== undefined && backendMs > 0 ? { perTryTimeoutMs: backendMs } : {}),
    retryOn: gatewayRetryOn,
    retriableStatusCodes: [...codes],
    ...(backoff !== undefined && backoff > 0 ? { backoffBaseMs: backoff } : {}),
  };
}

/**
 * A backendRef with its own filters. Header modifiers become the weighted cluster's header edits;
 * other filters on a backend are not supported, so that backend's share answers 500.
 */
export function httpBackend(ctx: GatewayContext, b: NonNullable<HTTPRouteRule["backendRefs"]>[number], path: FieldPath): BackendIR {
  const ir = backend(ctx, b, b.weight ?? 1, path);
  for (const [i, f] of (b.filters ?? []).entries()) {
    if (f.type === "RequestHeaderModifier") ir.requestHeaders = headerMutation(f.requestHeaderModifier);
    else if (f.type === "ResponseHeaderModifier") ir.responseHeaders = headerMutation(f.responseHeaderModifier);
    else {
      ctx.problems.push({ type: "PartiallyInvalid", reason: "UnsupportedValue", path: [...path, "filters", i], message: `a ${f.type} filter on a backendRef is not supported; this backend's share of the traffic answers 500` });
      ir.error ??= `${f.type} filter on a backend not supported`;
    }
  }
  return ir;
}
