/**
 * VirtualService -> route IR for a waypoint (istio-ambient.md §5.6; Istio `listener_waypoint.go`
 * getVirtualServiceForWaypoint / waypointInboundRoute, `route.go` TranslateRoute, `retry.go`).
 *
 * Which VirtualServices apply to a service at a waypoint: those bound to the mesh (no `gateways`,
 * or "mesh" among them), living in the service's or the waypoint's namespace, exported to the
 * waypoint's namespace, with a host (short names expanded in the VirtualService's namespace)
 * that matches the service host. Several are merged in Istio's config order (creationTimestamp,
 * then name, then namespace): their `http` rules are concatenated, the first match wins, and
 * nothing after a catch-all is reachable. Delegates are merged into their root as Istio merges
 * them (`mergeVirtualServicesIfNeeded`).
 *
 * Each match of each rule becomes one IR route (Istio builds one Envoy route per match, and a
 * rewrite or a route name can depend on the match). Matches on source labels or a source
 * namespace are dropped (Istio 1.25: a waypoint cannot tell clients apart by labels), as are
 * matches for another port or for gateways only.
 */
import {
  describeKey, formatPath, parseDurationMs, parseIp,
  type Destination, type FieldPath, type HTTPMatchRequest, type HTTPRoute, type HTTPRouteDestination, type HeaderOperations,
  type LoadedResource, type ResourceKey, type RouteDestination, type StringMatch, type TLSRoute, type TCPRoute, type VirtualServiceSpec,
} from "@waystation/api";
import { hostMatches, isHttp, resolveShortHost, type Condition, type MeshModel, type MeshOptions, type MeshService, type ServicePort, type Waypoint } from "@waystation/model";
import { isCatchAll } from "./envoyMatch.js";
import { httpPorts } from "./gatewayRefs.js";
import type { ActionIR, BackendIR, CorsIR, FaultIR, HeaderMatchIR, HeaderMutationIR, MatchIR, MirrorIR, RetryIR, RewriteIR, RouteIR, StringMatchIR } from "./ir.js";

/** What the VirtualServices that apply to one service port of a waypoint become. */
export interface VirtualServiceRoutes {
  /** In Envoy order (VirtualService order, one IR route per match of each http entry). */
  routes: RouteIR[];
  /** Conditions on the VirtualServices read (unsupported fields, dropped matches ...). */
  conditions: Condition[];
  /**
   * Every VirtualService that applies to this service, used or not: when HTTPRoutes take over
   * the service, routing/index.ts records on each of them that it is ignored.
   */
  sources: ResourceKey[];
}

/**
 * The route of a TCP chain from VirtualService `tls`/`tcp` rules: weighted backends, nothing
 * else (a waypoint's TCP chain cannot match on anything but its own port).
 */
export interface TcpRouteIR {
  name: string;
  source: { key: ResourceKey; path: FieldPath };
  backends: BackendIR[];
}

type VirtualService = LoadedResource<VirtualServiceSpec>;

/** Istio's retry policy when a rule has no `retries` (pilot/pkg/networking/core/route/retry). */
const defaultRetry: RetryIR = { attempts: 2, retriableStatusCodes: [503] };

const grpcCodes: Record<string, number> = {
  OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14,
  DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/** undefined: no VirtualService with HTTP rules applies to this service port. */
export function virtualServiceRoutes(model: MeshModel, waypoint: Waypoint, svc: MeshService, port: ServicePort): VirtualServiceRoutes | undefined {
  const applied = virtualServicesFor(model, waypoint, svc);
  const withHttp = applied.filter((vs) => (vs.object.spec.http?.length ?? 0) > 0);
  if (withHttp.length === 0) return undefined;
  const ctx = new Context(model, waypoint, svc, port);
  const routes: RouteIR[] = [];
  let catchAll: RouteIR | undefined;
  for (const vs of withHttp) {
    if (catchAll) {
      ctx.cond(vs.key, "PartiallyInvalid", "True", "RuleShadowed",
        `spec.http: never used for ${svc.hostname}:${port.port} at ${ctx.wp}: route ${catchAll.name} (${describeKey(catchAll.source.key)}) takes all traffic first`, true);
      continue;
    }
    for (const fr of flatten(ctx, vs)) {
      const matches: (HTTPMatchRequest | undefined)[] = fr.rule.match?.length ? fr.rule.match : [undefined];
      for (const [j, m] of matches.entries()) {
        const r = routeFor(ctx, fr, m, j);
        if (!r) continue;
        routes.push(r);
        if (r.matches.length === 0 || r.matches.every(isCatchAll)) { catchAll = r; break; }
      }
      if (catchAll) break;
    }
  }
  return { routes, conditions: ctx.conditions(), sources: applied.map((v) => v.key) };
}

/** The VirtualServices that apply to `svc` at `waypoint`, in Istio's merge order. */
export function virtualServicesFor(model: MeshModel, waypoint: Waypoint, svc: MeshService): VirtualService[] {
  return allVirtualServices(model).filter((vs) => {
    const spec = vs.object.spec;
    if (!boundToMesh(spec.gateways)) return false;
    if (vs.key.namespace !== waypoint.namespace && vs.key.namespace !== svc.namespace) return false;
    if (!exportedTo(spec.exportTo, vs.key.namespace, waypoint.namespace)) return false;
    return (spec.hosts ?? []).some((h) => hostsMatch(fqdn(h, vs.key.namespace, model.options), svc.hostname));
  });
}

/**
 * Mesh-wide conditions: VirtualServices whose hosts name a service that no waypoint serves (no
 * proxy applies them), or that a waypoint ignores because of their namespace or exportTo. Call
 * once per model, not per waypoint.
 */
export function virtualServiceStatus(model: MeshModel): Condition[] {
  const out: Condition[] = [];
  for (const vs of allVirtualServices(model)) {
    const spec = vs.object.spec;
    if (!boundToMesh(spec.gateways) || !(spec.hosts?.length)) continue;
    for (const svc of model.services) {
      if (!(spec.hosts ?? []).some((h) => hostsMatch(fqdn(h, vs.key.namespace, model.options), svc.hostname))) continue;
      const add = (status: Condition["status"], reason: string, message: string) => out.push({ resource: vs.key, type: "Accepted", status, reason, message });
      if (svc.waypoint.state !== "bound") {
        add("False", "NoWaypoint", `no waypoint serves ${svc.hostname}; the VirtualService is not applied by any proxy`);
        continue;
      }
      const w = svc.waypoint.waypoint;
      if (vs.key.namespace !== w.namespace && vs.key.namespace !== svc.namespace) {
        add("False", "NotAllowedNamespace", `waypoint ${w.namespace}/${w.name} ignores it for ${svc.hostname}: only VirtualServices in the service's namespace (${svc.namespace}) or the waypoint's (${w.namespace}) apply`);
      } else if (!exportedTo(spec.exportTo, vs.key.namespace, w.namespace)) {
        add("False", "NotExported", `waypoint ${w.namespace}/${w.name} cannot see it for ${svc.hostname}: spec.exportTo does not include namespace ${w.namespace}`);
      }
    }
  }
  return dedupe(out);
}

/**
 * The route of a TCP chain, as Istio's getWaypointTCPRoutes picks it: the first `tls` rule
 * (over all VirtualServices) that has no match or a match with exactly the service host as its
 * only SNI host, else the first matching `tcp` rule. undefined: none, use the service cluster.
 */
export function virtualServiceTcpRoute(model: MeshModel, waypoint: Waypoint, svc: MeshService, port: ServicePort): { route: TcpRouteIR; conditions: Condition[] } | undefined {
  const ctx = new Context(model, waypoint, svc, port);
  const applied = virtualServicesFor(model, waypoint, svc);
  const pick = (kind: "tls" | "tcp"): TcpRouteIR | undefined => {
    for (const vs of applied) {
      const rules: (TLSRoute | TCPRoute)[] = vs.object.spec[kind] ?? [];
      for (const [i, rule] of rules.entries()) {
        const at: FieldPath = ["spec", kind, i];
        const hit = !rule.match?.length || rule.match.some((m, j) => {
          if (kind === "tls" && ((m as TLSRoute["match"][number]).sniHosts.length !== 1 || (m as TLSRoute["match"][number]).sniHosts[0] !== svc.hostname)) return false;
          return l4Matches(ctx, vs.key, m, [...at, "match", j]);
        });
        if (!hit) continue;
        return { name: `${vs.key.namespace}.${vs.key.name}.${kind}.${i}`, source: { key: vs.key, path: at }, backends: l4Backends(ctx, vs, rule.route, [...at, "route"]) };
      }
    }
    return undefined;
  };
  const route = pick("tls") ?? pick("tcp");
  return route ? { route, conditions: ctx.conditions() } : undefined;
}

// --- Selection helpers

const vsCache = new WeakMap<MeshModel, VirtualService[]>();

/** Every VirtualService in Istio's order, computed once per model (it is asked for every service port). */
function allVirtualServices(model: MeshModel): VirtualService[] {
  let list = vsCache.get(model);
  if (!list) {
    list = (model.resources.filter((r) => r.key.group === "networking.istio.io" && r.key.kind === "VirtualService") as VirtualService[]).sort(configOrder);
    vsCache.set(model, list);
  }
  return list;
}

/** Istio's sortConfigByCreationTime: oldest first, then by name, then by namespace. */
function configOrder(a: VirtualService, b: VirtualService): number {
  const ta = a.object.metadata.creationTimestamp ?? "";
  const tb = b.object.metadata.creationTimestamp ?? "";
  return cmp(ta, tb) || cmp(a.key.name, b.key.name) || cmp(a.key.namespace, b.key.namespace);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function boundToMesh(gateways: readonly string[] | undefined): boolean {
  return !gateways || gateways.length === 0 || gateways.includes("mesh");
}

/** exportTo: empty = everywhere; "*" everywhere; "." the own namespace; else namespace names. */
function exportedTo(exportTo: readonly string[] | undefined, own: string, ns: string): boolean {
  if (!exportTo || exportTo.length === 0) return true;
  return exportTo.includes("*") || exportTo.includes(ns) || (exportTo.includes(".") && own === ns);
}

/**
 * A host as written in a VirtualService of `namespace`, fully qualified the way Istio's
 * ResolveShortnameToFQDN does it: only a name without any dot is a short name ("reviews");
 * "httpbin.org" or "reviews.other" are taken as written, as are IPs and "*".
 */
export function fqdn(host: string, namespace: string, opts: MeshOptions): string {
  if (host === "*" || host.includes(".") || parseIp(host)) return host;
  return resolveShortHost(host, namespace, opts);
}

/** Istio's host.Name.Matches: either side may be a wildcard. */
function hostsMatch(a: string, b: string): boolean {
  return hostMatches(a, b) || hostMatches(b, a);
}

// --- Context and conditions

class Context {
  readonly wp: string;
  private readonly out: Condition[] = [];
  /**
   * Conditions that do not depend on the port are recorded on the service's first HTTP port only
   * (as gatewayRoutes.ts does), so that a service with several HTTP ports does not repeat them.
   */
  private readonly primary: boolean;
  constructor(readonly model: MeshModel, readonly waypoint: Waypoint, readonly svc: MeshService, readonly port: ServicePort) {
    this.wp = `waypoint ${waypoint.namespace}/${waypoint.name}`;
    const first = httpPorts(svc)[0];
    this.primary = !isHttp(port.protocol) || first === undefined || first.port === port.port;
  }

  cond(resource: ResourceKey, type: string, status: Condition["status"], reason: string, message: string, perPort = false): void {
    if (perPort || this.primary) this.out.push({ resource, type, status, reason, message });
  }

  /** A field this waypoint does not honour; the rest of the rule still applies. */
  unsupported(resource: ResourceKey, at: FieldPath, message: string): void {
    this.cond(resource, "PartiallyInvalid", "True", "UnsupportedValue", `${formatPath(at)}: ${message}`);
  }

  conditions(): Condition[] {
    return dedupe(this.out);
  }

  /** The port a destination without one is sent to: the target's only port, else this chain's port (Istio). */
  portFor(d: Destination): number {
    if (d.port?.number !== undefined) return d.port.number;
    const target = this.model.services.find((s) => s.hostname === d.host);
    const ports = target?.ports.filter((p) => p.protocol !== "UDP") ?? [];
    return ports.length === 1 ? ports[0]!.port : this.port.port;
  }
}

/** Conditions without repeats, first occurrence order. */
function dedupe(cs: readonly Condition[]): Condition[] {
  return [...new Map(cs.map((c) => [`${describeKey(c.resource)}|${c.type}|${c.reason}|${c.message}`, c])).values()];
}

// --- Delegation: root rules with `delegate` are replaced by the delegate's rules, merged

/** An http rule ready to translate: hosts fully qualified, delegates merged in. */
interface FlatRule {
  rule: HTTPRoute;
  /** The VirtualService whose rule this is (the delegate, for a merged rule). */
  key: ResourceKey;
  path: FieldPath;
  /** Envoy route name, before the match name: "<ns>.<name>.<rule name or index>" of the root. */
  name: string;
  /** Set when the rule cannot be served: it answers 500. */
  unresolved?: string;
}

function flatten(ctx: Context, vs: VirtualService): FlatRule[] {
  const out: FlatRule[] = [];
  const base = `${vs.key.namespace}.${vs.key.name}`;
  for (const [i, raw] of (vs.object.spec.http ?? []).entries()) {
    const rule = qualify(raw, vs.key.namespace, ctx.model.options);
    const path: FieldPath = ["spec", "http", i];
    if (!rule.delegate) {
      out.push({ rule, key: vs.key, path, name: `${base}.${rule.name ?? i}` });
      continue;
    }
    const ns = rule.delegate.namespace || vs.key.namespace;
    const target = `${ns}/${rule.delegate.name}`;
    const d = allVirtualServices(ctx.model).find((x) => x.key.namespace === ns && x.key.name === rule.delegate!.name && !(x.object.spec.hosts?.length));
    let problem: string | undefined;
    if (!d) problem = `delegate VirtualService ${target} does not exist (or has hosts, so it is not a delegate)`;
    else if (!exportedTo(d.object.spec.exportTo, ns, vs.key.namespace)) problem = `delegate VirtualService ${target} is not exported to namespace ${vs.key.namespace}`;
    if (problem || !d) {
      ctx.cond(vs.key, "ResolvedRefs", "False", "DelegateNotFound", `${formatPath([...path, "delegate"])}: ${problem}; requests this rule matches get 500 at ${ctx.wp}`);
      out.push({ rule: { ...rule, delegate: undefined }, key: vs.key, path, name: `${base}.${rule.name ?? i}`, unresolved: problem });
      continue;
    }
    for (const [j, sub] of (d.object.spec.http ?? []).entries()) {
      const merged = mergeRule(rule, qualify(sub, d.key.namespace, ctx.model.options));
      if (!merged) {
        ctx.cond(d.key, "PartiallyInvalid", "True", "DelegateConflict",
          `spec.http[${j}]: its matches are not within the matches of ${formatPath(path)} of ${describeKey(vs.key)}, which delegates to it; Istio drops the rule`);
        continue;
      }
      out.push({ rule: merged, key: d.key, path: ["spec", "http", j], name: `${base}.${merged.name ?? `${i}-${j}`}` });
    }
  }
  return out;
}

/** The rule with its destination and mirror hosts fully qualified relative to `ns`. */
function qualify(rule: HTTPRoute, ns: string, opts: MeshOptions): HTTPRoute {
  const q = (d: Destination): Destination => ({ ...d, host: fqdn(d.host, ns, opts) });
  return {
    ...rule,
    ...(rule.route ? { route: rule.route.map((r) => ({ ...r, destination: q(r.destination) })) } : {}),
    ...(rule.mirror ? { mirror: q(rule.mirror) } : {}),
    ...(rule.mirrors ? { mirrors: rule.mirrors.map((m) => ({ ...m, destination: q(m.destination) })) } : {}),
  };
}

/** Istio mergeHTTPRoute: the delegate's rule inside the root's matches; undefined on a conflict. */
function mergeRule(root: HTTPRoute, sub: HTTPRoute): HTTPRoute | undefined {
  const matches = mergeMatches(root.match ?? [], sub.match ?? []);
  if (!matches) return undefined;
  const out: HTTPRoute = { ...sub, match: matches };
  const name = sub.name ? (root.name ? `${root.name}-${sub.name}` : sub.name) : root.name;
  if (name !== undefined) out.name = name;
  else delete out.name;
  for (const k of ["rewrite", "directResponse", "timeout", "retries", "fault", "mirror", "mirrorPercent", "mirror_percent", "mirrorPercentage", "corsPolicy", "mirrors", "headers"] as const) {
    if (out[k] === undefined && root[k] !== undefined) Object.assign(out, { [k]: root[k] });
  }
  return out;
}

/** Each delegate match must fit in some root match; the result is every compatible pair. */
function mergeMatches(root: readonly HTTPMatchRequest[], sub: readonly HTTPMatchRequest[]): HTTPMatchRequest[] | undefined {
  if (root.length === 0) return [...sub];
  if (sub.length === 0) return [...root];
  const out: HTTPMatchRequest[] = [];
  for (const s of sub) {
    const fits = root.filter((r) => !matchConflict(r, s));
    if (fits.length === 0) return undefined;
    out.push(...fits.map((r) => mergeMatch(r, s)));
  }
  return out;
}

function mergeMatch(root: HTTPMatchRequest, sub: HTTPMatchRequest): HTTPMatchRequest {
  const name = sub.name ? (root.name ? `${root.name}-${sub.name}` : sub.name) : root.name;
  const out: HTTPMatchRequest = { ...sub };
  if (name !== undefined) out.name = name;
  for (const k of ["uri", "scheme", "method", "authority", "port", "sourceNamespace", "statPrefix"] as const) {
    if (out[k] === undefined && root[k] !== undefined) Object.assign(out, { [k]: root[k] });
  }
  for (const k of ["headers", "withoutHeaders", "queryParams", "sourceLabels"] as const) {
    if (root[k] || sub[k]) Object.assign(out, { [k]: { ...root[k], ...sub[k] } });
  }
  if (!sub.gateways?.length && root.gateways) out.gateways = root.gateways;
  return out;
}

function matchConflict(root: HTTPMatchRequest, leaf: HTTPMatchRequest): boolean {
  for (const k of ["uri", "scheme", "method", "authority"] as const) if (stringConflict(root[k], leaf[k])) return true;
  for (const k of ["headers", "withoutHeaders", "queryParams"] as const) {
    for (const [name, m] of Object.entries(leaf[k] ?? {})) if (stringConflict(root[k]?.[name], m)) return true;
  }
  if ((root.ignoreUriCase ?? false) !== (leaf.ignoreUriCase ?? false)) return true;
  if (root.port && leaf.port && root.port !== leaf.port) return true;
  if (root.sourceNamespace && leaf.sourceNamespace !== root.sourceNamespace) return true;
  for (const [k, v] of Object.entries(leaf.sourceLabels ?? {})) if (root.sourceLabels?.[k] !== undefined && root.sourceLabels[k] !== v) return true;
  if (root.gateways?.length && leaf.gateways?.length) {
    if (leaf.gateways.some((g) => !root.gateways!.includes(g))) return true;
  }
  return false;
}

/** Istio stringMatchConflict: a leaf must narrow its root (exact within prefix, longer prefix ...). */
function stringConflict(root: StringMatch | undefined, leaf: StringMatch | undefined): boolean {
  if (!root || !leaf) return false;
  if (root.regex || leaf.regex) return true;
  if (root.exact) return leaf.prefix !== undefined && leaf.prefix !== "" ? true : leaf.exact !== root.exact;
  if (root.prefix) {
    if (leaf.prefix) return !leaf.prefix.startsWith(root.prefix);
    if (leaf.exact) return !leaf.exact.startsWith(root.prefix);
  }
  return true;
}

// --- One http rule, one match -> one IR route

function routeFor(ctx: Context, fr: FlatRule, m: HTTPMatchRequest | undefined, j: number): RouteIR | undefined {
  const rule = fr.rule;
  const at: FieldPath = m ? [...fr.path, "match", j] : fr.path;
  if (m) {
    if (m.port !== undefined && m.port !== ctx.port.port) return undefined;
    if (m.gateways?.length && !m.gateways.includes("mesh")) return undefined;
    const source = [...(Object.keys(m.sourceLabels ?? {}).length > 0 ? ["sourceLabels"] : []), ...(m.sourceNamespace ? ["sourceNamespace"] : [])];
    if (source.length > 0) {
      ctx.cond(fr.key, "PartiallyInvalid", "True", "SourceMatchDropped",
        `${formatPath(at)}: matches on ${source.join(" and ")}, which ${ctx.wp} cannot evaluate (it sees every client through ztunnel); the match is dropped, as Istio does since 1.25`);
      return undefined;
    }
  }
  const req = mutation(rule.headers?.request);
  const res = mutation(rule.headers?.response);
  const route: RouteIR = {
    name: m?.name ? `${fr.name}.${m.name}` : fr.name,
    source: { key: fr.key, path: at },
    matches: m ? [matchIR(m)] : [],
    action: actionFor(ctx, fr, req.authority),
    ...(req.mutation ? { requestHeaders: req.mutation } : {}),
    ...(res.mutation ? { responseHeaders: res.mutation } : {}),
  };
  const fault = rule.fault && faultIR(ctx, fr, rule.fault);
  if (fault) route.fault = fault;
  if (rule.corsPolicy) route.cors = corsIR(ctx, fr, rule.corsPolicy);
  return route;
}

function matchIR(m: HTTPMatchRequest): MatchIR {
  const headers: HeaderMatchIR[] = [
    ...Object.entries(m.headers ?? {}).map(([name, v]) => ({ name, ...valueOf(v) })),
    ...Object.entries(m.withoutHeaders ?? {}).map(([name, v]) => ({ name, ...valueOf(v), invert: true })),
  ].sort((a, b) => cmp(a.name, b.name));
  // Istio appends these after the sorted headers.
  for (const [name, v] of [[":method", m.method], [":authority", m.authority], [":scheme", m.scheme]] as const) {
    if (v) headers.push({ name, ...valueOf(v) });
  }
  const out: MatchIR = {
    headers,
    queryParams: Object.entries(m.queryParams ?? {}).map(([name, v]) => ({ name, ...valueOf(v) })).sort((a, b) => cmp(a.name, b.name)),
  };
  const u = m.uri;
  const ic = m.ignoreUriCase ? { ignoreCase: true } : {};
  if (u?.exact !== undefined) out.path = { kind: "exact", value: u.exact, ...ic };
  else if (u?.prefix !== undefined) out.path = { kind: "prefix", value: u.prefix, ...ic };
  // Envoy's case_sensitive does not apply to safe_regex, so ignoreUriCase has no effect there (as in Istio).
  else if (u?.regex !== undefined) out.path = { kind: "regex", value: u.regex };
  return out;
}

/** A header or query value: `{}` and the regex "*" mean "present" (Istio canBeConvertedToPresentMatch). */
function valueOf(v: StringMatch): { value?: StringMatchIR } {
  if (v.exact !== undefined) return { value: { exact: v.exact } };
  if (v.prefix !== undefined) return { value: { prefix: v.prefix } };
  if (v.regex !== undefined && v.regex !== "*") return { value: { regex: v.regex } };
  return {};
}

/** Header operations; a set/add of :authority or Host is an authority rewrite (set wins), as in Istio. */
function mutation(ops: HeaderOperations | undefined): { mutation?: HeaderMutationIR; authority?: string } {
  if (!ops) return {};
  const isAuthority = (n: string) => n.toLowerCase() === ":authority" || n.toLowerCase() === "host";
  let authority: string | undefined;
  const list = (m: Record<string, string> | undefined) => Object.entries(m ?? {}).sort(([a], [b]) => cmp(a, b));
  const pick = (m: Record<string, string> | undefined) => list(m).filter(([name, value]) => {
    if (!isAuthority(name)) return true;
    authority ??= value;
    return false;
  }).map(([name, value]) => ({ name, value }));
  const set = pick(ops.set);
  const add = pick(ops.add);
  const remove = (ops.remove ?? []).filter((n) => !isAuthority(n));
  const mutation = set.length + add.length + remove.length > 0 ? { set, add, remove } : undefined;
  return { ...(mutation ? { mutation } : {}), ...(authority !== undefined ? { authority } : {}) };
}

function actionFor(ctx: Context, fr: FlatRule, headerAuthority: string | undefined): ActionIR {
  const rule = fr.rule;
  if (fr.unresolved) return { kind: "unresolved", status: 500, reason: fr.unresolved };
  if (rule.redirect) return redirectIR(ctx, fr);
  if (rule.directResponse) {
    const b = rule.directResponse.body;
    const body = b?.string ?? (b?.bytes !== undefined ? Buffer.from(b.bytes, "base64").toString("utf8") : undefined);
    return { kind: "direct", status: rule.directResponse.status, ...(body !== undefined ? { body } : {}) };
  }
  if (!rule.route?.length) return { kind: "unresolved", status: 500, reason: "the rule has no route, redirect or direct response" };

  const single = rule.route.length === 1;
  const backends = rule.route
    .map((d, k) => ({ d, k }))
    .filter(({ d }) => single || (d.weight ?? 0) > 0)
    .map(({ d, k }) => backendIR(ctx, d, [...fr.path, "route", k], single ? 100 : d.weight ?? 0));
  // An authority set on the only destination rewrites the Host unless the rule already does.
  let destAuthority: string | undefined;
  rule.route.forEach((d, k) => {
    const a = mutation(d.headers?.request).authority;
    if (a === undefined) return;
    if (single) destAuthority = a;
    else ctx.unsupported(fr.key, [...fr.path, "route", k, "headers", "request"], "an authority (Host) rewrite per destination of a weighted split is not supported yet; it is ignored");
  });
  const authority = rule.rewrite?.authority || headerAuthority || destAuthority;
  const rewrite: RewriteIR = {
    ...(rule.rewrite?.uriRegexRewrite ? { regex: { pattern: rule.rewrite.uriRegexRewrite.match, substitution: rule.rewrite.uriRegexRewrite.rewrite } } : {}),
    // Envoy's prefix_rewrite, as Istio uses it for every match kind: it swaps the matched prefix,
    // or the whole path on an exact or regex match.
    ...(!rule.rewrite?.uriRegexRewrite && rule.rewrite?.uri ? { prefix: rule.rewrite.uri } : {}),
    ...(authority ? { authority } : {}),
  };
  const retry = retryIR(ctx, fr, rule.retries);
  return {
    kind: "forward",
    backends,
    ...(rule.timeout ? { timeoutMs: parseDurationMs(rule.timeout) ?? 0 } : {}),
    ...(retry ? { retry } : {}),
    ...(Object.keys(rewrite).length > 0 ? { rewrite } : {}),
    mirrors: mirrorsIR(ctx, fr),
  };
}

function backendIR(ctx: Context, d: HTTPRouteDestination | RouteDestination, path: FieldPath, weight: number): BackendIR {
  const out: BackendIR = { host: d.destination.host, port: ctx.portFor(d.destination), weight, path: [...path, "destination"] };
  if (d.destination.subset) out.subset = d.destination.subset;
  const headers = "headers" in d ? d.headers : undefined;
  const req = mutation(headers?.request).mutation;
  const res = mutation(headers?.response).mutation;
  if (req) out.requestHeaders = req;
  if (res) out.responseHeaders = res;
  return out;
}

/** Istio ConvertPolicy: unset -> the default policy; attempts 0 -> none; else the default overridden. */
function retryIR(ctx: Context, fr: FlatRule, r: HTTPRoute["retries"]): RetryIR | undefined {
  if (!r) return { ...defaultRetry, retriableStatusCodes: [...defaultRetry.retriableStatusCodes] };
  if ((r.attempts ?? 0) <= 0) return undefined;
  const out: RetryIR = { attempts: r.attempts!, retriableStatusCodes: [...defaultRetry.retriableStatusCodes] };
  if (r.retryOn) {
    // Numbers are HTTP status codes (retriable_status_codes); the rest are Envoy retry_on policies.
    const parts = r.retryOn.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const codes = parts.filter((p) => /^\d+$/.test(p)).map(Number);
    const policies = parts.filter((p) => !/^\d+$/.test(p));
    if (codes.length > 0 && !policies.includes("retriable-status-codes")) policies.push("retriable-status-codes");
    out.retryOn = policies.join(",");
    out.retriableStatusCodes = codes;
  }
  if (r.perTryTimeout) out.perTryTimeoutMs = parseDurationMs(r.perTryTimeout) ?? 0;
  if (r.backoff) out.backoffBaseMs = parseDurationMs(r.backoff) ?? 0;
  if (r.retryRemoteLocalities) ctx.unsupported(fr.key, [...fr.path, "retries", "retryRemoteLocalities"], "retrying in other localities is not supported at waypoints yet; retries stay with the same priority");
  return out;
}

function mirrorsIR(ctx: Context, fr: FlatRule): MirrorIR[] {
  const rule = fr.rule;
  const out: MirrorIR[] = [];
  const add = (d: Destination, percent: number, path: FieldPath) => {
    // An explicit 0% means no mirroring (Istio MirrorPercent).
    if (percent <= 0) return;
    const backend: MirrorIR["backend"] = { host: d.host, port: ctx.portFor(d), path };
    if (d.subset) backend.subset = d.subset;
    out.push({ backend, ...(percent < 100 ? { percent } : {}) });
  };
  if (rule.mirror) {
    const percent = rule.mirrorPercentage !== undefined ? rule.mirrorPercentage.value ?? 0 : rule.mirrorPercent ?? rule.mirror_percent ?? 100;
    add(rule.mirror, percent, [...fr.path, "mirror"]);
  }
  for (const [i, m] of (rule.mirrors ?? []).entries()) {
    add(m.destination, m.percentage !== undefined ? m.percentage.value ?? 0 : 100, [...fr.path, "mirrors", i, "destination"]);
  }
  return out;
}

function redirectIR(ctx: Context, fr: FlatRule): ActionIR {
  const rd = fr.rule.redirect!;
  const code = rd.redirectCode || 301;
  if (code !== 301 && code !== 302 && code !== 303 && code !== 307 && code !== 308) {
    ctx.unsupported(fr.key, [...fr.path, "redirect", "redirectCode"], `${code} is not a redirect Envoy can send (301, 302, 303, 307, 308); the rule answers 500`);
    return { kind: "unresolved", status: 500, reason: `redirect code ${code} is not supported` };
  }
  // FROM_REQUEST_PORT: the chain is per port, so the request port is known (Istio does the same).
  let port = rd.port ?? (rd.derivePort === "FROM_REQUEST_PORT" ? ctx.port.port : undefined);
  const scheme = rd.scheme || "http";
  if ((port === 80 && scheme === "http") || (port === 443 && scheme === "https")) port = undefined;
  return {
    kind: "redirect",
    ...(rd.scheme ? { scheme: rd.scheme } : {}),
    ...(rd.authority ? { host: rd.authority } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(rd.uri ? { path: { full: rd.uri } } : {}),
    status: code,
  };
}

function faultIR(ctx: Context, fr: FlatRule, f: NonNullable<HTTPRoute["fault"]>): FaultIR | undefined {
  const out: FaultIR = {};
  const at = [...fr.path, "fault"];
  if (f.delay) {
    if (f.delay.fixedDelay) {
      // percentage wins over the deprecated integer percent; neither means no request is delayed.
      out.delay = { fixedDelayMs: parseDurationMs(f.delay.fixedDelay) ?? 0, percent: f.delay.percentage?.value ?? f.delay.percent ?? 0 };
    } else {
      ctx.unsupported(fr.key, [...at, "delay"], "only fixedDelay is supported (as in Istio); the delay is ignored");
    }
  }
  if (f.abort) {
    const percent = f.abort.percentage?.value ?? 0;
    if (f.abort.httpStatus !== undefined) out.abort = { httpStatus: f.abort.httpStatus, percent };
    else if (f.abort.grpcStatus !== undefined && grpcCodes[f.abort.grpcStatus] !== undefined) out.abort = { grpcStatus: grpcCodes[f.abort.grpcStatus]!, percent };
    else ctx.unsupported(fr.key, [...at, "abort"], "only httpStatus and grpcStatus aborts are supported (as in Istio); the abort is ignored");
  }
  return out.delay || out.abort ? out : undefined;
}

function corsIR(ctx: Context, fr: FlatRule, c: NonNullable<HTTPRoute["corsPolicy"]>): CorsIR {
  const origins: StringMatchIR[] = c.allowOrigins
    ? c.allowOrigins.flatMap((o): StringMatchIR[] => (o.exact !== undefined ? [{ exact: o.exact }] : o.prefix !== undefined ? [{ prefix: o.prefix }] : o.regex !== undefined ? [{ regex: o.regex }] : []))
    : (c.allowOrigin ?? []).map((exact) => ({ exact }));
  if (c.unmatchedPreflights === "IGNORE") {
    ctx.unsupported(fr.key, [...fr.path, "corsPolicy", "unmatchedPreflights"], "IGNORE is not supported yet; preflights that match no allowed origin are forwarded (Envoy's default)");
  }
  return {
    allowOrigins: origins,
    allowMethods: c.allowMethods ?? [],
    allowHeaders: c.allowHeaders ?? [],
    exposeHeaders: c.exposeHeaders ?? [],
    ...(c.maxAge ? { maxAgeSeconds: Math.floor((parseDurationMs(c.maxAge) ?? 0) / 1000) } : {}),
    ...(c.allowCredentials !== undefined ? { allowCredentials: c.allowCredentials } : {}),
  };
}

// --- TCP / TLS rules

/** Istio matchTCP/matchTLS at a waypoint: gateways must include "mesh", the port must be ours, no source conditions. */
function l4Matches(ctx: Context, key: ResourceKey, m: { port?: number; gateways?: string[]; sourceLabels?: Record<string, string>; sourceNamespace?: string }, at: FieldPath): boolean {
  if (m.gateways?.length && !m.gateways.includes("mesh")) return false;
  if (m.port !== undefined && m.port !== ctx.port.port) return false;
  if (Object.keys(m.sourceLabels ?? {}).length > 0 || m.sourceNamespace) {
    ctx.cond(key, "PartiallyInvalid", "True", "SourceMatchDropped", `${formatPath(at)}: matches on the source, which ${ctx.wp} cannot evaluate; the match never applies`);
    return false;
  }
  return true;
}

function l4Backends(ctx: Context, vs: VirtualService, route: readonly RouteDestination[], at: FieldPath): BackendIR[] {
  const single = route.length === 1;
  return route
    .map((d, k) => ({ d: { ...d, destination: { ...d.destination, host: fqdn(d.destination.host, vs.key.namespace, ctx.model.options) } }, k }))
    .filter(({ d }) => single || (d.weight ?? 0) > 0)
    .map(({ d, k }) => backendIR(ctx, d, [...at, k], single ? 100 : d.weight ?? 0));
}
