/**
 * The mesh config: Istio's MeshConfig, read from the `data.mesh` key of the ConfigMap `istio` in
 * the namespace istiod reads it from (the root namespace given to buildModel, istio-system by
 * default), reduced to the settings Waystation uses. Missing settings take Istio's defaults.
 *
 * The ConfigMap stays where it is even when the mesh config names another `rootNamespace`: that
 * field moves the policy root (as in Istio), not the place the config is read from. An `istio`
 * ConfigMap anywhere else is reported and ignored.
 */
import { meshConfigKey, meshConfigMapName, parseDurationMs, parseMeshConfig, unusedProviderKinds, type ConfigMapFields, type LoadedResource, type MeshConfig, type MeshExtAuthzGrpc, type MeshExtAuthzHttp, type ResourceKey } from "@waystation/api";
import type { MeshOptions } from "./options.js";
import type { Condition } from "./types.js";

/** An ext_authz extension provider, the kind CUSTOM AuthorizationPolicies name; exactly one of the two is set. */
export interface ExtAuthzExtensionProvider {
  name: string;
  envoyExtAuthzHttp?: Omit<MeshExtAuthzHttp, "includeHeadersInCheck">;
  envoyExtAuthzGrpc?: MeshExtAuthzGrpc;
}

/** A provider of a kind Waystation does not use yet (zipkin, opentelemetry, envoyFileAccessLog ...), kept as written. */
export interface OtherExtensionProvider {
  name: string;
  /** The MeshConfig field that defines it, e.g. "opentelemetry". */
  kind: string;
  config: Record<string, unknown>;
}

/** The mesh-wide settings of the mesh config that Waystation uses. */
export interface MeshConfigInfo {
  /** The ConfigMap they were read from; absent when there is none (all defaults). */
  source?: ResourceKey;
  /** As written; the effective value is model.options.trustDomain. */
  trustDomain?: string;
  /** Other trust domains whose identities count as this mesh's (for authorization principals). */
  trustDomainAliases: string[];
  /** As written; the effective value is model.options.rootNamespace. */
  rootNamespace?: string;
  /** ext_authz providers, in the order written, for CUSTOM AuthorizationPolicies. */
  extensionProviders: ExtAuthzExtensionProvider[];
  otherProviders: OtherExtensionProvider[];
  defaultProviders: { tracing: string[]; metrics: string[]; accessLogging: string[] };
  /** connectTimeout; Istio's default is 10 s. */
  connectTimeoutSeconds: number;
  /** outboundTrafficPolicy.mode; Istio's default is ALLOW_ANY. */
  outboundTrafficPolicy: "ALLOW_ANY" | "REGISTRY_ONLY";
}

/** The mesh config when there is no `istio` ConfigMap: Istio's defaults. */
export const defaultMeshConfig: MeshConfigInfo = {
  trustDomainAliases: [],
  extensionProviders: [],
  otherProviders: [],
  defaultProviders: { tracing: [], metrics: [], accessLogging: [] },
  connectTimeoutSeconds: 10,
  outboundTrafficPolicy: "ALLOW_ANY",
};

/** The condition type written on `istio` ConfigMaps the model does not read (or cannot). */
export const meshConfigConditionType = "Accepted";

/**
 * Finds the `istio` ConfigMap in `configNamespace` and reads its mesh config; reports every other
 * `istio` ConfigMap, and a mesh config that does not parse (only possible for resources that did
 * not go through the loader's validation), into `conditions`.
 */
export function readMeshConfig(resources: readonly LoadedResource[], configNamespace: string, conditions: Condition[]): MeshConfigInfo {
  const maps = resources.filter((r) => r.key.group === "" && r.key.kind === "ConfigMap" && r.key.name === meshConfigMapName);
  const chosen = maps.find((r) => r.key.namespace === configNamespace);
  for (const r of maps) {
    if (r === chosen) continue;
    conditions.push({
      resource: r.key, type: meshConfigConditionType, status: "False", reason: "NotRootNamespace",
      message: `the mesh config is read from ConfigMap ${configNamespace}/${meshConfigMapName} only (the namespace istiod runs in); this one is ignored`,
    });
  }
  if (!chosen) return defaultMeshConfig;
  const text = (chosen.object as unknown as ConfigMapFields).data?.[meshConfigKey] ?? "";
  const parsed = parseMeshConfig(text);
  if (!parsed.config) {
    const first = parsed.issues.find((i) => i.severity === "error");
    conditions.push({
      resource: chosen.key, type: meshConfigConditionType, status: "False", reason: "InvalidMeshConfig",
      message: `data.mesh ${first ? `line ${first.line}: ${first.path.join(".")} ${first.message}` : "is invalid"}; Istio's defaults are used instead`,
    });
    return { ...defaultMeshConfig, source: chosen.key };
  }
  return fromMeshConfig(parsed.config, chosen.key);
}

/** The typed view of a checked MeshConfig. */
export function fromMeshConfig(mesh: MeshConfig, source?: ResourceKey): MeshConfigInfo {
  const extensionProviders: ExtAuthzExtensionProvider[] = [];
  const otherProviders: OtherExtensionProvider[] = [];
  for (const p of mesh.extensionProviders ?? []) {
    if (p.envoyExtAuthzHttp) {
      // Istio still honours the deprecated includeHeadersInCheck when its successor is unset.
      const { includeHeadersInCheck, ...http } = p.envoyExtAuthzHttp;
      const headers = http.includeRequestHeadersInCheck ?? includeHeadersInCheck;
      extensionProviders.push({ name: p.name, envoyExtAuthzHttp: { ...http, ...(headers ? { includeRequestHeadersInCheck: headers } : {}) } });
    } else if (p.envoyExtAuthzGrpc) {
      extensionProviders.push({ name: p.name, envoyExtAuthzGrpc: p.envoyExtAuthzGrpc });
    } else {
      const kind = unusedProviderKinds.find((k) => p[k] !== undefined);
      if (kind) otherProviders.push({ name: p.name, kind, config: p[kind] as Record<string, unknown> });
    }
  }
  const timeoutMs = mesh.connectTimeout === undefined ? undefined : parseDurationMs(mesh.connectTimeout);
  return {
    ...(source ? { source } : {}),
    ...(mesh.trustDomain ? { trustDomain: mesh.trustDomain } : {}),
    trustDomainAliases: mesh.trustDomainAliases ?? [],
    ...(mesh.rootNamespace ? { rootNamespace: mesh.rootNamespace } : {}),
    extensionProviders,
    otherProviders,
    defaultProviders: {
      tracing: mesh.defaultProviders?.tracing ?? [],
      metrics: mesh.defaultProviders?.metrics ?? [],
      accessLogging: mesh.defaultProviders?.accessLogging ?? [],
    },
    connectTimeoutSeconds: timeoutMs ? timeoutMs / 1000 : defaultMeshConfig.connectTimeoutSeconds,
    outboundTrafficPolicy: mesh.outboundTrafficPolicy?.mode ?? defaultMeshConfig.outboundTrafficPolicy,
  };
}

/** The mesh options the mesh config sets (trust domain, root namespace); explicit options override them. */
export function meshConfigOptions(mesh: MeshConfigInfo): Partial<MeshOptions> {
  return {
    ...(mesh.trustDomain ? { trustDomain: mesh.trustDomain } : {}),
    ...(mesh.rootNamespace ? { rootNamespace: mesh.rootNamespace } : {}),
  };
}
