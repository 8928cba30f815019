/**
 * DestinationRule traffic policy: load balancing, connection pool, outlier detection, client TLS,
 * port-level overrides, tunnelling, PROXY protocol and retry budget, with Istio's semantic checks.
 */
import { bool, duration, list, nonEmpty, obj, oneOfStrings, opt, percent, port, str, strings, Type, uint32, type Static } from "../../schema.js";
import { error, formatPath, warning, type FieldIssue } from "../../issues.js";
import { ClientTLSSettingsSchema, PortSelectorSchema, durationMin1ms, type ClientTLSSettings } from "./common.js";
import { fqdnError, isIp } from "./rules.js";

type Path = readonly (string | number)[];
const nonNegInt32 = () => Type.Integer({ minimum: 0, maximum: 2147483647, "x-msg": "must be a whole number from 0 to 2147483647" });
const percentInt = () => Type.Integer({ minimum: 0, maximum: 100, "x-msg": "must be a percentage from 0 to 100" });

/** Istio LoadBalancerSettings: a simple policy or consistent hashing, plus locality and warmup. */
export const LoadBalancerSettingsSchema = obj({
  simple: opt(oneOfStrings("UNSPECIFIED", "LEAST_CONN", "RANDOM", "PASSTHROUGH", "ROUND_ROBIN", "LEAST_REQUEST")),
  consistentHash: opt(obj({
    httpHeaderName: opt(nonEmpty()),
    httpCookie: opt(obj({ name: nonEmpty(), path: opt(str()), ttl: opt(duration()), attributes: opt(list(obj({ name: nonEmpty(), value: opt(str()) }))) })),
    useSourceIp: opt(bool()),
    httpQueryParameterName: opt(nonEmpty()),
    ringHash: opt(obj({ minimumRingSize: opt(Type.Integer({ minimum: 0 })) })),
    maglev: opt(obj({ tableSize: opt(Type.Integer({ minimum: 0 })) })),
    /** Deprecated: use ringHash.minimumRingSize. */
    minimumRingSize: opt(Type.Integer({ minimum: 0 })),
  })),
  localityLbSetting: opt(obj({
    distribute: opt(list(obj({ from: opt(str()), to: opt(Type.Record(Type.String(), uint32())) }))),
    failover: opt(list(obj({ from: opt(str()), to: opt(str()) }))),
    failoverPriority: opt(strings()),
    enabled: opt(bool()),
  })),
  /** Deprecated: use warmup.duration. */
  warmupDurationSecs: opt(durationMin1ms()),
  warmup: opt(obj({ duration: durationMin1ms(), minimumPercent: opt(percent()), aggression: opt(Type.Number({ minimum: 0 })) })),
});

/** Istio ConnectionPoolSettings (circuit breaking). */
export const ConnectionPoolSettingsSchema = obj({
  tcp: opt(obj({
    maxConnections: opt(nonNegInt32()),
    connectTimeout: opt(durationMin1ms()),
    tcpKeepalive: opt(obj({ probes: opt(uint32()), time: opt(durationMin1ms()), interval: opt(durationMin1ms()) })),
    maxConnectionDuration: opt(durationMin1ms()),
    idleTimeout: opt(duration()),
  })),
  http: opt(obj({
    http1MaxPendingRequests: opt(nonNegInt32()),
    http2MaxRequests: opt(nonNegInt32()),
    maxRequestsPerConnection: opt(nonNegInt32()),
    maxRetries: opt(nonNegInt32()),
    idleTimeout: opt(durationMin1ms()),
    h2UpgradePolicy: opt(oneOfStrings("DEFAULT", "DO_NOT_UPGRADE", "UPGRADE")),
    useClientProtocol: opt(bool()),
    maxConcurrentStreams: opt(nonNegInt32()),
  })),
});

/** Istio OutlierDetection (passive health checking). */
export const OutlierDetectionSchema = obj({
  /** Deprecated: use consecutive5xxErrors or consecutiveGatewayErrors. */
  consecutiveErrors: opt(Type.Integer({ minimum: -2147483648, maximum: 2147483647 })),
  splitExternalLocalOriginErrors: opt(bool()),
  consecutiveLocalOriginFailures: opt(uint32()),
  consecutiveGatewayErrors: opt(uint32()),
  consecutive5xxErrors: opt(uint32()),
  interval: opt(durationMin1ms()),
  baseEjectionTime: opt(durationMin1ms()),
  maxEjectionPercent: opt(percentInt()),
  minHealthPercent: opt(percentInt()),
});

const policyFields = {
  loadBalancer: opt(LoadBalancerSettingsSchema),
  connectionPool: opt(ConnectionPoolSettingsSchema),
  outlierDetection: opt(OutlierDetectionSchema),
  tls: opt(ClientTLSSettingsSchema),
};

/** Per-port overrides inside a traffic policy. */
export const PortTrafficPolicySchema = obj({ port: PortSelectorSchema, ...policyFields });

/** Istio TrafficPolicy, at the top of a DestinationRule or in a subset. */
export const TrafficPolicySchema = obj({
  ...policyFields,
  portLevelSettings: opt(list(PortTrafficPolicySchema)),
  tunnel: opt(obj({ protocol: opt(oneOfStrings("CONNECT", "POST")), targetHost: nonEmpty(), targetPort: port() })),
  proxyProtocol: opt(obj({ version: opt(oneOfStrings("V1", "V2")) })),
  retryBudget: opt(obj({ percent: opt(percent()), minRetryConcurrency: opt(uint32()) })),
});
/** Typed form of {@link TrafficPolicySchema}. */
export type TrafficPolicy = Static<typeof TrafficPolicySchema>;
/** Typed form of {@link LoadBalancerSettingsSchema}. */
export type LoadBalancerSettings = Static<typeof LoadBalancerSettingsSchema>;
/** Typed form of {@link PortTrafficPolicySchema}. */
export type PortTrafficPolicy = Static<typeof PortTrafficPolicySchema>;

/** Checks a traffic policy at `p`. */
export function trafficPolicyIssues(tp: TrafficPolicy | undefined, p: Path): FieldIssue[] {
  if (!tp) return [];
  const out: FieldIssue[] = [];
  if (Object.keys(tp).length === 0) out.push(error(p, "must set at least one field (or be left out)"));
  if (tp.tunnel && tp.proxyProtocol) out.push(error([...p, "proxyProtocol"], "cannot be set together with tunnel"));
  out.push(...policyIssues(tp, p));
  const ports = new Map<number, number>();
  (tp.portLevelSettings ?? []).forEach((pl, i) => {
    const at = [...p, "portLevelSettings", i];
    const prev = ports.get(pl.port.number);
    if (prev !== undefined) out.push(error([...at, "port", "number"], `duplicates ${formatPath([...p, "portLevelSettings", prev, "port", "number"])} (${pl.port.number})`));
    ports.set(pl.port.number, i);
    if (!pl.loadBalancer && !pl.connectionPool && !pl.outlierDetection && !pl.tls) out.push(error(at, "must set at least one of loadBalancer, connectionPool, outlierDetection or tls"));
    out.push(...policyIssues(pl, at));
  });
  if (tp.tunnel) {
    if (fqdnError(tp.tunnel.targetHost) && !isIp(tp.tunnel.targetHost)) {
      out.push(error([...p, "tunnel", "targetHost"], `must be a DNS name or an IP address, not ${JSON.stringify(tp.tunnel.targetHost)}`));
    }
  }
  return out;
}

function policyIssues(tp: PortTrafficPolicy | TrafficPolicy, p: Path): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (tp.loadBalancer) out.push(...loadBalancerIssues(tp.loadBalancer, [...p, "loadBalancer"], tp.outlierDetection !== undefined));
  const cp = tp.connectionPool;
  if (cp) {
    if (!cp.tcp && !cp.http) out.push(error([...p, "connectionPool"], "must set tcp, http or both"));
    if (cp.http?.h2UpgradePolicy === "UPGRADE" && cp.http.useClientProtocol) {
      out.push(error([...p, "connectionPool", "http", "useClientProtocol"], "cannot be true when h2UpgradePolicy is UPGRADE"));
    }
  }
  const od = tp.outlierDetection;
  if (od) {
    if (od.consecutiveErrors !== undefined && od.consecutiveErrors !== 0) {
      out.push(warning([...p, "outlierDetection", "consecutiveErrors"], "is deprecated; use consecutive5xxErrors or consecutiveGatewayErrors"));
    }
    if ((od.consecutiveLocalOriginFailures ?? 0) > 0 && !od.splitExternalLocalOriginErrors) {
      out.push(error([...p, "outlierDetection", "consecutiveLocalOriginFailures"], "only counts when splitExternalLocalOriginErrors is true"));
    }
  }
  if (tp.tls) out.push(...tlsIssues(tp.tls, [...p, "tls"]));
  return out;
}

function loadBalancerIssues(lb: LoadBalancerSettings, p: Path, hasOutlier: boolean): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (lb.simple !== undefined && lb.consistentHash) out.push(error([...p, "consistentHash"], "cannot be set together with simple"));
  const ch = lb.consistentHash;
  if (ch) {
    const keys = (["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"] as const).filter((k) => ch[k] !== undefined);
    if (keys.length === 0) out.push(error([...p, "consistentHash"], "must set one of httpHeaderName, httpCookie, useSourceIp or httpQueryParameterName"));
    if (keys.length > 1) out.push(error([...p, "consistentHash", keys[1]!], `cannot be set together with ${keys[0]}: hash on one key`));
    if (ch.ringHash && ch.maglev) out.push(error([...p, "consistentHash", "maglev"], "cannot be set together with ringHash"));
    if (ch.minimumRingSize !== undefined && ch.minimumRingSize !== 0) {
      if (ch.ringHash || ch.maglev) out.push(error([...p, "consistentHash", "minimumRingSize"], "cannot be set together with ringHash or maglev"));
      else out.push(warning([...p, "consistentHash", "minimumRingSize"], "is deprecated; use ringHash.minimumRingSize"));
    }
    const size = ch.maglev?.tableSize;
    if (size !== undefined && size !== 0 && !isPrime(size)) out.push(error([...p, "consistentHash", "maglev", "tableSize"], `must be a prime number (Envoy requires it), such as 65537, not ${size}`));
  }
  if (lb.warmup && lb.warmupDurationSecs !== undefined) out.push(error([...p, "warmupDurationSecs"], "cannot be set together with warmup; use warmup.duration"));
  if (lb.localityLbSetting) out.push(...localityIssues(lb.localityLbSetting, [...p, "localityLbSetting"], hasOutlier));
  return out;
}

function localityIssues(l: NonNullable<LoadBalancerSettings["localityLbSetting"]>, p: Path, hasOutlier: boolean): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (l.distribute?.length && l.failover?.length) out.push(error([...p, "failover"], "cannot be set together with distribute"));
  if (l.failover?.length) {
    (l.failoverPriority ?? []).forEach((label, i) => {
      if (["topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"].includes(label)) {
        out.push(error([...p, "failoverPriority", i], `cannot name the topology label ${label} when failover is set`));
      }
    });
  }
  (l.distribute ?? []).forEach((d, i) => {
    let sum = 0;
    for (const [loc, w] of Object.entries(d.to ?? {})) {
      if (w < 1 || w > 100) out.push(error([...p, "distribute", i, "to", loc], "must be a weight from 1 to 100"));
      sum += w;
    }
    if (sum !== 100) out.push(error([...p, "distribute", i, "to"], `weights must sum to 100, not ${sum}`));
  });
  (l.failover ?? []).forEach((f, i) => {
    const at = [...p, "failover", i];
    if (f.from === f.to) out.push(error(at, "must fail over to a different region"));
    for (const k of ["from", "to"] as const) {
      const v = f[k] ?? "";
      if (v.includes("/")) out.push(error([...at, k], "must be a region only (no zone or subzone)"));
      else if (v.includes("*")) out.push(error([...at, k], "must not contain the '*' wildcard"));
    }
  });
  if ((l.failover?.length || l.failoverPriority?.length) && !hasOutlier) {
    out.push(warning(p, "sets failover but the traffic policy has no outlierDetection, so unhealthy endpoints are never ejected and failover never happens"));
  }
  return out;
}

/** Client TLS rules (Istio validateTLS). */
export function tlsIssues(t: ClientTLSSettings, p: Path): FieldIssue[] {
  const out: FieldIssue[] = [];
  if (t.insecureSkipVerify) {
    if (t.mode === "SIMPLE" && (t.caCertificates || t.credentialName || t.subjectAltNames)) {
      out.push(error([...p, "insecureSkipVerify"], "cannot be true with caCertificates, credentialName or subjectAltNames, which only matter when verifying"));
    }
    if (t.mode === "MUTUAL" && (t.caCertificates || t.subjectAltNames)) {
      out.push(error([...p, "insecureSkipVerify"], "cannot be true with caCertificates or subjectAltNames, which only matter when verifying"));
    }
  }
  if ((t.mode === "SIMPLE" || t.mode === "MUTUAL") && t.credentialName) {
    for (const k of ["clientCertificate", "privateKey", "caCertificates", "caCrl"] as const) {
      if (t[k]) out.push(error([...p, k], "cannot be set together with credentialName, which supplies the certificates"));
    }
    return out;
  }
  if (t.mode === "MUTUAL") {
    if (!t.clientCertificate) out.push(error([...p, "clientCertificate"], "is required for MUTUAL TLS (or set credentialName)"));
    if (!t.privateKey) out.push(error([...p, "privateKey"], "is required for MUTUAL TLS (or set credentialName)"));
  }
  return out;
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}
