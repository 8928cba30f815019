/**
 * The "what" side of an authorization rule as Envoy RBAC permissions: host, method, path and
 * destination of the request, the TLS SNI, and other filters' dynamic metadata.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PermissionSchema } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import { anyValue, cidr, header, host, metadata, path, stringValue, wildcard, type ValueMatcherInit } from "./matchers.js";

/** Init shape of envoy.config.rbac.v3.Permission. */
export type PermissionInit = MessageInitShape<typeof PermissionSchema>;

/** Matches every request. */
export const anyPermission = (): PermissionInit => ({ rule: { case: "any", value: true } });
/** Matches what `p` does not. */
export const notPermission = (p: PermissionInit): PermissionInit => ({ rule: { case: "notRule", value: p } });
/** AND of `rules`; a single rule stands for itself and none means any. */
export function allPermissions(rules: PermissionInit[]): PermissionInit {
  if (rules.length === 0) return anyPermission();
  return rules.length === 1 ? rules[0]! : { rule: { case: "andRules", value: { rules } } };
}
/** OR of `rules` (at least one). */
export function somePermission(rules: PermissionInit[]): PermissionInit {
  return rules.length === 1 ? rules[0]! : { rule: { case: "orRules", value: { rules } } };
}

/** One value of hosts, methods, paths, ports, destination.ip (see matchers.ts for each rule). */
export const hostValue = (v: string): PermissionInit => ({ rule: { case: "header", value: host(v) } });
export const methodValue = (v: string): PermissionInit => ({ rule: { case: "header", value: header(":method", v) } });
export const pathValue = (v: string): PermissionInit => ({ rule: { case: "urlPath", value: { rule: { case: "path", value: path(v) } } } });
export const portValue = (v: string): PermissionInit => ({ rule: { case: "destinationPort", value: Number(v) } });
export const destinationIpValue = (v: string): PermissionInit => ({ rule: { case: "destinationIp", value: cidr(v) } });
/** `connection.sni`: the SNI of the TLS connection the chain sees (a TLS passthrough chain with tls_inspector). */
export const sniValue = (v: string): PermissionInit => ({ rule: { case: "requestedServerName", value: wildcard(v) } });

/**
 * `experimental.envoy.filters.<filter>[<key>]`: another filter's dynamic metadata, e.g. the
 * MySQL proxy's `[db.table]`. A value written `[v]` matches a list containing v, as in Istio.
 */
export function envoyFilterValues(key: string, values: readonly string[]): PermissionInit {
  const m = /^experimental\.(.+)\[([^[\]]+)\]$/.exec(key);
  const [filter, field] = [m?.[1] ?? "", m?.[2] ?? ""];
  const matchers: ValueMatcherInit[] = values.map((v) => (v.startsWith("[") && v.endsWith("]")
    ? { matchPattern: { case: "listMatch", value: { matchPattern: { case: "oneOf", value: stringValue(wildcard(v.slice(1, -1))) } } } }
    : stringValue(wildcard(v))));
  return { rule: { case: "metadata", value: metadata(filter, [field], anyValue(matchers)) } };
}
