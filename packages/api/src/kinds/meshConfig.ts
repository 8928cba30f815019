/**
 * Core v1 ConfigMap, and the mesh config Istio keeps in one: the ConfigMap `istio` in the root
 * namespace holds a MeshConfig YAML document under `data.mesh`. Users' existing ConfigMaps must
 * load unchanged, so this is read exactly as istiod reads it.
 *
 * A ConfigMap not named `istio` is opaque data: only its shape is checked. One named `istio` (in
 * any namespace: the model decides which one counts) has its `data.mesh` parsed and the MeshConfig
 * fields Waystation uses checked: trustDomain, trustDomainAliases, rootNamespace,
 * extensionProviders (ext_authz HTTP and gRPC; the tracing, metrics and access-log kinds are
 * accepted and reported as not used yet), defaultProviders, connectTimeout, outboundTrafficPolicy.
 * Every other MeshConfig field is accepted and ignored; an unknown top-level key is a warning, not
 * an error (MeshConfig is large and grows every release).
 *
 * Problems inside `data.mesh` carry the position inside the string (FieldIssue.embedded), which
 * the loader maps onto the file when `mesh` is a literal block scalar (`mesh: |`).
 */
import { parseDurationMs, runCheck } from "../checks.js";
import { error, warning, type FieldIssue, type FieldPath } from "../issues.js";
import { defineKind, type KindDef } from "../kind.js";
import { anyValue, bool, duration, list, nonEmpty, obj, oneOfStrings, openObj, opt, port, str, stringMap, strings, uint32, type Static } from "../schema.js";
import { Validator } from "../validate.js";
import { parseYamlFile } from "../yaml.js";

/** MeshConfig includeRequestBodyInCheck: the request body sent to an ext_authz server. */
export const ExtAuthzRequestBodySchema = obj({
  maxRequestBytes: opt(uint32()),
  allowPartialMessage: opt(bool()),
  packAsBytes: opt(bool()),
});

/** MeshConfig envoyExtAuthzHttp: an ext_authz server speaking the HTTP API. */
export const ExtAuthzHttpSchema = obj({
  /** `[<namespace>/]<host>`, e.g. `ext-authz.foo.svc.cluster.local` or `bar/authz.example.com`. */
  service: nonEmpty(),
  port: port(),
  timeout: opt(duration()),
  pathPrefix: opt(str()),
  failOpen: opt(bool()),
  /** An HTTP status such as "503", as a string (Istio's type). */
  statusOnError: opt(str()),
  /** Deprecated by Istio in favour of includeRequestHeadersInCheck, still honoured when that is unset. */
  includeHeadersInCheck: opt(strings()),
  includeRequestHeadersInCheck: opt(strings()),
  includeAdditionalHeadersInCheck: opt(stringMap()),
  includeRequestBodyInCheck: opt(ExtAuthzRequestBodySchema),
  headersToUpstreamOnAllow: opt(strings()),
  headersToDownstreamOnDeny: opt(strings()),
  headersToDownstreamOnAllow: opt(strings()),
});
/** {@link ExtAuthzHttpSchema} as a type. */
export type MeshExtAuthzHttp = Static<typeof ExtAuthzHttpSchema>;

/** MeshConfig envoyExtAuthzGrpc: an ext_authz server speaking envoy.service.auth.v3.Authorization. */
export const ExtAuthzGrpcSchema = obj({
  service: nonEmpty(),
  port: port(),
  timeout: opt(duration()),
  failOpen: opt(bool()),
  statusOnError: opt(str()),
  includeRequestBodyInCheck: opt(ExtAuthzRequestBodySchema),
});
/** {@link ExtAuthzGrpcSchema} as a type. */
export type MeshExtAuthzGrpc = Static<typeof ExtAuthzGrpcSchema>;

/** Provider kinds MeshConfig defines that Waystation accepts but does not use yet (tracing, metrics, access logs). */
export const unusedProviderKinds = [
  "zipkin", "lightstep", "datadog", "stackdriver", "opencensus", "skywalking", "opentelemetry", "prometheus",
  "envoyFileAccessLog", "envoyHttpAls", "envoyTcpAls", "envoyOtelAls",
] as const;

/** One extensionProviders entry: a name and exactly one provider kind. */
export const ExtensionProviderSchema = obj({
  name: nonEmpty(),
  envoyExtAuthzHttp: opt(ExtAuthzHttpSchema),
  envoyExtAuthzGrpc: opt(ExtAuthzGrpcSchema),
  // Accepted as written, not interpreted yet (see unusedProviderKinds).
  zipkin: opt(openObj({})),
  lightstep: opt(openObj({})),
  datadog: opt(openObj({})),
  stackdriver: opt(openObj({})),
  opencensus: opt(openObj({})),
  skywalking: opt(openObj({})),
  opentelemetry: opt(openObj({})),
  prometheus: opt(openObj({})),
  envoyFileAccessLog: opt(openObj({})),
  envoyHttpAls: opt(openObj({})),
  envoyTcpAls: opt(openObj({})),
  envoyOtelAls: opt(openObj({})),
});
/** {@link ExtensionProviderSchema} as a type. */
export type MeshExtensionProvider = Static<typeof ExtensionProviderSchema>;

/** The MeshConfig fields Waystation reads. */
const usedFields = {
  trustDomain: opt(str()),
  trustDomainAliases: opt(strings()),
  rootNamespace: opt(str()),
  extensionProviders: opt(list(ExtensionProviderSchema)),
  defaultProviders: opt(obj({ tracing: opt(strings()), metrics: opt(strings()), accessLogging: opt(strings()) })),
  connectTimeout: opt(duration()),
  outboundTrafficPolicy: opt(obj({ mode: opt(oneOfStrings("REGISTRY_ONLY", "ALLOW_ANY")) })),
};

/** The MeshConfig fields Waystation reads, typed; the others pass through. */
export const MeshConfigSchema = openObj(usedFields);
/** {@link MeshConfigSchema} as a type. */
export type MeshConfig = Static<typeof MeshConfigSchema>;

/** MeshConfig's other top-level fields (Istio 1.28): accepted as written, not interpreted. */
export const ignoredMeshFields = [
  "proxyListenPort", "proxyInboundListenPort", "proxyHttpPort", "protocolDetectionTimeout", "tcpKeepalive",
  "ingressClass", "ingressService", "ingressControllerMode", "ingressSelector", "enableTracing",
  "accessLogFile", "accessLogFormat", "accessLogEncoding", "enableEnvoyAccessLogService", "disableEnvoyListenerLog",
  "defaultConfig", "inboundTrafficPolicy", "configSources", "enableAutoMtls", "caCertificates",
  "defaultServiceExportTo", "defaultVirtualServiceExportTo", "defaultDestinationRuleExportTo", "localityLbSetting",
  "dnsRefreshRate", "h2UpgradePolicy", "inboundClusterStatName", "outboundClusterStatName", "certificates",
  "serviceSettings", "serviceScopeConfigs", "enablePrometheusMerge", "verifyCertificateAtClient", "ca",
  "discoverySelectors", "pathNormalization", "defaultHttpRetryPolicy", "meshMTLS", "tlsDefaults", "compliancePolicy",
] as const;

/** Providers Istio defines by itself, which defaultProviders may name without declaring them. */
const builtinProviders = ["prometheus", "stackdriver", "envoy"];

/** The names of the ConfigMap and data key istiod reads its mesh config from. */
export const meshConfigMapName = "istio";
export const meshConfigKey = "mesh";

/** A problem inside the mesh document, with its 1-based position inside the `data.mesh` string. */
export type MeshIssue = FieldIssue & { line: number; column: number };

/** The result of parsing a MeshConfig document: the config when it has no errors, and every problem. */
export interface ParsedMeshConfig {
  config?: MeshConfig;
  issues: MeshIssue[];
}

/**
 * MeshConfig is validated as a pseudo-kind of its own, so it gets the same schema machinery
 * (closed objects, `x-check`, the same messages) as every manifest. Compiled on first use.
 */
let meshValidator: Validator | undefined;
const meshPseudoKind: KindDef = {
  group: "waystation.internal", kind: "MeshConfig", versions: ["v1"], namespaced: false,
  extraFields: { ...usedFields, ...Object.fromEntries(ignoredMeshFields.map((f) => [f, opt(anyValue())])) },
};

/** Parses and checks one MeshConfig YAML document (the text of `data.mesh`). Pure. */
export function parseMeshConfig(text: string): ParsedMeshConfig {
  const parsed = parseYamlFile(text);
  const at = (path: FieldPath, where: "value" | "key" = "value") => parsed.documents[0]?.locate(path, where) ?? { line: 1, column: 1 };
  const issues: MeshIssue[] = parsed.errors.map((e) => ({ ...error([], `is not valid YAML: ${e.message}`), line: e.line, column: e.column }));
  if (issues.length > 0) return { issues };
  if (parsed.documents.length > 1) {
    const d = parsed.documents[1]!;
    return { issues: [{ ...error([], "must hold one YAML document, not several"), line: d.line, column: d.column }] };
  }
  const value = parsed.documents[0]?.value ?? {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { issues: [{ ...error([], "must be a YAML mapping of MeshConfig fields (trustDomain, extensionProviders ...)"), ...at([]) }] };
  }

  // Unknown top-level keys: a warning each, then left out so the closed schema does not reject them.
  const known = new Set<string>([...Object.keys(usedFields), ...ignoredMeshFields]);
  const kept: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (known.has(k)) kept[k] = v;
    else issues.push({ ...warning([k], `is not a MeshConfig field Waystation knows${suggest(k, known)}; it is ignored`), at: "key", ...at([k], "key") });
  }

  meshValidator ??= new Validator([meshPseudoKind]);
  const result = meshValidator.validate({ apiVersion: "waystation.internal/v1", kind: "MeshConfig", metadata: { name: "mesh" }, ...kept });
  const found = result.status === "ignored" ? [] : result.issues;
  const config = kept as MeshConfig;
  const all = [...found, ...(found.some((i) => i.severity === "error") ? [] : checkMesh(config))];
  issues.push(...all.map((i) => ({ ...i, ...at(i.path, i.at) })));
  issues.sort((a, b) => a.line - b.line || a.column - b.column);
  return issues.some((i) => i.severity === "error") ? { issues } : { config, issues };
}

/** SPIFFE trust domain names: lower-case letters, digits, '.', '-' and '_' (SPIFFE-ID §2.1). */
const trustDomainRe = /^[a-z0-9._-]+$/;

/** HTTP status codes Envoy's envoy.type.v3.StatusCode knows (statusOnError must be one of them). */
const envoyStatusCodes = new Set([100, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431,
  500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511]);

/** Checks the schema cannot express, as istiod's mesh validation makes them. */
function checkMesh(mesh: MeshConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const trustDomain = (path: FieldPath, v: string) => {
    if (!trustDomainRe.test(v)) issues.push(error(path, `must be a SPIFFE trust domain (lower-case letters, digits, '.', '-' and '_'), not ${JSON.stringify(v)}`));
  };
  if (mesh.trustDomain) trustDomain(["trustDomain"], mesh.trustDomain);
  (mesh.trustDomainAliases ?? []).forEach((a, i) => trustDomain(["trustDomainAliases", i], a));
  if (mesh.rootNamespace) {
    const bad = runCheck("dns1123", mesh.rootNamespace);
    if (bad) issues.push(error(["rootNamespace"], bad));
  }
  if (mesh.connectTimeout !== undefined && parseDurationMs(mesh.connectTimeout) === 0) issues.push(error(["connectTimeout"], "must be at least 1ms"));

  const names = new Map<string, number>();
  (mesh.extensionProviders ?? []).forEach((p, i) => {
    const path = ["extensionProviders", i];
    const prev = names.get(p.name);
    if (prev !== undefined) issues.push(error([...path, "name"], `duplicates extensionProviders[${prev}].name ${JSON.stringify(p.name)}: provider names must be unique`));
    else names.set(p.name, i);
    const kinds = Object.keys(p).filter((k) => k !== "name");
    if (kinds.length === 0) {
      issues.push(error(path, "must set one provider kind, e.g. envoyExtAuthzHttp, envoyExtAuthzGrpc or opentelemetry"));
      return;
    }
    for (const k of kinds.slice(1)) issues.push({ ...error([...path, k], `cannot be combined with ${kinds[0]}: a provider has exactly one kind`), at: "key" });
    const http = p.envoyExtAuthzHttp, grpc = p.envoyExtAuthzGrpc;
    if (http || grpc) {
      const kind = http ? "envoyExtAuthzHttp" : "envoyExtAuthzGrpc";
      checkExtAuthz([...path, kind], (http ?? grpc)!, issues);
      if (http?.pathPrefix && !http.pathPrefix.startsWith("/")) issues.push(error([...path, kind, "pathPrefix"], `must begin with "/", not ${JSON.stringify(http.pathPrefix)}`));
      if (http?.includeHeadersInCheck) {
        issues.push({ ...warning([...path, kind, "includeHeadersInCheck"], "is deprecated; use includeRequestHeadersInCheck (this list is used while that one is unset)"), at: "key" });
      }
    } else {
      issues.push({ ...warning([...path, kinds[0]!], `is a provider kind Waystation does not use yet; provider ${JSON.stringify(p.name)} is accepted and ignored`), at: "key" });
    }
  });

  const defaults = mesh.defaultProviders ?? {};
  for (const k of ["tracing", "metrics", "accessLogging"] as const) {
    (defaults[k] ?? []).forEach((n, i) => {
      if (!names.has(n) && !builtinProviders.includes(n)) {
        issues.push(warning(["defaultProviders", k, i], `names no extension provider (defined: ${[...names.keys(), ...builtinProviders].sort().join(", ")})`));
      }
    });
  }
  return issues;
}

function checkExtAuthz(path: FieldPath, c: { service: string; statusOnError?: string }, issues: FieldIssue[]): void {
  const slash = c.service.indexOf("/");
  const ns = slash >= 0 ? c.service.slice(0, slash) : undefined;
  const host = slash >= 0 ? c.service.slice(slash + 1) : c.service;
  const badNs = ns === undefined ? undefined : runCheck("dns1123", ns);
  if (badNs || host === "" || host.startsWith("*") || runCheck("hostname", host)) {
    issues.push(error([...path, "service"], `must be "[<namespace>/]<host>", e.g. "ext-authz.foo.svc.cluster.local" or "foo/authz.example.com", not ${JSON.stringify(c.service)}`));
  }
  if (c.statusOnError !== undefined && !(/^\d{3}$/.test(c.statusOnError) && envoyStatusCodes.has(Number(c.statusOnError)))) {
    issues.push(error([...path, "statusOnError"], `must be an HTTP status code Envoy knows, such as "403" or "503", not ${JSON.stringify(c.statusOnError)}`));
  }
}

/** " (did you mean "x"?)" for a near miss, including Istio's snake_case spellings. */
function suggest(key: string, known: ReadonlySet<string>): string {
  const camel = key.replace(/_([a-zA-Z])/g, (_, c: string) => c.toUpperCase());
  const near = [...known].find((k) => k === camel || k.toLowerCase() === key.toLowerCase()) ?? [...known].find((k) => distance(k, key) <= 2);
  return near ? ` (did you mean "${near}"?)` : "";
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The top-level fields of a ConfigMap (it has no spec). */
export interface ConfigMapFields {
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  immutable?: boolean;
}

/** Core v1 ConfigMap; `istio` ConfigMaps also have their mesh config checked. */
export const ConfigMapKind = defineKind({
  group: "", kind: "ConfigMap", versions: ["v1"], namespaced: true,
  extraFields: { data: opt(stringMap()), binaryData: opt(stringMap()), immutable: opt(bool()) },
  check(cm) {
    if (cm.metadata.name !== meshConfigMapName) return [];
    const data = (cm as unknown as ConfigMapFields).data ?? {};
    const text = data[meshConfigKey];
    if (text === undefined) {
      return [warning(["data"], `has no "${meshConfigKey}" key, so the mesh config is Istio's defaults`)];
    }
    return parseMeshConfig(text).issues.map(({ line, column, ...i }) => ({
      ...i, path: ["data", meshConfigKey, ...i.path], embedded: { depth: 2, line, column },
    }));
  },
});
