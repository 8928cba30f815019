/**
 * Every attribute an AuthorizationPolicy can test - the fields of `from.source` and
 * `to.operation` and the `when` keys - with the side of an Envoy RBAC policy that checks it
 * (permission or principal, as Istio's authz model assigns them), whether it needs HTTP, and how
 * a list of values becomes one matcher (the values OR-ed).
 */
import {
  destinationIpValue, envoyFilterValues, hostValue, methodValue, pathValue, portValue, sniValue, somePermission, type PermissionInit,
} from "./permissions.js";
import {
  claimValues, directRemoteIp, namespaceValue, principalValue, remoteIp, requestHeader, requestPrincipalValue, serviceAccountValue,
  somePrincipal, type PrincipalInit,
} from "./principals.js";

/** One testable attribute: which RBAC side checks it and how its values become a matcher. */
export type Attribute =
  | { side: "permission"; httpOnly: boolean; anyOf: (values: readonly string[]) => PermissionInit }
  | { side: "principal"; httpOnly: boolean; anyOf: (values: readonly string[]) => PrincipalInit };

const permission = (httpOnly: boolean, one: (v: string) => PermissionInit): Attribute =>
  ({ side: "permission", httpOnly, anyOf: (vs) => somePermission(vs.map(one)) });
const principal = (httpOnly: boolean, one: (v: string) => PrincipalInit): Attribute =>
  ({ side: "principal", httpOnly, anyOf: (vs) => somePrincipal(vs.map(one)) });
/** Claims take the whole list: one metadata matcher whose value matcher ORs them. */
const claim = (path: readonly string[]): Attribute => ({ side: "principal", httpOnly: true, anyOf: (vs) => claimValues(path, vs) });

/** A field of `from.source` or `to.operation` with its negated twin. */
export interface FieldPair { field: string; notField: string; attribute: Attribute }

/** The fields of `from.source`, in the order their matchers appear in a principal. */
export function sourceFields(trustDomain: string): FieldPair[] {
  return [
    { field: "principals", notField: "notPrincipals", attribute: principal(false, (v) => principalValue(v, trustDomain)) },
    { field: "serviceAccounts", notField: "notServiceAccounts", attribute: principal(false, serviceAccountValue) },
    { field: "namespaces", notField: "notNamespaces", attribute: principal(false, namespaceValue) },
    { field: "ipBlocks", notField: "notIpBlocks", attribute: principal(false, directRemoteIp) },
    // Istio's Envoy builder allows remoteIpBlocks on TCP too, where remote_ip is the peer address
    // (there are no forwarding headers to read); only ztunnel's L4 conversion drops it.
    { field: "remoteIpBlocks", notField: "notRemoteIpBlocks", attribute: principal(false, remoteIp) },
    { field: "requestPrincipals", notField: "notRequestPrincipals", attribute: principal(true, requestPrincipalValue) },
  ];
}

/** The fields of `to.operation`, in the order their matchers appear in a permission. */
export const operationFields: readonly FieldPair[] = [
  { field: "hosts", notField: "notHosts", attribute: permission(true, hostValue) },
  { field: "methods", notField: "notMethods", attribute: permission(true, methodValue) },
  { field: "paths", notField: "notPaths", attribute: permission(true, pathValue) },
  { field: "ports", notField: "notPorts", attribute: permission(false, portValue) },
];

/** The attribute behind a `when` key, or undefined for a key Istio does not know (the API loader rejects those). */
export function conditionAttribute(key: string, trustDomain: string): Attribute | undefined {
  const header = /^request\.headers\[([^[\]]+)\]$/.exec(key);
  if (header) return principal(true, (v) => requestHeader(header[1]!, v));
  if (key.startsWith("request.auth.claims[")) {
    const path = [...key.slice("request.auth.claims".length).matchAll(/\[([^[\]]+)\]/g)].map((m) => m[1]!);
    return claim(path);
  }
  if (key.startsWith("experimental.envoy.filters.")) return { side: "permission", httpOnly: false, anyOf: (vs) => envoyFilterValues(key, vs) };
  switch (key) {
    case "source.ip": return principal(false, directRemoteIp);
    case "remote.ip": return principal(false, remoteIp);
    case "source.namespace": return principal(false, namespaceValue);
    case "source.principal": return principal(false, (v) => principalValue(v, trustDomain));
    case "source.serviceAccount": return principal(false, serviceAccountValue);
    case "request.auth.principal": return principal(true, requestPrincipalValue);
    case "request.auth.audiences": return claim(["aud"]);
    case "request.auth.presenter": return claim(["azp"]);
    case "destination.ip": return permission(false, destinationIpValue);
    case "destination.port": return permission(false, portValue);
    case "connection.sni": return permission(false, sniValue);
    default: return undefined;
  }
}
