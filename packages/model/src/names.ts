/** Names derived the way Istio derives them: host names, SPIFFE identities, workload uids. */
import type { MeshOptions } from "./options.js";

/** reviews.bookinfo.svc.cluster.local */
export function serviceHostname(name: string, namespace: string, opts: MeshOptions): string {
  return `${name}.${namespace}.svc.${opts.domainSuffix}`;
}

/** spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews */
export function spiffeId(namespace: string, serviceAccount: string, opts: MeshOptions): string {
  return `spiffe://${opts.trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** Kubernetes//Pod/bookinfo/reviews-v1-abc: cluster, group (empty for core), kind, namespace, name. */
export function workloadUid(group: string, kind: string, namespace: string, name: string, opts: MeshOptions): string {
  return `${opts.clusterId}/${group}/${kind}/${namespace}/${name}`;
}

/**
 * Expands a host as written in a VirtualService/DestinationRule in `namespace` to a fully
 * qualified name, as Istio does (ResolveShortnameToFQDN): only a name without a dot is short
 * ("reviews" -> reviews.<namespace>.svc.<suffix>); anything with a dot ("httpbin.org",
 * "reviews.other"), wildcards and IPs are taken as written.
 */
export function resolveShortHost(host: string, namespace: string, opts: MeshOptions): string {
  if (host === "*" || host.startsWith("*.") || host.includes(".") || host.includes(":")) return host;
  return `${host}.${namespace}.svc.${opts.domainSuffix}`;
}

/** Whether a (possibly wildcard) host pattern matches a concrete host name. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}
