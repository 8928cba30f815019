/**
 * Double enforcement: what happens when a policy is applied at BOTH a sidecar and a waypoint on
 * one request's path (a sidecar client sending through a waypoint, an ingress gateway with
 * `istio.io/ingress-use-waypoint`, or a sidecar-injected destination behind a waypoint). Istio
 * lets sidecars skip waypoints precisely so service policy is not applied twice
 * (istio-ambient.md §8.1); this table says, per kind and field, what goes wrong when it is.
 *
 * Risk levels:
 * - `harmless`: the outcome is the same as applying it once;
 * - `potentially-harmful`: the request still works, but behaviour changes quantitatively or
 *   depends on values (multiplied retries, compounded faults, duplicated headers, double counts);
 * - `breaking`: requests fail or are mishandled outright.
 *
 * Field paths are Istio / Gateway API field paths with list indexes written `[]`
 * (`spec.http[].retries`). An entry may apply only to one value of its field
 * (`spec.action` = `CUSTOM`). {@link enforcementRisk} finds the most specific entry for a path a
 * caller found set in a resource; a later `analyze` command reports it.
 */

export type EnforcementRisk = "harmless" | "potentially-harmful" | "breaking";

export interface EnforcementEntry {
  /** `<group>/<Kind>`, core kinds with an empty group (`/Service`). */
  kind: string;
  /** Field path with `[]` for list indexes; `spec` covers the whole object. */
  path: string;
  /** Only when the field has this value (enums, booleans as "true"/"false"). */
  value?: string;
  risk: EnforcementRisk;
  /** One line: what applying it twice does. */
  reason: string;
}

const VS = "networking.istio.io/VirtualService";
const DR = "networking.istio.io/DestinationRule";
const SE = "networking.istio.io/ServiceEntry";
const WE = "networking.istio.io/WorkloadEntry";
const AP = "security.istio.io/AuthorizationPolicy";
const RA = "security.istio.io/RequestAuthentication";
const PA = "security.istio.io/PeerAuthentication";
const TM = "telemetry.istio.io/Telemetry";
const RL = "waystation.io/RateLimitPolicy";
const GW = "gateway.networking.k8s.io/Gateway";
const HR = "gateway.networking.k8s.io/HTTPRoute";
const GR = "gateway.networking.k8s.io/GRPCRoute";
const TR = "gateway.networking.k8s.io/TCPRoute";
const RG = "gateway.networking.k8s.io/ReferenceGrant";

const e = (kind: string, path: string, risk: EnforcementRisk, reason: string, value?: string): EnforcementEntry =>
  ({ kind, path, risk, reason, ...(value !== undefined ? { value } : {}) });

/** Route behaviour shared by VirtualService and the Gateway API routes. */
const routeReasons = {
  retries: "retries multiply: each of the first proxy's attempts is retried again by the second, up to (1+n)x(1+m) upstream requests, and per-try timeouts nest",
  timeout: "the shorter of the two timeouts wins, which is the configured one when both come from the same rule; the second proxy's retries count against the first one's timeout",
  delay: "the delay is injected at both proxies: up to twice the delay, and the chance of at least one delay rises from p to 1-(1-p)^2",
  abort: "abort probabilities compound: 1-(1-p)^2 of requests fail instead of p",
  mirror: "the mirror target gets each request twice (and the first proxy's mirrored copy may pass through the second and be mirrored again)",
  headerAdd: "append semantics: the header gets the value twice (`x: v, v`), which strict parsers and signatures reject",
  headerSet: "set and remove are idempotent: applying them twice gives the same headers",
  rewrite: "the second proxy matches the already rewritten path or authority: the rewriting route no longer matches there (another route or a 404), or a prefix is rewritten twice",
  redirect: "the first proxy answers; the second never sees the request",
  split: "the second proxy splits again: the first proxy's choice of backend or subset is discarded, so canary pinning by header or weight at the first is undone",
  match: "matching is read-only: both proxies select the same route unless a rewrite sits between them",
  cors: "CORS response headers are set, not appended, and the preflight is answered by the first proxy",
};

/** The table. Every kind Waystation loads has at least one entry (the tests check). */
export const enforcementTable: readonly EnforcementEntry[] = [
  // --- networking.istio.io
  e(VS, "spec.hosts", "harmless", "which hosts a VirtualService claims is read-only; both proxies resolve the same service"),
  e(VS, "spec.http[].match", "harmless", routeReasons.match),
  e(VS, "spec.http[].retries", "potentially-harmful", routeReasons.retries),
  e(VS, "spec.http[].timeout", "harmless", routeReasons.timeout),
  e(VS, "spec.http[].fault.delay", "potentially-harmful", routeReasons.delay),
  e(VS, "spec.http[].fault.abort", "potentially-harmful", routeReasons.abort),
  e(VS, "spec.http[].mirror", "potentially-harmful", routeReasons.mirror),
  e(VS, "spec.http[].mirrors", "potentially-harmful", routeReasons.mirror),
  e(VS, "spec.http[].mirrorPercentage", "potentially-harmful", routeReasons.mirror),
  e(VS, "spec.http[].headers.request.add", "potentially-harmful", routeReasons.headerAdd),
  e(VS, "spec.http[].headers.response.add", "potentially-harmful", routeReasons.headerAdd),
  e(VS, "spec.http[].headers.request.set", "harmless", routeReasons.headerSet),
  e(VS, "spec.http[].headers.request.remove", "harmless", routeReasons.headerSet),
  e(VS, "spec.http[].headers.response.set", "harmless", routeReasons.headerSet),
  e(VS, "spec.http[].headers.response.remove", "harmless", routeReasons.headerSet),
  e(VS, "spec.http[].route[].headers.request.add", "potentially-harmful", routeReasons.headerAdd),
  e(VS, "spec.http[].route[].headers.response.add", "potentially-harmful", routeReasons.headerAdd),
  e(VS, "spec.http[].rewrite", "breaking", routeReasons.rewrite),
  e(VS, "spec.http[].redirect", "harmless", routeReasons.redirect),
  e(VS, "spec.http[].directResponse", "harmless", "the first proxy answers; the second never sees the request"),
  e(VS, "spec.http[].route", "potentially-harmful", routeReasons.split),
  e(VS, "spec.http[].corsPolicy", "harmless", routeReasons.cors),
  e(VS, "spec.tcp[].route", "potentially-harmful", routeReasons.split),
  e(VS, "spec.tls[].route", "potentially-harmful", routeReasons.split),

  e(DR, "spec.host", "harmless", "which service a DestinationRule applies to is read-only"),
  e(DR, "spec.subsets", "harmless", "subset definitions only name endpoint sets; routes decide where they are used"),
  e(DR, "spec.trafficPolicy.connectionPool", "potentially-harmful", "two pools in series: the first proxy's per-proxy limits and the waypoint's shared limits both trip, and an overflow at either is a 503"),
  e(DR, "spec.trafficPolicy.outlierDetection", "potentially-harmful", "the first proxy sees the waypoint as the only endpoint and may eject it for the backends' 5xx, leaving panic routing; ejections at the two proxies disagree"),
  e(DR, "spec.trafficPolicy.loadBalancer", "harmless", "only the proxy that picks the backend endpoint balances; consistent-hash affinity holds at the waypoint only"),
  e(DR, "spec.trafficPolicy.tls", "harmless", "HBONE hops carry mutual TLS anyway: ISTIO_MUTUAL and DISABLE change nothing on them"),
  e(DR, "spec.trafficPolicy.tls.mode", "breaking", "both proxies originate TLS: the server receives TLS inside TLS and the handshake fails", "SIMPLE"),
  e(DR, "spec.trafficPolicy.tls.mode", "breaking", "both proxies originate TLS with the client certificate: TLS inside TLS, the handshake fails", "MUTUAL"),
  e(DR, "spec.trafficPolicy.portLevelSettings[].tls.mode", "breaking", "both proxies originate TLS on that port: TLS inside TLS", "SIMPLE"),
  e(DR, "spec.trafficPolicy.portLevelSettings[].tls.mode", "breaking", "both proxies originate TLS on that port: TLS inside TLS", "MUTUAL"),
  e(DR, "spec.trafficPolicy.portLevelSettings[].connectionPool", "potentially-harmful", "two pools in series on that port; an overflow at either is a 503"),
  e(DR, "spec.trafficPolicy.portLevelSettings[].outlierDetection", "potentially-harmful", "the first proxy may eject the waypoint for the backends' errors"),
  e(DR, "spec.trafficPolicy.proxyProtocol", "breaking", "both proxies prepend a PROXY header: the server reads the second one as payload"),
  e(DR, "spec.trafficPolicy.tunnel", "breaking", "both proxies open a CONNECT tunnel: the tunnel endpoint receives a CONNECT inside a CONNECT"),

  e(SE, "spec", "harmless", "a ServiceEntry defines a destination; both proxies resolve it alike"),
  e(SE, "spec.resolution", "potentially-harmful", "with DNS resolution both proxies resolve the host and may pick different addresses during a DNS change", "DNS"),
  e(WE, "spec", "harmless", "a WorkloadEntry describes a workload; no proxy enforces it"),

  // --- security.istio.io
  e(AP, "spec.action", "harmless", "ALLOW and DENY give the same decision twice when both proxies see the same request and peer (see the rules[] entries for when they do not)", "ALLOW"),
  e(AP, "spec.action", "harmless", "a request one proxy denies never reaches the other; DENY is idempotent", "DENY"),
  e(AP, "spec.action", "potentially-harmful", "each request is audited twice, so audit counts double", "AUDIT"),
  e(AP, "spec.action", "breaking", "both proxies call the ext_authz provider: double latency and cost, and a provider that answers with a challenge or a one-time state (OAuth2 redirects, nonces) fails the second check", "CUSTOM"),
  e(AP, "spec.rules[].to[].operation", "harmless", "method, path and host are the same at both proxies unless a route rewrite sits between them"),
  e(AP, "spec.rules[].from[].source.principals", "breaking", "a proxy behind the waypoint sees the WAYPOINT's identity as peer, not the client's: an ALLOW on the client's principal denies there (Istio: backend policies must allow the waypoint)"),
  e(AP, "spec.rules[].from[].source.namespaces", "breaking", "a proxy behind the waypoint sees the waypoint's namespace as the peer's: an ALLOW on the client's namespace denies there"),
  e(AP, "spec.rules[].from[].source.serviceAccounts", "breaking", "a proxy behind the waypoint sees the waypoint's service account as the peer's: an ALLOW on the client's denies there"),
  e(AP, "spec.rules[].from[].source.ipBlocks", "potentially-harmful", "the waypoint restores the real client address, but a proxy behind it sees the waypoint pod's address"),
  e(AP, "spec.rules[].from[].source.remoteIpBlocks", "potentially-harmful", "each proxy derives the client from X-Forwarded-For with its own trust settings, and the first may append to it"),
  e(AP, "spec.rules[].from[].source.requestPrincipals", "potentially-harmful", "the second proxy sees a token only if the first forwarded it (RequestAuthentication forwardOriginalToken); otherwise an ALLOW on requestPrincipals denies there"),
  e(AP, "spec.rules[].when[]", "potentially-harmful", "L4 keys (source.ip, source.principal) differ behind a waypoint; request.auth.* keys need the token forwarded; request.headers may have been changed by the first proxy"),
  e(AP, "metadata.annotations", "harmless", "dry-run policies only log, at each proxy"),

  e(RA, "spec.jwtRules[]", "harmless", "validating the same token twice gives the same verdict, as long as the first proxy forwards it"),
  e(RA, "spec.jwtRules[].forwardOriginalToken", "breaking", "the first proxy strips the validated token, so the second sees none: its requestPrincipals and request.auth.* rules deny (403), and a token it would reject was never seen", "false"),
  e(RA, "spec.jwtRules[].forwardOriginalToken", "harmless", "the token reaches the second proxy, which validates it again to the same result", "true"),
  e(RA, "spec.jwtRules[].outputPayloadToHeader", "potentially-harmful", "both proxies add the payload header: the upstream gets it twice (`v, v`)"),
  e(RA, "spec.jwtRules[].outputClaimToHeaders", "potentially-harmful", "both proxies write the claim headers; a client-sent header of the same name is overwritten at the first and may be duplicated at the second"),
  e(RA, "spec.jwtRules[].jwksUri", "harmless", "each proxy fetches and caches the key set; during a key rotation one may reject a new key for up to the cache duration (5 min)"),

  e(PA, "spec.mtls.mode", "harmless", "both hops already require mutual TLS", "STRICT"),
  e(PA, "spec.mtls.mode", "harmless", "PERMISSIVE only admits plaintext from outside the mesh at the workload's own ztunnel; hops through a waypoint are mutual TLS either way", "PERMISSIVE"),
  e(PA, "spec.mtls.mode", "breaking", "a sidecar told to accept or send plaintext cannot talk to a waypoint that always speaks HBONE mutual TLS (Waystation rejects DISABLE when loading)", "DISABLE"),
  e(PA, "spec.mtls", "harmless", "mutual TLS is negotiated per hop; requiring it at two hops is the same as at one"),
  e(PA, "spec.portLevelMtls", "harmless", "port-level modes apply to workload ports at the workload's own proxy; the waypoint's HBONE hop is always mutual TLS"),

  e(TM, "spec.metrics", "harmless", "both proxies count the request; the reporter label (source / destination / waypoint) tells the series apart, so sums across reporters double-count"),
  e(TM, "spec.accessLogging", "potentially-harmful", "each request is logged by both proxies; log-based request counts double unless filtered by proxy"),
  e(TM, "spec.tracing", "harmless", "each proxy adds its own span to the same trace; sampling is decided once and propagated"),

  e(RL, "spec.global", "potentially-harmful", "each request is counted twice against the shared counter, so clients get half the configured rate"),
  e(RL, "spec.local", "potentially-harmful", "each request takes a token at both proxies' buckets: the tighter bucket decides, and bursts are cut short"),
  e(RL, "spec.shadow", "harmless", "shadow mode only reports, at each proxy"),

  // --- gateway.networking.k8s.io
  e(GW, "spec", "harmless", "the Gateway defines the waypoint itself; it is not applied per request"),
  e(HR, "spec.parentRefs", "harmless", "which service or gateway a route attaches to is read-only"),
  e(HR, "spec.rules[].matches", "harmless", routeReasons.match),
  e(HR, "spec.rules[].backendRefs", "potentially-harmful", routeReasons.split),
  e(HR, "spec.rules[].timeouts", "harmless", routeReasons.timeout),
  e(HR, "spec.rules[].retry", "potentially-harmful", routeReasons.retries),
  e(HR, "spec.rules[].filters[].requestHeaderModifier.add", "potentially-harmful", routeReasons.headerAdd),
  e(HR, "spec.rules[].filters[].responseHeaderModifier.add", "potentially-harmful", routeReasons.headerAdd),
  e(HR, "spec.rules[].filters[].requestHeaderModifier", "harmless", routeReasons.headerSet),
  e(HR, "spec.rules[].filters[].responseHeaderModifier", "harmless", routeReasons.headerSet),
  e(HR, "spec.rules[].filters[].requestMirror", "potentially-harmful", routeReasons.mirror),
  e(HR, "spec.rules[].filters[].urlRewrite", "breaking", routeReasons.rewrite),
  e(HR, "spec.rules[].filters[].requestRedirect", "harmless", routeReasons.redirect),
  e(HR, "spec.rules[].filters[].cors", "harmless", routeReasons.cors),
  e(GR, "spec.parentRefs", "harmless", "which service a route attaches to is read-only"),
  e(GR, "spec.rules[].matches", "harmless", routeReasons.match),
  e(GR, "spec.rules[].backendRefs", "potentially-harmful", routeReasons.split),
  e(GR, "spec.rules[].filters[].requestHeaderModifier.add", "potentially-harmful", routeReasons.headerAdd),
  e(GR, "spec.rules[].filters[].responseHeaderModifier.add", "potentially-harmful", routeReasons.headerAdd),
  e(GR, "spec.rules[].filters[].requestHeaderModifier", "harmless", routeReasons.headerSet),
  e(GR, "spec.rules[].filters[].responseHeaderModifier", "harmless", routeReasons.headerSet),
  e(GR, "spec.rules[].filters[].requestMirror", "potentially-harmful", routeReasons.mirror),
  e(TR, "spec.parentRefs", "harmless", "which service a route attaches to is read-only"),
  e(TR, "spec.rules[].backendRefs", "potentially-harmful", routeReasons.split),
  e(RG, "spec", "harmless", "a ReferenceGrant only permits cross-namespace references; no proxy enforces it"),

  // --- core
  e("/ConfigMap", "metadata", "harmless", "the mesh config holds mesh-wide settings the control plane reads; no proxy applies a ConfigMap per request"),
  e("/Namespace", "metadata.labels", "harmless", "namespace labels select waypoints and ambient capture; they are not applied per request"),
  e("/Service", "spec.ports", "harmless", "ports and their protocols are read-only; both proxies derive the same protocol"),
  e("/Service", "metadata.labels", "harmless", "service labels select a waypoint; they are not applied per request"),
  e("/Pod", "metadata.labels", "harmless", "pod labels select policies and services; they are not applied per request"),
  e("/ServiceAccount", "metadata", "harmless", "a service account is an identity, not a policy"),
];

/** `spec.http[2].retries.attempts` -> `spec.http[].retries.attempts`. */
export function normalizePath(path: string): string {
  return path.replace(/\[[^\]]*\]/g, "[]");
}

/** Dot-separated segments, list markers dropped: `spec.http[].route` and `spec.http.route` are the same field. */
const segments = (p: string) => p.split(".").map((s) => s.replace(/\[\]$/, ""));
const isPrefix = (prefix: string, path: string) => {
  const [a, b] = [segments(prefix), segments(path)];
  return a.length <= b.length && a.every((s, i) => s === b[i]);
};

/** `VirtualService`, `networking.istio.io/VirtualService`, `Service` or `/Service`. */
function kindMatches(entryKind: string, kind: string): boolean {
  return kind.includes("/") ? entryKind === kind : entryKind.slice(entryKind.indexOf("/") + 1) === kind;
}

/**
 * The entry for a field set in a resource of `kind`: the one with the longest path that is a
 * prefix of `fieldPath` (by dot-separated segments, list indexes ignored), preferring an entry for
 * exactly `value` over one for any value. undefined when the table does not cover the field.
 */
export function enforcementRisk(kind: string, fieldPath: string, value?: string | boolean | number): EnforcementEntry | undefined {
  const path = normalizePath(fieldPath);
  const v = value === undefined ? undefined : String(value);
  const candidates = enforcementTable.filter((x) => kindMatches(x.kind, kind) && isPrefix(x.path, path) && (x.value === undefined || x.value === v));
  return candidates.sort((a, b) => segments(b.path).length - segments(a.path).length || (a.value === undefined ? 1 : 0) - (b.value === undefined ? 1 : 0))[0];
}
