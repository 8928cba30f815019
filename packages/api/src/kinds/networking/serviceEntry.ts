/**
 * Istio ServiceEntry (networking.istio.io): adds hosts to the mesh's service registry, outside the
 * mesh (an external API behind an egress waypoint) or inside it (VMs via WorkloadEntry).
 */
import { cidr, list, nonEmpty, obj, oneOfStrings, opt, port, str, strings, type Static } from "../../schema.js";
import { error, warning, type FieldIssue } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { LabelsSelectorSchema, NETWORKING_GROUP, NETWORKING_VERSIONS, exportTo } from "./common.js";
import { WorkloadEntrySpecSchema, workloadEntryIssues } from "./workloadEntry.js";
import { exportToIssues, fqdnError, isIstioLabel, selectorIssues, wildcardDomainError } from "./rules.js";

/** A port of the service; `name` is how endpoint `ports` maps refer to it. */
export const ServiceEntryPortSchema = obj({ number: port(), protocol: opt(str()), name: nonEmpty(), targetPort: opt(port()) });
/** Typed form of {@link ServiceEntryPortSchema}. */
export type ServiceEntryPort = Static<typeof ServiceEntryPortSchema>;

/** Istio ServiceEntry spec. DYNAMIC_DNS (Istio 1.28) resolves each request's host on demand. */
export const ServiceEntrySpecSchema = obj({
  hosts: list(nonEmpty()),
  addresses: opt(list(cidr())),
  ports: opt(list(ServiceEntryPortSchema)),
  location: opt(oneOfStrings("MESH_EXTERNAL", "MESH_INTERNAL")),
  resolution: opt(oneOfStrings("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN", "DYNAMIC_DNS")),
  endpoints: opt(list(WorkloadEntrySpecSchema)),
  workloadSelector: opt(LabelsSelectorSchema),
  exportTo: exportTo(),
  subjectAltNames: opt(strings()),
});
/** Typed form of {@link ServiceEntrySpecSchema}. */
export type ServiceEntrySpec = Static<typeof ServiceEntrySpecSchema>;

/** Protocol names Istio's protocol.Parse knows (case-insensitive), sorted into how hosts can be told apart. */
const httpProtocols = new Set(["http", "http2", "grpc", "grpc-web", "http_proxy"]);
const tlsProtocols = new Set(["https", "tls"]);
const otherProtocols = new Set(["tcp", "udp", "mongo", "redis", "mysql"]);

/** The ServiceEntry kind. */
export const ServiceEntryKind = defineKind<ServiceEntrySpec>({
  group: NETWORKING_GROUP, kind: "ServiceEntry", versions: NETWORKING_VERSIONS, namespaced: true,
  spec: ServiceEntrySpecSchema, specRequired: true,
  check(se) {
    const spec = se.spec;
    const out: FieldIssue[] = [];
    const resolution = spec.resolution ?? "NONE";
    const endpoints = spec.endpoints ?? [];

    if (spec.hosts.length === 0) out.push(error(["spec", "hosts"], "must list at least one host"));
    spec.hosts.forEach((h, i) => {
      const bad = h === "*" ? 'must not be "*": a ServiceEntry names the hosts it adds' : wildcardDomainError(h);
      if (bad) out.push(error(["spec", "hosts", i], bad));
      else if (h.includes("*") && !h.startsWith("*.")) out.push(warning(["spec", "hosts", i], 'is a partial wildcard; only a leading "*." wildcard is supported'));
    });
    if (spec.workloadSelector && spec.endpoints) out.push(error(["spec", "workloadSelector"], "cannot be set together with endpoints: endpoints come either from the list or from the selected workloads"));
    if (resolution !== "NONE" && resolution !== "STATIC") {
      (spec.addresses ?? []).forEach((a, i) => {
        if (a.includes("/")) out.push(error(["spec", "addresses", i], `is a CIDR range, which only resolution NONE or STATIC allows (resolution is ${resolution})`));
      });
    }

    const names = new Map<string, number>();
    const numbers = new Map<number, number>();
    (spec.ports ?? []).forEach((sp, i) => {
      const p = ["spec", "ports", i];
      const prevName = names.get(sp.name);
      if (prevName !== undefined) out.push(error([...p, "name"], `duplicates spec.ports[${prevName}].name ${JSON.stringify(sp.name)}`));
      else if (!isIstioLabel(sp.name)) out.push(error([...p, "name"], `must be a DNS label (letters, digits and '-'), not ${JSON.stringify(sp.name)}`));
      names.set(sp.name, i);
      const prevNumber = numbers.get(sp.number);
      if (prevNumber !== undefined) out.push(error([...p, "number"], `duplicates spec.ports[${prevNumber}].number ${sp.number}`));
      numbers.set(sp.number, i);
      const proto = (sp.protocol ?? "").toLowerCase();
      if (sp.protocol !== undefined && sp.protocol !== "" && !httpProtocols.has(proto) && !tlsProtocols.has(proto) && !otherProtocols.has(proto)) {
        out.push(error([...p, "protocol"], `must be one of HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS, UDP (or GRPC-Web, HTTP_PROXY, Redis, MySQL), not ${JSON.stringify(sp.protocol)}`));
      }
    });
    const servicePorts = new Set(names.keys());

    switch (resolution) {
      case "NONE":
        if (spec.endpoints) out.push(error(["spec", "endpoints"], "must not be set with resolution NONE, which forwards to the address the client dialled"));
        if (spec.workloadSelector) out.push(warning(["spec", "workloadSelector"], "has no effect with resolution NONE"));
        break;
      case "STATIC":
        if (!spec.endpoints && !spec.workloadSelector) out.push(warning(["spec", "resolution"], "is STATIC but there are no endpoints and no workloadSelector, so the service has no endpoints"));
        endpoints.forEach((e, i) => out.push(...workloadEntryIssues(e, ["spec", "endpoints", i], { allowHostname: false, servicePorts })));
        break;
      case "DNS":
      case "DNS_ROUND_ROBIN":
        if (endpoints.length === 0) {
          spec.hosts.forEach((h, i) => {
            if (h !== "*" && !wildcardDomainError(h) && fqdnError(h)) {
              out.push(error(["spec", "hosts", i], `must be a DNS name Envoy can resolve (no wildcard) when resolution is ${resolution} without endpoints; use DYNAMIC_DNS or NONE for wildcard hosts`));
            }
          });
        }
        if (resolution === "DNS_ROUND_ROBIN" && endpoints.length > 1) out.push(error(["spec", "endpoints"], "must have at most one endpoint with resolution DNS_ROUND_ROBIN"));
        endpoints.forEach((e, i) => out.push(...workloadEntryIssues(e, ["spec", "endpoints", i], { allowHostname: true, servicePorts })));
        break;
      case "DYNAMIC_DNS":
        if (spec.endpoints) out.push(warning(["spec", "endpoints"], "are ignored with resolution DYNAMIC_DNS, which resolves each request's host on demand"));
        break;
    }

    // With several hosts, only HTTP (Host header) and TLS (SNI) can tell which host a connection is for.
    if (resolution !== "NONE" && spec.hosts.length > 1) {
      const i = (spec.ports ?? []).findIndex((sp) => { const x = (sp.protocol ?? "").toLowerCase(); return !httpProtocols.has(x) && !tlsProtocols.has(x); });
      if (i >= 0) out.push(error(["spec", "hosts"], `lists several hosts, but port spec.ports[${i}] is not HTTP or TLS, so connections to it cannot be told apart by host; use one ServiceEntry per host`));
    }

    if (spec.workloadSelector) out.push(...selectorIssues(spec.workloadSelector.labels, ["spec", "workloadSelector", "labels"], "labels"));
    out.push(...exportToIssues(spec.exportTo, se.metadata.namespace ?? "default", ["spec", "exportTo"], true));
    return out;
  },
});
