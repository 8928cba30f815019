/**
 * Options of the authorization translator: the mesh's extension providers (the part of Istio's
 * MeshConfig that CUSTOM policies name) and the trust domain; plus the condition collector every
 * authz file reports into.
 */
import type { LoadedResource } from "@waystation/api";
import type { Condition } from "@waystation/model";

/** Request body forwarded to an ext_authz server (MeshConfig includeRequestBodyInCheck). */
export interface ExtAuthzBody {
  maxRequestBytes?: number;
  allowPartialMessage?: boolean;
  packAsBytes?: boolean;
}

/** MeshConfig envoyExtAuthzHttp: an HTTP ext_authz server. */
export interface ExtAuthzHttpProvider {
  /** `<host>` or `<namespace>/<host>`, e.g. `foo/ext-authz.foo.svc.cluster.local`. */
  service: string;
  port: number;
  /** A duration such as "0.5s" or "250ms"; Istio's default is 600s. */
  timeout?: string;
  failOpen?: boolean;
  /** HTTP status returned when the server cannot be reached, e.g. "503"; Envoy's default is 403. */
  statusOnError?: string;
  pathPrefix?: string;
  includeRequestHeadersInCheck?: string[];
  includeAdditionalHeadersInCheck?: Record<string, string>;
  headersToUpstreamOnAllow?: string[];
  headersToDownstreamOnDeny?: string[];
  headersToDownstreamOnAllow?: string[];
  includeRequestBodyInCheck?: ExtAuthzBody;
}

/** MeshConfig envoyExtAuthzGrpc: a gRPC ext_authz server (envoy.service.auth.v3.Authorization). */
export interface ExtAuthzGrpcProvider {
  service: string;
  port: number;
  timeout?: string;
  failOpen?: boolean;
  statusOnError?: string;
  includeRequestBodyInCheck?: ExtAuthzBody;
}

/** One MeshConfig extensionProviders entry; exactly one of the two kinds is set. */
export interface ExtensionProvider {
  name: string;
  envoyExtAuthzHttp?: ExtAuthzHttpProvider;
  envoyExtAuthzGrpc?: ExtAuthzGrpcProvider;
}

/** Options of the authorization translator. */
export interface AuthzOptions {
  /** The mesh config's extension providers, for CUSTOM policies. */
  extensionProviders?: readonly ExtensionProvider[];
  /** The mesh's SPIFFE trust domain; principals written for `cluster.local` also match it. Default cluster.local. */
  trustDomain?: string;
}

/** The condition type the authorization translator writes on AuthorizationPolicies (as Istio's ambient status does). */
export const authzConditionType = "WaypointAccepted";

/** Collects conditions on policies, once per distinct message. */
export class Report {
  private readonly seen = new Map<string, Condition>();

  /** A policy that is applied, but not exactly as written (status True), or not at all as intended (False). */
  add(policy: LoadedResource, status: "True" | "False", reason: string, message: string): void {
    const k = `${policy.key.namespace}/${policy.key.name}\n${status}\n${reason}\n${message}`;
    if (!this.seen.has(k)) this.seen.set(k, { resource: policy.key, type: authzConditionType, status, reason, message });
  }

  /** The conditions in a stable order: by policy, then message. */
  conditions(): Condition[] {
    return [...this.seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, c]) => c);
  }
}
