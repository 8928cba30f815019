/**
 * Gateway API references as a waypoint reads them (GAMMA, GEP-1426): which parentRefs name a
 * service port, what a backendRef points at, and whether a cross-namespace reference is allowed
 * by a ReferenceGrant. Defaults are applied here, once: parentRef group gateway.networking.k8s.io
 * and kind Gateway; backendRef group "" and kind Service; namespaces default to the route's.
 */
import { GATEWAY_GROUP, type BackendObjectReference, type LoadedResource, type ParentReference, type ReferenceGrantSpec } from "@waystation/api";
import { isHttp, type MeshModel, type MeshService, type ServicePort } from "@waystation/model";

export const ISTIO_GROUP = "networking.istio.io";

/** "" and "core" both name the core API group. */
export function isCoreGroup(g: string | undefined): boolean {
  return g === undefined || g === "" || g === "core";
}

/** Whether a parentRef (written in a route of `routeNamespace`) names this service, whatever its port. */
export function namesService(ref: ParentReference, routeNamespace: string, svc: MeshService): boolean {
  const group = ref.group ?? GATEWAY_GROUP;
  const kind = ref.kind ?? "Gateway";
  if ((ref.namespace ?? routeNamespace) !== svc.namespace || ref.name !== svc.name) return false;
  return svc.kind === "Service" ? isCoreGroup(group) && kind === "Service" : group === ISTIO_GROUP && kind === "ServiceEntry";
}

/** Ports a waypoint builds an HTTP chain for. */
export function httpPorts(svc: MeshService): ServicePort[] {
  return svc.ports.filter((p) => isHttp(p.protocol));
}

/**
 * The ports of `svc` a parentRef selects among `candidates`: all of them, or the one its `port`
 * (service port number) and `sectionName` (service port name) pick.
 */
export function selectedPorts(ref: ParentReference, candidates: readonly ServicePort[]): ServicePort[] {
  return candidates.filter((p) => (ref.port === undefined || ref.port === p.port) && (ref.sectionName === undefined || ref.sectionName === p.name));
}

/** "Service bookinfo/reviews" or "ServiceEntry bookinfo/api" (a parent, for messages). */
export function describeService(svc: MeshService): string {
  return `${svc.kind} ${svc.namespace}/${svc.name}`;
}

/** A backend reference after defaulting and lookup: a host, or why it cannot be used. */
export type BackendTarget =
  | { host: string; port?: number }
  | { reason: "BackendNotFound" | "RefNotPermitted" | "InvalidKind"; message: string };

/**
 * Resolves a backendRef (or a mirror's backendRef) of a route: kind Service (group "" or core),
 * ServiceEntry (networking.istio.io, one host) or Hostname (networking.istio.io, Istio's
 * extension naming a host directly). A reference into another namespace needs a ReferenceGrant
 * there that lets this route kind in.
 */
export function resolveBackendRef(model: MeshModel, route: LoadedResource, ref: BackendObjectReference): BackendTarget {
  const group = isCoreGroup(ref.group) ? "" : ref.group!;
  const kind = ref.kind ?? "Service";
  const ns = ref.namespace ?? route.key.namespace;
  const portSuffix = ref.port !== undefined ? `:${ref.port}` : "";
  let host: string;
  if (group === "" && kind === "Service") {
    const svc = model.services.find((s) => s.kind === "Service" && s.namespace === ns && s.name === ref.name);
    if (!svc) return { reason: "BackendNotFound", message: `Service ${ns}/${ref.name} does not exist` };
    if (ref.port !== undefined && !svc.ports.some((p) => p.port === ref.port)) {
      return { reason: "BackendNotFound", message: `Service ${ns}/${ref.name} has no port ${ref.port} (ports: ${svc.ports.map((p) => p.port).join(", ") || "none"})` };
    }
    host = svc.hostname;
  } else if (group === ISTIO_GROUP && kind === "ServiceEntry") {
    const hosts = model.services.filter((s) => s.kind === "ServiceEntry" && s.namespace === ns && s.name === ref.name);
    if (hosts.length === 0) return { reason: "BackendNotFound", message: `ServiceEntry ${ns}/${ref.name} does not exist` };
    if (hosts.length > 1) {
      return { reason: "BackendNotFound", message: `ServiceEntry ${ns}/${ref.name} has ${hosts.length} hosts; refer to one with kind Hostname (group ${ISTIO_GROUP})` };
    }
    host = hosts[0]!.hostname;
  } else if (group === ISTIO_GROUP && kind === "Hostname") {
    if (!model.services.some((s) => s.hostname === ref.name)) return { reason: "BackendNotFound", message: `no Service or ServiceEntry has the host ${ref.name}` };
    return { host: ref.name, ...(ref.port !== undefined ? { port: ref.port } : {}) };
  } else {
    return { reason: "InvalidKind", message: `${kind} (group ${JSON.stringify(group)}) is not a backend kind Waystation supports: use a Service, a ServiceEntry or a Hostname` };
  }
  if (ns !== route.key.namespace && !referenceGranted(model, route, { group, kind, namespace: ns, name: ref.name })) {
    return {
      reason: "RefNotPermitted",
      message: `${kind} ${ns}/${ref.name}${portSuffix} is in another namespace and no ReferenceGrant in ${ns} allows ${route.key.kind}s from ${route.key.namespace} to refer to it`,
    };
  }
  return { host, ...(ref.port !== undefined ? { port: ref.port } : {}) };
}

/** Whether a ReferenceGrant in the target's namespace lets `from` refer to the target. */
export function referenceGranted(model: MeshModel, from: LoadedResource, to: { group: string; kind: string; namespace: string; name: string }): boolean {
  const sameGroup = (a: string, b: string) => a === b || (isCoreGroup(a) && isCoreGroup(b));
  return model.resources.some((r) => {
    if (r.key.group !== GATEWAY_GROUP || r.key.kind !== "ReferenceGrant" || r.key.namespace !== to.namespace) return false;
    const spec = r.object.spec as ReferenceGrantSpec;
    return spec.from.some((f) => sameGroup(f.group, from.key.group) && f.kind === from.key.kind && f.namespace === from.key.namespace)
      && spec.to.some((t) => sameGroup(t.group, to.group) && t.kind === to.kind && (t.name === undefined || t.name === "" || t.name === to.name));
  });
}
