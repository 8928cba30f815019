/**
 * Core v1 kinds the mesh model reads: Namespace, Service, Pod, ServiceAccount.
 * The API server is the authority on these; Waystation checks the fields it interprets and lets
 * the rest pass, so that `kubectl get -o yaml` output loads unchanged.
 */
import { error, type FieldIssue } from "../issues.js";
import { defineKind } from "../kind.js";
import { runCheck } from "../checks.js";
import { anyValue, bool, intOrString, ipAddress, list, obj, oneOfStrings, openObj, opt, port, str, stringMap, type Static } from "../schema.js";

export const NamespaceKind = defineKind({
  group: "", kind: "Namespace", versions: ["v1"], namespaced: false,
  spec: openObj({ finalizers: opt(list(str())) }),
});

export const ServiceAccountKind = defineKind({
  group: "", kind: "ServiceAccount", versions: ["v1"], namespaced: true,
  extraFields: {
    secrets: opt(list(anyValue())),
    imagePullSecrets: opt(list(anyValue())),
    automountServiceAccountToken: opt(bool()),
  },
});

export const ServicePortSchema = openObj({
  name: opt(str()),
  port: port(),
  targetPort: opt(intOrString()),
  protocol: opt(oneOfStrings("TCP", "UDP", "SCTP")),
  appProtocol: opt(str()),
  nodePort: opt(port()),
});

export const ServiceSpecSchema = openObj({
  type: opt(oneOfStrings("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")),
  selector: opt(stringMap()),
  ports: opt(list(ServicePortSchema)),
  clusterIP: opt(str()),
  clusterIPs: opt(list(str())),
  externalName: opt(str()),
  internalTrafficPolicy: opt(oneOfStrings("Cluster", "Local")),
  trafficDistribution: opt(str()),
  publishNotReadyAddresses: opt(bool()),
  ipFamilies: opt(list(oneOfStrings("IPv4", "IPv6"))),
  ipFamilyPolicy: opt(str()),
});
export type ServiceSpec = Static<typeof ServiceSpecSchema>;

export const ServiceKind = defineKind<ServiceSpec>({
  group: "", kind: "Service", versions: ["v1"], namespaced: true, spec: ServiceSpecSchema,
  check(svc) {
    const issues: FieldIssue[] = [];
    const spec = svc.spec;
    const ip = spec.clusterIP;
    if (ip !== undefined && ip !== "None" && ip !== "") {
      const bad = runCheck("ip", ip);
      if (bad) issues.push(error(["spec", "clusterIP"], `${bad} (or "None" for a headless Service)`));
    }
    const names = new Map<string, number>();
    const ports = new Map<string, number>();
    (spec.ports ?? []).forEach((p, i) => {
      if ((spec.ports?.length ?? 0) > 1 && !p.name) issues.push(error(["spec", "ports", i, "name"], "is required when a Service has more than one port"));
      if (p.name) {
        const prev = names.get(p.name);
        if (prev !== undefined) issues.push(error(["spec", "ports", i, "name"], `duplicates spec.ports[${prev}].name ${JSON.stringify(p.name)}`));
        names.set(p.name, i);
      }
      const k = `${p.port}/${p.protocol ?? "TCP"}`;
      const prev = ports.get(k);
      if (prev !== undefined) issues.push(error(["spec", "ports", i, "port"], `duplicates spec.ports[${prev}] (${k})`));
      ports.set(k, i);
      if (typeof p.targetPort === "number" && (p.targetPort < 1 || p.targetPort > 65535)) {
        issues.push(error(["spec", "ports", i, "targetPort"], "must be a port number from 1 to 65535 or a port name"));
      }
    });
    return issues;
  },
});

export const PodSpecSchema = openObj({
  serviceAccountName: opt(str()),
  serviceAccount: opt(str()),
  nodeName: opt(str()),
  hostNetwork: opt(bool()),
  containers: opt(list(openObj({
    name: opt(str()),
    ports: opt(list(openObj({ name: opt(str()), containerPort: port(), protocol: opt(oneOfStrings("TCP", "UDP", "SCTP")) }))),
  }))),
});
export type PodSpec = Static<typeof PodSpecSchema>;

export const PodStatusSchema = openObj({
  podIP: opt(ipAddress()),
  podIPs: opt(list(obj({ ip: ipAddress() }))),
  phase: opt(str()),
  hostIP: opt(str()),
  conditions: opt(list(openObj({ type: str(), status: str() }))),
});

export const PodKind = defineKind<PodSpec>({
  group: "", kind: "Pod", versions: ["v1"], namespaced: true, spec: PodSpecSchema, specRequired: true,
  status: PodStatusSchema,
});
