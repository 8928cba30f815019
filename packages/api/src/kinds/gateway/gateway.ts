/**
 * Gateway (gateway.networking.k8s.io/v1): listeners, addresses, infrastructure. Besides the CEL
 * rules of the upstream CRD, this checks what Istio needs of a waypoint: class `istio-waypoint`
 * with an HBONE listener on 15008 (what `istioctl waypoint generate` writes), and a valid
 * `istio.io/waypoint-for` label (reference istio-ambient.md §5.1, §5.2).
 */
import { error, warning, type FieldIssue } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { parseIp } from "../../checks.js";
import { obj, oneOfStrings, opt, port, str, stringMap, Type, type Static } from "../../schema.js";
import {
  capped, checkLabelSelector, GATEWAY_GROUP, group, gwHostname, kind, LabelSelectorSchema, objectName,
  ObjectReferenceSchema, SecretObjectReferenceSchema, sectionName,
} from "./common.js";

/** The GatewayClass Istio uses for waypoints. */
export const WAYPOINT_CLASS = "istio-waypoint";
/** The waypoint's HBONE port: ztunnel tunnels to the waypoint on this port only. */
export const HBONE_PORT = 15008;
/** Label choosing which traffic a waypoint handles. */
export const WAYPOINT_FOR_LABEL = "istio.io/waypoint-for";
/** Values of istio.io/waypoint-for; `service` is the default. */
export const WAYPOINT_FOR_VALUES = ["service", "workload", "all", "none"] as const;

const FrontendValidationSchema = obj({
  caCertificateRefs: capped(ObjectReferenceSchema, 16, "CA certificate references", 1),
  mode: opt(oneOfStrings("AllowValidOnly", "AllowInsecureFallback")),
});

/** Listener TLS: Terminate (default, needs certificates or options) or Passthrough. */
export const ListenerTLSSchema = obj({
  mode: opt(oneOfStrings("Terminate", "Passthrough")),
  certificateRefs: opt(capped(SecretObjectReferenceSchema, 64, "certificate references")),
  options: opt(stringMap()),
  frontendValidation: opt(FrontendValidationSchema),
});

/** Which Routes may attach to a listener (for a waypoint: which namespaces may use it). */
export const AllowedRoutesSchema = obj({
  namespaces: opt(obj({ from: opt(oneOfStrings("All", "Selector", "Same")), selector: opt(LabelSelectorSchema) })),
  kinds: opt(capped(obj({ group: opt(group()), kind: kind() }), 8, "route kinds")),
});

/** A logical endpoint of a Gateway: port, protocol, optional hostname and TLS. */
export const ListenerSchema = obj({
  name: sectionName(),
  hostname: opt(gwHostname()),
  port: port(),
  protocol: str({ minLength: 1, maxLength: 255 }),
  tls: opt(ListenerTLSSchema),
  allowedRoutes: opt(AllowedRoutesSchema),
});
/** A Gateway listener, as written (protocol not normalised: see listenerProtocol). */
export type Listener = Static<typeof ListenerSchema>;

const addressType = () => Type.String({
  minLength: 1, maxLength: 253, pattern: "^(IPAddress|Hostname|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9/._~%!$&'()*+,;=:-]+)$",
  "x-msg": 'must be IPAddress, Hostname or a domain-prefixed type such as "example.com/name"',
});
const TLSConfigSchema = obj({ validation: opt(FrontendValidationSchema) });

/** Gateway.spec. `tls`, `backendTLS` and `allowedListeners` are accepted so newer manifests load. */
export const GatewaySpecSchema = obj({
  gatewayClassName: objectName(),
  listeners: capped(ListenerSchema, 64, "listeners", 1),
  addresses: opt(capped(obj({ type: opt(addressType()), value: opt(str({ maxLength: 253 })) }), 16, "addresses")),
  infrastructure: opt(obj({
    labels: opt(stringMap()),
    annotations: opt(stringMap()),
    parametersRef: opt(obj({ group: group(), kind: kind(), name: objectName() })),
  })),
  allowedListeners: opt(obj({ namespaces: opt(obj({ from: opt(oneOfStrings("All", "Selector", "Same", "None")), selector: opt(LabelSelectorSchema) })) })),
  tls: opt(obj({
    backend: opt(obj({ clientCertificateRef: opt(SecretObjectReferenceSchema) })),
    frontend: opt(obj({ default: TLSConfigSchema, perPort: opt(capped(obj({ port: port(), tls: TLSConfigSchema }), 64, "ports")) })),
  })),
  backendTLS: opt(obj({ clientCertificateRef: opt(SecretObjectReferenceSchema) })),
});
/** Typed Gateway spec for translators and the waypoint manager. */
export type GatewaySpec = Static<typeof GatewaySpecSchema>;

const CORE_PROTOCOLS = ["HTTP", "HTTPS", "TLS", "TCP", "UDP"];
const domainPrefixed = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$/;
const hostnameRe = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * The protocol as Waystation compares it: core names upper-cased (the spec makes them
 * case-insensitive), Istio's HBONE as written, domain-prefixed names unchanged; undefined if invalid.
 */
export function listenerProtocol(p: string): string | undefined {
  const upper = p.toUpperCase();
  if (CORE_PROTOCOLS.includes(upper)) return upper;
  if (p === "HBONE" || domainPrefixed.test(p)) return p;
  return undefined;
}

function checkListener(l: Listener, i: number, issues: FieldIssue[]): void {
  const at = ["spec", "listeners", i];
  const proto = listenerProtocol(l.protocol);
  if (proto === undefined) {
    issues.push(error([...at, "protocol"], `must be HTTP, HTTPS, TLS, TCP, UDP, HBONE (Istio) or a domain-prefixed protocol such as "example.com/proto", not ${JSON.stringify(l.protocol)}`));
    return;
  }
  if (["HTTP", "TCP", "UDP"].includes(proto) && l.tls) issues.push(error([...at, "tls"], `must not be set for protocol ${proto}`));
  if (["TCP", "UDP"].includes(proto) && l.hostname) issues.push(error([...at, "hostname"], `must not be set for protocol ${proto}`));
  else if (l.hostname && parseIp(l.hostname)) issues.push(error([...at, "hostname"], `must be a host name, not an IP address (${l.hostname})`));
  if (proto === "HTTPS" || proto === "TLS") {
    if (!l.tls) issues.push(error([...at, "tls"], `is required for protocol ${proto}${proto === "TLS" ? " (mode Terminate or Passthrough)" : " (mode Terminate with certificateRefs)"}`));
    else if (proto === "HTTPS" && l.tls.mode === "Passthrough") {
      issues.push(error([...at, "tls", "mode"], "must be Terminate for protocol HTTPS; to pass TLS through, use protocol TLS with a TLSRoute"));
    }
  }
  if (l.tls && (l.tls.mode ?? "Terminate") === "Terminate" && !(l.tls.certificateRefs?.length) && Object.keys(l.tls.options ?? {}).length === 0) {
    issues.push(error([...at, "tls", "certificateRefs"], "must not be empty when mode is Terminate (or set options that supply the certificate)"));
  }
  const ns = l.allowedRoutes?.namespaces;
  if (ns?.from === "Selector" && !ns.selector) issues.push(error([...at, "allowedRoutes", "namespaces", "selector"], "is required when from is Selector"));
  checkLabelSelector(ns?.selector, [...at, "allowedRoutes", "namespaces", "selector"], issues);
}

function checkAddresses(spec: GatewaySpec, issues: FieldIssue[]): void {
  const seen = new Map<string, number>();
  spec.addresses?.forEach((a, i) => {
    const type = a.type ?? "IPAddress";
    if (a.value === undefined || a.value === "") return;
    if (type === "IPAddress" && !parseIp(a.value)) issues.push(error(["spec", "addresses", i, "value"], `must be an IPv4 or IPv6 address for type IPAddress, not ${JSON.stringify(a.value)}`));
    if (type === "Hostname" && !hostnameRe.test(a.value)) issues.push(error(["spec", "addresses", i, "value"], `must be a lower-case DNS name for type Hostname, not ${JSON.stringify(a.value)}`));
    if (type !== "IPAddress" && type !== "Hostname") return;
    const prev = seen.get(`${type}|${a.value}`);
    if (prev !== undefined) issues.push(error(["spec", "addresses", i, "value"], `duplicates spec.addresses[${prev}].value ${JSON.stringify(a.value)}`));
    else seen.set(`${type}|${a.value}`, i);
  });
}

function checkWaypoint(gw: { metadata: { name: string; labels?: Record<string, string> }; spec: GatewaySpec }, issues: FieldIssue[]): void {
  const waypointFor = gw.metadata.labels?.[WAYPOINT_FOR_LABEL];
  if (waypointFor !== undefined && !(WAYPOINT_FOR_VALUES as readonly string[]).includes(waypointFor)) {
    issues.push(error(["metadata", "labels", WAYPOINT_FOR_LABEL], `must be one of ${WAYPOINT_FOR_VALUES.join(", ")}, not ${JSON.stringify(waypointFor)}`));
  }
  if (gw.spec.gatewayClassName !== WAYPOINT_CLASS) return;
  if (gw.metadata.name === "none") {
    issues.push(error(["metadata", "name"], 'must not be "none" for a waypoint: istio.io/use-waypoint: none means "no waypoint", so nothing could use it'));
  }
  const listeners = gw.spec.listeners;
  const hbone = listeners.findIndex((l) => l.protocol === "HBONE" && l.port === HBONE_PORT);
  if (hbone < 0) {
    const wrongPort = listeners.findIndex((l) => l.protocol === "HBONE");
    const msg = `an ${WAYPOINT_CLASS} Gateway needs a listener with port ${HBONE_PORT} and protocol HBONE ({name: mesh, port: ${HBONE_PORT}, protocol: HBONE}); ztunnel sends HBONE to port ${HBONE_PORT} only`;
    issues.push(error(wrongPort >= 0 ? ["spec", "listeners", wrongPort, "port"] : ["spec", "listeners"], wrongPort >= 0 ? `must be ${HBONE_PORT}: ${msg}` : `lack the HBONE listener: ${msg}`));
    return;
  }
  listeners.forEach((l, i) => {
    if (i !== hbone) issues.push(warning(["spec", "listeners", i], `is ignored: a waypoint serves only its HBONE listener on port ${HBONE_PORT} (spec.listeners[${hbone}])`));
  });
}

/** Gateway: listener names unique and listeners distinct, TLS per protocol, Istio waypoint shape. */
export const GatewayKind = defineKind<GatewaySpec>({
  group: GATEWAY_GROUP, kind: "Gateway", versions: ["v1", "v1beta1"], namespaced: true,
  spec: GatewaySpecSchema, specRequired: true,
  check(gw) {
    const issues: FieldIssue[] = [];
    const names = new Map<string, number>();
    const distinct = new Map<string, number>();
    gw.spec.listeners.forEach((l, i) => {
      const prevName = names.get(l.name);
      if (prevName !== undefined) issues.push(error(["spec", "listeners", i, "name"], `duplicates spec.listeners[${prevName}].name ${JSON.stringify(l.name)}`));
      else names.set(l.name, i);
      const proto = listenerProtocol(l.protocol) ?? l.protocol;
      const key = `${l.port}/${proto}${l.hostname ? `/${l.hostname}` : ""}`;
      const prev = distinct.get(key);
      if (prev !== undefined) {
        issues.push(error(["spec", "listeners", i], `has the same port, protocol and hostname as spec.listeners[${prev}] (${key}); each listener must differ in at least one of them`));
      } else distinct.set(key, i);
      checkListener(l, i, issues);
    });
    checkAddresses(gw.spec, issues);
    const al = gw.spec.allowedListeners?.namespaces;
    if (al?.from === "Selector" && !al.selector) issues.push(error(["spec", "allowedListeners", "namespaces", "selector"], "is required when from is Selector"));
    checkWaypoint(gw, issues);
    return issues;
  },
});
