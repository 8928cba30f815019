/**
 * IR actions -> Envoy route actions: forwarding (cluster or weighted clusters, timeout, retries,
 * rewrites, mirrors), redirects, direct responses, and the 500 of a route that cannot be served.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { FieldPath } from "@waystation/api";
import {
  RedirectAction_RedirectResponseCode,
  type RedirectActionSchema, type RetryPolicySchema, type RouteActionSchema, type RouteSchema, type WeightedCluster_ClusterWeightSchema,
} from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { RegexMatchAndSubstituteSchema } from "@waystation/proto/envoy/type/matcher/v3/regex_pb.js";
import { millis } from "../envoy/build.js";
import { fractionalPercent, hasEdits, headerFields } from "./envoyHeaders.js";
import { segmentValue } from "./envoyMatch.js";
import { abort500, filterNames } from "./envoyPolicies.js";
import type { ActionIR, BackendIR, ClusterResolver, MatchIR, MirrorIR, RetryIR, RouteIR } from "./ir.js";

type ActionInit = MessageInitShape<typeof RouteSchema>["action"];
type RouteActionInit = MessageInitShape<typeof RouteActionSchema>;
type RetryPolicyInit = MessageInitShape<typeof RetryPolicySchema>;
type ClusterWeightInit = MessageInitShape<typeof WeightedCluster_ClusterWeightSchema>;
type RegexRewriteInit = MessageInitShape<typeof RegexMatchAndSubstituteSchema>;

/** Something the builder had to drop or replace, for a condition on the route's source. */
export interface BuildNote {
  /** unresolved: a backend or mirror the resolver refused (500 / no mirror); dropped: a setting Envoy would refuse. */
  kind: "unresolved" | "dropped";
  route: RouteIR;
  /** Where in the source, e.g. spec.http[0].route[1]. */
  path: FieldPath;
  message: string;
}

/** Istio's retry_on when a retry policy does not say (pilot/pkg/networking/core/route/retry). */
export const defaultRetryOn = "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes";

type Forward = Extract<ActionIR, { kind: "forward" }>;

/** A backend after resolution: its cluster, or why it has none. */
type Resolved = { backend: BackendIR; cluster: string } | { backend: BackendIR; error: string };

/** Resolves every backend and mirror of a forward action once (per route, not per match). */
export interface ResolvedForward {
  backends: Resolved[];
  mirrors: { mirror: MirrorIR; cluster: string }[];
}

export function resolveForward(route: RouteIR, a: Forward, resolve: ClusterResolver, notes: BuildNote[]): ResolvedForward {
  const one = (b: Pick<BackendIR, "host" | "port" | "subset" | "error" | "path">): { cluster: string } | { error: string } => {
    if (b.error !== undefined) return { error: b.error };
    const r = resolve(b);
    if ("error" in r) notes.push({ kind: "unresolved", route, path: b.path, message: r.error });
    return r;
  };
  const backends = a.backends.map((backend): Resolved => ({ backend, ...one(backend) }));
  const mirrors: ResolvedForward["mirrors"] = [];
  for (const mirror of a.mirrors) {
    if (mirror.percent === 0) continue;
    const r = one(mirror.backend);
    if ("cluster" in r) mirrors.push({ mirror, cluster: r.cluster });
  }
  return { backends, mirrors };
}

/** The Envoy action of one route for one of its matches (rewrites depend on the match). */
export function envoyAction(a: ActionIR, match: MatchIR, resolved: ResolvedForward | undefined): ActionInit {
  switch (a.kind) {
    case "forward":
      return forwardAction(a, match, resolved!);
    case "redirect":
      return { case: "redirect", value: redirectAction(a, match) };
    case "direct":
      return { case: "directResponse", value: { status: a.status, ...(a.body !== undefined ? { body: { specifier: { case: "inlineString", value: a.body } } } : {}) } };
    case "unresolved":
      return unresolvedAction(a.status, a.reason);
  }
}

/** A route that cannot be served answers `status` with a one-line reason, never falls through. */
export function unresolvedAction(status: number, reason: string): ActionInit {
  return { case: "directResponse", value: { status, body: { specifier: { case: "inlineString", value: `${reason}\n` } } } };
}

function forwardAction(a: Forward, match: MatchIR, r: ResolvedForward): ActionInit {
  // Gateway API: a backend with weight 0 gets no traffic; a backend that does not resolve gets
  // its share as 500s; when nothing is left, the whole rule answers 500.
  const live = r.backends.filter((x) => x.backend.weight > 0);
  const firstCluster = live.find((x): x is Extract<Resolved, { cluster: string }> => "cluster" in x)?.cluster;
  if (live.length === 0) return unresolvedAction(500, r.backends.length === 0 ? "no backends" : "all backends have weight 0");
  if (firstCluster === undefined) return unresolvedAction(500, (live[0] as { error: string }).error);

  let clusterSpecifier: RouteActionInit["clusterSpecifier"];
  const only = live[0]!;
  if (live.length === 1 && "cluster" in only && !hasEdits(only.backend.requestHeaders) && !hasEdits(only.backend.responseHeaders)) {
    clusterSpecifier = { case: "cluster", value: only.cluster };
  } else {
    // Backends that did not resolve share one aborting entry carrying their summed weight.
    const failed = live.filter((x) => "error" in x).reduce((sum, x) => sum + x.backend.weight, 0);
    const clusters = live.filter((x) => "cluster" in x).map((x) => clusterWeight(x, firstCluster));
    if (failed > 0) clusters.push({ name: firstCluster, weight: failed, typedPerFilterConfig: { [filterNames.fault]: abort500() } });
    clusterSpecifier = { case: "weightedClusters", value: { clusters } };
  }
  return {
    case: "route",
    value: {
      clusterSpecifier,
      // Istio turns off Envoy's default 15 s route timeout; a route sets its own.
      timeout: millis(a.timeoutMs ?? 0),
      ...rewriteFields(a.rewrite, match),
      ...(a.retry ? retryField(a.retry) : {}),
      ...(r.mirrors.length > 0 ? {
        requestMirrorPolicies: r.mirrors.map(({ mirror, cluster }) => ({
          cluster,
          ...(mirror.percent !== undefined && mirror.percent < 100 ? { runtimeFraction: { defaultValue: fractionalPercent(mirror.percent) } } : {}),
        })),
      } : {}),
    },
  };
}

/**
 * One weighted cluster. A backend that did not resolve has no cluster of its own; Envoy needs
 * an existing cluster name (a dangling one would also fail our snapshot validation), so the entry
 * borrows the first resolved cluster and aborts with 500 through the fault filter's per-cluster
 * config before the router ever picks a host. Envoy resolves the weighted cluster during route
 * selection, so the fault filter sees that entry's typed_per_filter_config.
 */
function clusterWeight(x: Resolved, fallbackCluster: string): ClusterWeightInit {
  if ("error" in x) return { name: fallbackCluster, weight: x.backend.weight, typedPerFilterConfig: { [filterNames.fault]: abort500() } };
  return { name: x.cluster, weight: x.backend.weight, ...headerFields(x.backend.requestHeaders, x.backend.responseHeaders).fields };
}

function retryField(r: RetryIR): { retryPolicy?: RetryPolicyInit } {
  if (r.attempts === 0 && r.perTryTimeoutMs === undefined) return {};
  const on = (r.retryOn ?? defaultRetryOn).split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (r.retriableStatusCodes.length > 0 && !on.includes("retriable-status-codes")) on.push("retriable-status-codes");
  return {
    retryPolicy: {
      retryOn: on.join(","),
      numRetries: r.attempts,
      ...(r.perTryTimeoutMs !== undefined ? { perTryTimeout: millis(r.perTryTimeoutMs) } : {}),
      ...(r.retriableStatusCodes.length > 0 ? { retriableStatusCodes: [...r.retriableStatusCodes] } : {}),
      ...(r.backoffBaseMs !== undefined && r.backoffBaseMs > 0 ? { retryBackOff: { baseInterval: millis(r.backoffBaseMs) } } : {}),
    },
  };
}

/** The rewrite fields of a RouteAction. */
interface RewriteFields {
  prefixRewrite?: string;
  regexRewrite?: RegexRewriteInit;
  hostRewriteSpecifier?: { case: "hostRewriteLiteral"; value: string };
}

function rewriteFields(rw: Forward["rewrite"], match: MatchIR): RewriteFields {
  if (!rw) return {};
  const host: RewriteFields = rw.authority !== undefined ? { hostRewriteSpecifier: { case: "hostRewriteLiteral", value: rw.authority } } : {};
  // Envoy takes one of prefix_rewrite and regex_rewrite: the full path wins, then a regex.
  if (rw.fullPath !== undefined) return { ...host, regexRewrite: { pattern: { regex: "^/.*$" }, substitution: rw.fullPath } };
  if (rw.regex !== undefined) return { ...host, regexRewrite: { pattern: { regex: rw.regex.pattern }, substitution: rw.regex.substitution } };
  if (rw.prefix !== undefined) {
    const p = prefixReplacement(match, rw.prefix);
    return { ...host, ...("regex" in p ? { regexRewrite: p.regex } : { prefixRewrite: p.prefix }) };
  }
  return host;
}

/**
 * Replacing the matched prefix. A plain prefix match (VirtualService) is Envoy's prefix_rewrite,
 * string for string. A Gateway API segment prefix follows the ReplacePrefixMatch table of the
 * spec: "/foo" -> "/xyz" turns /foo/bar into /xyz/bar, and a replacement of "/" (or "") turns
 * /foo/bar into /bar and /foo into /, which a plain string replacement would make //bar.
 */
export function prefixReplacement(match: MatchIR, replacement: string): { prefix: string } | { regex: RegexRewriteInit } {
  if (match.path?.kind !== "segmentPrefix") return { prefix: replacement };
  const p = segmentValue(match.path.value);
  const r = segmentValue(replacement);
  if (r === "") return { regex: { pattern: { regex: `^${re2Quote(p)}/*` }, substitution: "/" } };
  if (p === "") return { regex: { pattern: { regex: "^/" }, substitution: `${r}/` } };
  return { prefix: r };
}

/** Escapes RE2 metacharacters. */
export function re2Quote(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

const redirectCodes: Record<number, RedirectAction_RedirectResponseCode> = {
  301: RedirectAction_RedirectResponseCode.MOVED_PERMANENTLY,
  302: RedirectAction_RedirectResponseCode.FOUND,
  303: RedirectAction_RedirectResponseCode.SEE_OTHER,
  307: RedirectAction_RedirectResponseCode.TEMPORARY_REDIRECT,
  308: RedirectAction_RedirectResponseCode.PERMANENT_REDIRECT,
};

function redirectAction(a: Extract<ActionIR, { kind: "redirect" }>, match: MatchIR): MessageInitShape<typeof RedirectActionSchema> {
  let pathRewriteSpecifier: MessageInitShape<typeof RedirectActionSchema>["pathRewriteSpecifier"];
  if (a.path && "full" in a.path) pathRewriteSpecifier = { case: "pathRedirect", value: a.path.full };
  else if (a.path) {
    const p = prefixReplacement(match, a.path.prefix);
    pathRewriteSpecifier = "regex" in p ? { case: "regexRewrite", value: p.regex } : { case: "prefixRewrite", value: p.prefix };
  }
  return {
    ...(a.scheme !== undefined ? { schemeRewriteSpecifier: { case: "schemeRedirect", value: a.scheme } } : {}),
    ...(a.host !== undefined ? { hostRedirect: a.host } : {}),
    ...(a.port !== undefined ? { portRedirect: a.port } : {}),
    ...(pathRewriteSpecifier ? { pathRewriteSpecifier } : {}),
    responseCode: redirectCodes[a.status] ?? RedirectAction_RedirectResponseCode.FOUND,
  };
}
