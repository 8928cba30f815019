/**
 * Route precedence across every Gateway API route of one service port. Envoy tries routes in
 * order, so the order is the precedence.
 *
 * HTTPRoute (HTTPRouteRule.matches in the spec), per match, continuing on ties:
 *   1. an Exact path match;
 *   2. then (implementation-specific in the spec) a RegularExpression path match, longer first,
 *      as Envoy Gateway orders them: a regex next to a catch-all "/" prefix stays reachable;
 *   3. a PathPrefix match with the most characters;
 *   4. a method match;
 *   5. the most header matches;
 *   6. the most query parameter matches.
 * GRPCRoute (GRPCRouteRule.matches): the most characters in the matching service, then in the
 * method, then the most header matches (see grpcMatchRank for RegularExpression matches).
 * Then, for both, across routes: the oldest creationTimestamp (a route without one counts as
 * newest), then "{namespace}/{name}" alphabetically; within a route, the first rule, then the
 * first match.
 */
import type { FieldPath, LoadedResource } from "@waystation/api";
import type { MatchIR, RouteIR } from "./ir.js";

/** What a match is ranked by; larger wins in each field, compared in order. */
export type RankKey = readonly number[];

/** One IR route (with a single match) and where it came from. */
export interface RankedRoute {
  ir: RouteIR;
  rank: RankKey;
  route: LoadedResource;
  rule: number;
  match: number;
}

const pathTypeRank = { Exact: 3, RegularExpression: 2, PathPrefix: 1 } as const;

/** The rank of one HTTPRoute match (defaults applied: PathPrefix "/"). */
export function httpMatchRank(m: { path?: { type?: keyof typeof pathTypeRank; value?: string }; method?: string; headers?: unknown[]; queryParams?: unknown[] }): RankKey {
  const type = m.path?.type ?? "PathPrefix";
  const value = m.path?.value ?? "/";
  return [pathTypeRank[type], type === "Exact" ? 0 : value.length, m.method !== undefined ? 1 : 0, m.headers?.length ?? 0, m.queryParams?.length ?? 0];
}

/**
 * The rank of one GRPCRoute match: characters of an exact service, then of an exact method; a
 * RegularExpression match (whose "characters" mean little) after every exact name but before a
 * match with no method condition, longer regexes first; then header matches.
 */
export function grpcMatchRank(m: { method?: { type?: string; service?: string; method?: string }; headers?: unknown[] }): RankKey {
  const regex = m.method?.type === "RegularExpression";
  const service = m.method?.service?.length ?? 0;
  const method = m.method?.method?.length ?? 0;
  return [regex ? 0 : service, regex ? 0 : method, regex ? 1 : 0, regex ? service + method : 0, m.headers?.length ?? 0];
}

/** Sorts ranked routes into Envoy order (a new array; the input is left alone). */
export function byPrecedence(routes: readonly RankedRoute[]): RankedRoute[] {
  return [...routes].sort(comparePrecedence);
}

export function comparePrecedence(a: RankedRoute, b: RankedRoute): number {
  for (let i = 0; i < Math.max(a.rank.length, b.rank.length); i++) {
    const d = (b.rank[i] ?? 0) - (a.rank[i] ?? 0);
    if (d !== 0) return d;
  }
  return compareRoutes(a.route, b.route) || a.rule - b.rule || a.match - b.match;
}

/** Oldest first, then namespace/name. */
export function compareRoutes(a: LoadedResource, b: LoadedResource): number {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.key.namespace}/${a.key.name}`;
  const kb = `${b.key.namespace}/${b.key.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Milliseconds since the epoch, or +Infinity without a (parseable) creationTimestamp. */
function created(r: LoadedResource): number {
  const ts = r.object.metadata.creationTimestamp;
  const ms = typeof ts === "string" ? Date.parse(ts) : NaN;
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/**
 * The fan-out both Gateway API route kinds share: one IR route per match of every rule (a rule
 * without matches matches everything), ranked for precedence. `base` builds what a rule's routes
 * have in common (filters, backends, timeouts); `match` and `rank` interpret one match.
 */
export function rankedRouteIR<Rule extends { name?: string; matches?: Match[] }, Match>(
  route: LoadedResource<{ rules?: Rule[] }>,
  base: (rule: Rule, at: FieldPath) => Omit<RouteIR, "name" | "source" | "matches">,
  match: (m: Match) => MatchIR,
  rank: (m: Match) => RankedRoute["rank"],
): RankedRoute[] {
  const out: RankedRoute[] = [];
  (route.object.spec.rules ?? []).forEach((rule, ruleIndex) => {
    const at: FieldPath = ["spec", "rules", ruleIndex];
    const common = base(rule, at);
    const given = rule.matches && rule.matches.length > 0;
    const matches: Match[] = given ? rule.matches! : [{} as Match];
    matches.forEach((m, matchIndex) => {
      const ir: RouteIR = {
        ...common,
        name: `${route.key.namespace}.${route.key.name}.${rule.name ?? ruleIndex}`,
        source: { key: route.key, path: given ? [...at, "matches", matchIndex] : at },
        matches: [match(m)],
      };
      out.push({ ir, rank: rank(m), route, rule: ruleIndex, match: matchIndex });
    });
  });
  return out;
}
