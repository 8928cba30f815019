/**
 * Mesh services -> istio.workload.Service, as istiod's ambient index fills them
 * (istio-ambient.md §3.4, §3.6; istio pilot/.../ambient/services.go `constructService`):
 * VIPs as NetworkAddress, ports with the target port (0 when named: ztunnel reads the real one
 * per workload), the waypoint binding, load balancing and IP families.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { parseCidr, type LoadedResource, type ServiceEntrySpec, type ServiceSpec } from "@waystation/api";
import type { MeshModel, MeshService } from "@waystation/model";
import {
  IPFamilies, LoadBalancing_HealthPolicy, LoadBalancing_Mode, LoadBalancing_Scope, type LoadBalancingSchema, type ServiceSchema,
} from "@waystation/proto/istio/workload/workload_pb.js";
import { boundWaypoint, type Conditions } from "./common.js";

type ServiceInit = MessageInitShape<typeof ServiceSchema>;
type LoadBalancingInit = MessageInitShape<typeof LoadBalancingSchema>;

/** Service and ServiceEntry annotation that asks for locality-aware routing (Istio 1.24+). */
export const trafficDistributionAnnotation = "networking.istio.io/traffic-distribution";

/** The Address resource name of a service: `<namespace>/<hostname>` (istio-ambient.md §3.2). */
export const serviceResourceName = (s: MeshService) => `${s.namespace}/${s.hostname}`;

/** One mesh service as ztunnel sees it. `source` is the Service or ServiceEntry it came from. */
export function toService(model: MeshModel, s: MeshService, source: LoadedResource | undefined, conditions: Conditions): ServiceInit {
  const network = model.options.network;
  const addresses: { network: string; address: Uint8Array }[] = [];
  for (const vip of s.vips) {
    const c = parseCidr(vip);
    // A ServiceEntry may list a CIDR; the 1.28 NetworkAddress carries single addresses only
    // (the prefix length field came in 1.30), so a range cannot be a VIP here.
    if (!c || c.length !== c.address.length * 8) {
      conditions.add(s.key, "True", "UnsupportedValue", `address ${vip} of ${s.hostname} is a range; ztunnel captures single VIPs only, so it is left out of the workload API`);
      continue;
    }
    addresses.push({ network, address: c.address });
  }
  const waypoint = boundWaypoint(s.waypoint);
  const lb = loadBalancing(s, source);
  const sans = s.kind === "ServiceEntry" ? ((source?.object.spec ?? {}) as ServiceEntrySpec).subjectAltNames ?? [] : [];
  return {
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    addresses,
    ports: s.ports.map((p) => ({ servicePort: p.port, targetPort: typeof p.targetPort === "number" ? p.targetPort : 0 })),
    subjectAltNames: sans,
    ...(waypoint ? { waypoint } : {}),
    ...(lb ? { loadBalancing: lb } : {}),
    ipFamilies: s.kind === "Service" ? ipFamilies(s, (source?.object.spec ?? {}) as ServiceSpec) : IPFamilies.AUTOMATIC,
  };
}

/**
 * istiod's load-balancing rules: traffic distribution PreferClose / PreferSameZone prefers the
 * same network, region and zone with failover (PreferSameNode adds subzone and node);
 * internalTrafficPolicy Local keeps traffic on the node, strictly, and wins over a preference;
 * publishNotReadyAddresses lets unhealthy endpoints receive traffic; a ServiceEntry with
 * resolution NONE is PASSTHROUGH (1.28). Undefined when none applies.
 */
export function loadBalancing(s: MeshService, source: LoadedResource | undefined): LoadBalancingInit | undefined {
  const ann = source?.object.metadata.annotations ?? {};
  const spec = (s.kind === "Service" ? source?.object.spec ?? {} : {}) as ServiceSpec;
  const distribution = spec.trafficDistribution ?? ann[trafficDistributionAnnotation];
  let lb: LoadBalancingInit | undefined;
  const { NETWORK, REGION, ZONE, SUBZONE, NODE } = LoadBalancing_Scope;
  if (distribution === "PreferClose" || distribution === "PreferSameZone") {
    lb = { routingPreference: [NETWORK, REGION, ZONE], mode: LoadBalancing_Mode.FAILOVER };
  } else if (distribution === "PreferSameNode") {
    lb = { routingPreference: [NETWORK, REGION, ZONE, SUBZONE, NODE], mode: LoadBalancing_Mode.FAILOVER };
  }
  if (spec.internalTrafficPolicy === "Local") lb = { routingPreference: [NODE], mode: LoadBalancing_Mode.STRICT };
  if (s.kind === "ServiceEntry" && s.resolution === "NONE") lb = { ...lb, mode: LoadBalancing_Mode.PASSTHROUGH };
  if (spec.publishNotReadyAddresses) lb = { ...lb, healthPolicy: LoadBalancing_HealthPolicy.ALLOW_ALL };
  return lb;
}

/**
 * spec.ipFamilies as the API server fills it; a manifest without it (file mode) gets the
 * families of its cluster IPs, which is what the API server would have written.
 */
function ipFamilies(s: MeshService, spec: ServiceSpec): IPFamilies {
  const fams = spec.ipFamilies ?? [...new Set(s.vips.map((v) => (v.includes(":") ? "IPv6" : "IPv4")))];
  if (fams.length >= 2) return IPFamilies.DUAL;
  if (fams[0] === "IPv4") return IPFamilies.IPV4_ONLY;
  if (fams[0] === "IPv6") return IPFamilies.IPV6_ONLY;
  return IPFamilies.AUTOMATIC;
}
