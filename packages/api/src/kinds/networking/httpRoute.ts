/**
 * VirtualService HTTP routes: the HTTPRoute schema (match, route, redirect, directResponse,
 * delegate, rewrite, retries, fault, mirrors, CORS, headers) and its semantic checks.
 */
import { checked, int32, list, nonEmpty, obj, oneOfStrings, opt, port, str, stringMap, strings, Type, uint32, bool, type Static } from "../../schema.js";
import { error, warning, type FieldIssue } from "../../issues.js";
import { parseDurationMs } from "../../checks.js";
import {
  DestinationSchema, HeadersSchema, PercentSchema, StringMatchSchema, durationMin1ms, stringMatchMap, weight, type StringMatch,
} from "./common.js";
import { destinationIssues, gatewayNameIssues, headerMatchKeyIssue, headersIssues, isIstioLabel, labelIssues, stringMatchIssues } from "./rules.js";

/** Istio HTTPMatchRequest: all conditions of one match must hold; the matches of a rule are ORed. */
export const HTTPMatchRequestSchema = obj({
  name: opt(str()),
  uri: opt(StringMatchSchema),
  scheme: opt(StringMatchSchema),
  method: opt(StringMatchSchema),
  authority: opt(StringMatchSchema),
  headers: opt(stringMatchMap()),
  port: opt(port()),
  sourceLabels: opt(stringMap()),
  gateways: opt(strings()),
  queryParams: opt(stringMatchMap()),
  ignoreUriCase: opt(bool()),
  withoutHeaders: opt(stringMatchMap()),
  sourceNamespace: opt(str()),
  statPrefix: opt(str()),
});
/** Typed form of {@link HTTPMatchRequestSchema}. */
export type HTTPMatchRequest = Static<typeof HTTPMatchRequestSchema>;

/** One weighted destination of an HTTP rule, with its own header edits. */
export const HTTPRouteDestinationSchema = obj({ destination: DestinationSchema, weight: opt(weight()), headers: opt(HeadersSchema) });
/** Typed form of {@link HTTPRouteDestinationSchema}. */
export type HTTPRouteDestination = Static<typeof HTTPRouteDestinationSchema>;

const percentInt = () => Type.Integer({ minimum: 0, maximum: 100, "x-msg": "must be a percentage from 0 to 100" });

/** Everything an HTTP rule can carry. */
export const HTTPRouteSchema = obj({
  name: opt(str()),
  match: opt(list(HTTPMatchRequestSchema)),
  route: opt(list(HTTPRouteDestinationSchema)),
  redirect: opt(obj({
    uri: opt(str()),
    authority: opt(str()),
    port: opt(port()),
    derivePort: opt(oneOfStrings("FROM_PROTOCOL_DEFAULT", "FROM_REQUEST_PORT")),
    scheme: opt(str()),
    redirectCode: opt(uint32()),
  })),
  directResponse: opt(obj({ status: uint32(), body: opt(obj({ string: opt(str()), bytes: opt(str()) })) })),
  delegate: opt(obj({ name: nonEmpty(), namespace: opt(str()) })),
  rewrite: opt(obj({
    uri: opt(str()),
    authority: opt(str()),
    uriRegexRewrite: opt(obj({ match: checked("re2", { minLength: 1 }), rewrite: nonEmpty() })),
  })),
  timeout: opt(durationMin1ms()),
  retries: opt(obj({
    attempts: opt(int32()),
    perTryTimeout: opt(durationMin1ms()),
    retryOn: opt(str()),
    retryRemoteLocalities: opt(bool()),
    retryIgnorePreviousHosts: opt(bool()),
    backoff: opt(durationMin1ms()),
  })),
  fault: opt(obj({
    delay: opt(obj({ fixedDelay: opt(durationMin1ms()), exponentialDelay: opt(durationMin1ms()), percent: opt(percentInt()), percentage: opt(PercentSchema) })),
    abort: opt(obj({ httpStatus: opt(int32()), grpcStatus: opt(str()), http2Error: opt(str()), percentage: opt(PercentSchema) })),
  })),
  mirror: opt(DestinationSchema),
  mirrors: opt(list(obj({ destination: DestinationSchema, percentage: opt(PercentSchema) }))),
  /** Deprecated in favour of mirrorPercentage; both spellings appear in Istio's CRD. */
  mirrorPercent: opt(percentInt()),
  mirror_percent: opt(percentInt()),
  mirrorPercentage: opt(PercentSchema),
  corsPolicy: opt(obj({
    allowOrigin: opt(strings()),
    allowOrigins: opt(list(StringMatchSchema)),
    allowMethods: opt(strings()),
    allowHeaders: opt(strings()),
    exposeHeaders: opt(strings()),
    maxAge: opt(durationMin1ms()),
    allowCredentials: opt(bool()),
    unmatchedPreflights: opt(oneOfStrings("UNSPECIFIED", "FORWARD", "IGNORE")),
  })),
  headers: opt(HeadersSchema),
});
/** Typed form of {@link HTTPRouteSchema}. */
export type HTTPRoute = Static<typeof HTTPRouteSchema>;

/** Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on policies, the ones Istio accepts in retryOn. */
const retryOnPolicies = new Set([
  "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "retriable-4xx", "refused-stream",
  "retriable-status-codes", "retriable-headers", "envoy-ratelimited", "http3-post-connect-failure",
  "cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable",
]);
const grpcStatuses = new Set(["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
  "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL",
  "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"]);
const corsMethods = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "*"]);

/** Context an HTTP rule is checked in. */
export interface HTTPRouteContext {
  /** The VirtualService has no hosts, so it is a delegate and its rules may not delegate again. */
  isDelegate: boolean;
  /** The VirtualService is bound only to gateways (not "mesh"), where JWT claim routing works. */
  gatewayOnly: boolean;
}

/** Checks one HTTP rule at `p` (["spec", "http", i]). */
export function httpRouteIssues(r: HTTPRoute, p: readonly (string | number)[], ctx: HTTPRouteContext): FieldIssue[] {
  const out: FieldIssue[] = [];
  const at = (...rest: (string | number)[]) => [...p, ...rest];
  const hasRoute = (r.route?.length ?? 0) > 0;

  // What the rule does: exactly one of route, redirect, directResponse, delegate.
  const actions = (["route", "redirect", "directResponse", "delegate"] as const).filter((k) => (k === "route" ? hasRoute : r[k] !== undefined));
  if (actions.length === 0) out.push(error(p, "must set one of route, redirect, directResponse or delegate"));
  for (const extra of actions.slice(1)) {
    out.push(error(at(extra), `cannot be set together with ${actions[0]}: a rule either routes, redirects, responds directly or delegates`));
  }
  if (r.delegate && ctx.isDelegate) out.push(error(at("delegate"), "is not allowed in a delegate VirtualService (one without hosts): delegation is one level deep"));
  const answered = r.redirect ? "redirect" : r.directResponse ? "directResponse" : undefined;
  for (const k of ["rewrite", "fault"] as const) {
    if (r[k] && answered) out.push(error(at(k), `cannot be used with ${answered}: the request is never forwarded`));
  }
  if (r.mirror && r.mirrors) out.push(error(at("mirrors"), "cannot be set together with mirror; list every mirror under mirrors"));

  (r.match ?? []).forEach((m, i) => out.push(...matchIssues(m, at("match", i), ctx)));
  out.push(...weightIssues(r.route, at("route")));
  (r.route ?? []).forEach((d, i) => {
    out.push(...destinationIssues(d.destination, at("route", i, "destination")));
    out.push(...headersIssues(d.headers, at("route", i, "headers")));
  });
  out.push(...headersIssues(r.headers, at("headers")));
  out.push(...destinationIssues(r.mirror, at("mirror")));
  (r.mirrors ?? []).forEach((m, i) => out.push(...destinationIssues(m.destination, at("mirrors", i, "destination"))));

  if (r.redirect) {
    const rd = r.redirect;
    if (rd.uri === undefined && rd.authority === undefined && rd.port === undefined && rd.derivePort === undefined && rd.scheme === undefined) {
      out.push(error(at("redirect"), "must set at least one of uri, authority, scheme, port or derivePort"));
    }
    if (rd.port !== undefined && rd.derivePort !== undefined) out.push(error(at("redirect", "derivePort"), "cannot be set together with port"));
    if (rd.redirectCode !== undefined && rd.redirectCode !== 0 && (rd.redirectCode < 300 || rd.redirectCode > 399)) {
      out.push(error(at("redirect", "redirectCode"), `must be a 3xx status, not ${rd.redirectCode}`));
    }
    if (rd.scheme !== undefined && rd.scheme !== "http" && rd.scheme !== "https") out.push(error(at("redirect", "scheme"), `must be "http" or "https", not ${JSON.stringify(rd.scheme)}`));
  }
  if (r.directResponse) out.push(...directResponseIssues(r.directResponse, at("directResponse")));
  if (r.rewrite) {
    const rw = r.rewrite;
    if (rw.uri !== undefined && rw.uriRegexRewrite) out.push(error(at("rewrite", "uriRegexRewrite"), "cannot be set together with uri"));
    if (rw.uri === undefined && !rw.uriRegexRewrite && rw.authority === undefined) out.push(error(at("rewrite"), "must set uri, uriRegexRewrite or authority"));
    const req = r.headers?.request;
    const setsAuthority = [...Object.keys(req?.set ?? {}), ...Object.keys(req?.add ?? {})]
      .some((h) => h.toLowerCase() === ":authority" || h.toLowerCase() === "host");
    if (rw.authority !== undefined && setsAuthority) out.push(error(at("rewrite", "authority"), "conflicts with the authority (Host) set in headers.request; set it once"));
  }
  if (r.retries) out.push(...retryIssues(r.retries, at("retries")));
  if (r.fault) out.push(...faultIssues(r.fault, at("fault")));
  if (r.corsPolicy) out.push(...corsIssues(r.corsPolicy, at("corsPolicy")));
  return out;
}

function matchIssues(m: HTTPMatchRequest, p: readonly (string | number)[], ctx: HTTPRouteContext): FieldIssue[] {
  const out: FieldIssue[] = [];
  out.push(...stringMatchIssues(m.uri, [...p, "uri"], { allowEmptyPrefix: true }));
  for (const k of ["scheme", "method", "authority"] as const) out.push(...stringMatchIssues(m[k], [...p, k]));
  for (const k of ["headers", "withoutHeaders", "queryParams"] as const) {
    for (const [name, sm] of Object.entries<StringMatch>(m[k] ?? {})) {
      // An empty match ({}) on a header or query parameter means "is present": allowed.
      out.push(...stringMatchIssues(sm, [...p, k, name], { allowEmpty: true }));
      if (k === "queryParams") continue;
      const bad = headerMatchKeyIssue(name, [...p, k, name]);
      if (bad) out.push(bad);
      else if (name.startsWith("@request.auth.claims") && !ctx.gatewayOnly) {
        out.push({ ...error([...p, k, name], "routes on a JWT claim, which only works on gateways; this VirtualService also applies to the mesh"), at: "key" });
      }
    }
  }
  out.push(...labelIssues(m.sourceLabels, [...p, "sourceLabels"]));
  out.push(...gatewayNameIssues(m.gateways, [...p, "gateways"]));
  if (m.sourceNamespace !== undefined && !isIstioLabel(m.sourceNamespace)) out.push(error([...p, "sourceNamespace"], `must be a namespace name, not ${JSON.stringify(m.sourceNamespace)}`));
  return out;
}

/**
 * Weights are relative (Envoy gives each destination weight/sum of the traffic), so Istio only
 * rejects a multi-destination rule whose weights sum to 0. A sum other than 100 is legal but
 * usually a slip, so it is a warning.
 */
export function weightIssues(route: readonly { weight?: number }[] | undefined, path: readonly (string | number)[]): FieldIssue[] {
  if (!route || route.length < 2) return [];
  const sum = route.reduce((s, d) => s + (d.weight ?? 0), 0);
  if (sum === 0) return [error(path, "has more than one destination but every weight is 0 (or unset), so no destination gets traffic")];
  if (sum !== 100) return [warning(path, `weights sum to ${sum}, not 100; each destination gets weight/${sum} of the traffic`)];
  return [];
}

function directResponseIssues(dr: NonNullable<HTTPRoute["directResponse"]>, p: readonly (string | number)[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (dr.status < 200 || dr.status > 599) out.push(error([...p, "status"], `must be an HTTP status from 200 to 599, not ${dr.status}`));
  const body = dr.body;
  if (body?.string !== undefined && body.bytes !== undefined) out.push(error([...p, "body", "bytes"], "cannot be set together with string"));
  if (body?.bytes !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(body.bytes.replace(/\s/g, ""))) out.push(error([...p, "body", "bytes"], "must be base64-encoded"));
  const size = body?.string !== undefined ? Buffer.byteLength(body.string) : body?.bytes !== undefined ? Math.floor(body.bytes.length * 3 / 4) : 0;
  if (size > 1024 * 1024) out.push(error([...p, "body"], "must be smaller than 1MB: large direct responses slow down the control plane"));
  else if (size > 100 * 1024) out.push(warning([...p, "body"], "is over 100KB; large direct responses slow down the control plane"));
  return out;
}

function retryIssues(rt: NonNullable<HTTPRoute["retries"]>, p: readonly (string | number)[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  const attempts = rt.attempts ?? 0;
  if (attempts < 0) out.push(error([...p, "attempts"], "must not be negative"));
  if (attempts === 0 && (rt.perTryTimeout !== undefined || rt.retryOn !== undefined || rt.retryRemoteLocalities !== undefined)) {
    out.push(error([...p, "attempts"], "is 0 (retries disabled) but a retry policy is configured; set attempts or drop the policy"));
  }
  for (const policy of rt.retryOn?.split(",") ?? []) {
    if (retryOnPolicies.has(policy) || /^[1-5]\d\d$/.test(policy)) continue;
    out.push(error([...p, "retryOn"], `has ${JSON.stringify(policy)}, which is not a retry policy (e.g. "5xx", "connect-failure", "503"; no spaces)`));
  }
  return out;
}

function faultIssues(f: NonNullable<HTTPRoute["fault"]>, p: readonly (string | number)[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (!f.delay && !f.abort) out.push(error(p, "must set delay, abort or both"));
  if (f.delay) {
    if (f.delay.exponentialDelay !== undefined) out.push(error([...p, "delay", "exponentialDelay"], "is not supported by Istio; use fixedDelay"));
    else if (f.delay.fixedDelay === undefined) out.push(error([...p, "delay", "fixedDelay"], "is required"));
  }
  if (f.abort) {
    const a = f.abort;
    const set = (["httpStatus", "grpcStatus", "http2Error"] as const).filter((k) => a[k] !== undefined);
    if (set.length === 0) out.push(error([...p, "abort"], "must set one of httpStatus, grpcStatus or http2Error"));
    if (set.length > 1) out.push(error([...p, "abort", set[1]!], `cannot be set together with ${set[0]}`));
    if (a.httpStatus !== undefined && (a.httpStatus < 200 || a.httpStatus > 599)) out.push(error([...p, "abort", "httpStatus"], `must be an HTTP status from 200 to 599, not ${a.httpStatus}`));
    if (a.grpcStatus !== undefined && !grpcStatuses.has(a.grpcStatus)) out.push(error([...p, "abort", "grpcStatus"], `must be a gRPC status name such as "UNAVAILABLE" or "NOT_FOUND", not ${JSON.stringify(a.grpcStatus)}`));
    if (a.http2Error !== undefined && set.length === 1) out.push(error([...p, "abort", "http2Error"], "is not supported by Istio; use httpStatus or grpcStatus"));
  }
  return out;
}

function corsIssues(c: NonNullable<HTTPRoute["corsPolicy"]>, p: readonly (string | number)[]): FieldIssue[] {
  const out: FieldIssue[] = [];
  (c.allowOrigins ?? []).forEach((o, i) => {
    out.push(...stringMatchIssues(o, [...p, "allowOrigins", i]));
    if (o.exact === "") out.push(error([...p, "allowOrigins", i, "exact"], "must not be empty"));
  });
  (c.allowMethods ?? []).forEach((m, i) => {
    if (!corsMethods.has(m)) out.push(error([...p, "allowMethods", i], `must be an HTTP method such as "GET" or "POST" (upper case), not ${JSON.stringify(m)}`));
  });
  for (const k of ["allowHeaders", "exposeHeaders"] as const) {
    (c[k] ?? []).forEach((h, i) => {
      if (h !== "*" && !/^[-_A-Za-z0-9]+$/.test(h)) out.push(error([...p, k, i], `must be a header name or "*", not ${JSON.stringify(h)}`));
    });
  }
  if (c.maxAge !== undefined && (parseDurationMs(c.maxAge) ?? 0) % 1000 !== 0) out.push(error([...p, "maxAge"], "must be whole seconds: browsers cache preflights in seconds"));
  return out;
}
