// The local config file (`--local-config`, YAML or JSON): the workload API written by hand, for a
// ztunnel without a control plane (STYLE.md §9). Field names are the protos' in camelCase; IPs and
// CIDRs are text. Every error carries its field path; the caller refuses a file with any error, since
// dropping a bad DENY policy would open traffic. Pure: the caller reads the file and passes the text.
//
//   workloads:
//     - name: sleep                     # uid defaults to "<clusterId>//Pod/<namespace>/<name>"
//       namespace: default
//       serviceAccount: sleep           # default "default"; trustDomain default "cluster.local"
//       addresses: [10.0.0.5]
//       node: node-a                    # the ztunnel whose --node matches serves it
//       tunnelProtocol: HBONE           # HBONE (default) | NONE
//       services: { default/echo.default.svc.cluster.local: [{ servicePort: 80, targetPort: 8080 }] }
//       waypoint: { hostname: waypoint.default.svc.cluster.local, namespace: default }   # or { address: 10.0.0.9 }; hbonePort 15008
//       authorizationPolicies: [default/allow-sleep]
//   services:
//     - { name: echo, namespace: default, hostname: echo.default.svc.cluster.local, vips: [10.96.0.10],
//         ports: [{ servicePort: 80, targetPort: 8080 }], waypoint: ..., healthPolicy: OnlyHealthy, mode: Unspecified }
//   policies:
//     - name: deny-sleep
//       namespace: default
//       scope: Namespace                # Global | Namespace | WorkloadSelector
//       action: Deny                    # Allow | Deny
//       rules: [{ clauses: [{ matches: [{ principals: [{ exact: cluster.local/ns/default/sa/sleep }], destinationPorts: [8080] }] }] }]
//   listeners:                          # for hosts without transparent capture (see README)
//     outbound: [{ source: default/sleep, listen: 127.0.0.1:9000, target: echo.default.svc.cluster.local:80 }]
//     inbound:  [{ listen: 10.0.0.5:15006, target: 10.0.0.5:8080 }]
import { parse as parseYaml } from "yaml";
import { normalizeIp, parseCidr, parseHostPort, type Cidr, type HostPort } from "./ip.js";
import {
  DEFAULT_TRUST_DOMAIN, EMPTY_MATCH, HBONE_PORT, type GatewayAddress, type Match, type PortMapping, type Policy, type Service,
  type StringMatch, type Workload, workloadDefaults, serviceDefaults,
} from "./types.js";

/** An explicit outbound listener: plain TCP on `listen`, sent as `source` to `target`. */
export interface ExplicitListener {
  /** The source workload: its uid, `<namespace>/<name>`, or one of its IPs. */
  readonly source: string;
  readonly listen: HostPort;
  /** An IP or a service hostname, and a port. */
  readonly target: HostPort;
}

/** A plaintext inbound listener: what 15006 would receive with SO_ORIGINAL_DST = `target`. */
export interface PlaintextListener {
  readonly listen: HostPort;
  readonly target: HostPort;
}

/** The parsed file: the state's records, the listeners, and every error with its path. */
export interface LocalConfig {
  readonly workloads: Workload[];
  readonly services: Service[];
  readonly policies: Policy[];
  readonly listeners: { outbound: ExplicitListener[]; inbound: PlaintextListener[] };
  readonly errors: string[];
}

type Obj = Record<string, unknown>;

/** Parses the local config text; `source` names it in errors (`file.yaml: workloads[0].addresses[1]: ...`). */
export function parseLocalConfig(text: string, source = "local-config"): LocalConfig {
  const out: LocalConfig = { workloads: [], services: [], policies: [], listeners: { outbound: [], inbound: [] }, errors: [] };
  let doc: unknown;
  try {
    doc = parseYaml(text) ?? {};
  } catch (e) {
    out.errors.push(`${source}: not YAML or JSON: ${(e as Error).message}`);
    return out;
  }
  const r = new Reader(source, out.errors);
  const root = r.obj(doc, "", ["workloads", "services", "policies", "listeners"]);
  if (!root) return out;
  r.list(root.workloads, "workloads", (o, p) => { const w = workload(r, o, p); if (w) out.workloads.push(w); });
  r.list(root.services, "services", (o, p) => { const s = service(r, o, p); if (s) out.services.push(s); });
  r.list(root.policies, "policies", (o, p) => { const x = policy(r, o, p); if (x) out.policies.push(x); });
  const l = root.listeners === undefined ? undefined : r.obj(root.listeners, "listeners", ["outbound", "inbound"]);
  r.list(l?.outbound, "listeners.outbound", (o, p) => {
    const x = r.obj(o, p, ["source", "listen", "target"]);
    const listen = r.hostPort(x?.listen, `${p}.listen`, true), target = r.hostPort(x?.target, `${p}.target`, false);
    const src = r.str(x?.source, `${p}.source`, true);
    if (listen && target && src) out.listeners.outbound.push({ source: src, listen, target });
  });
  r.list(l?.inbound, "listeners.inbound", (o, p) => {
    const x = r.obj(o, p, ["listen", "target"]);
    const listen = r.hostPort(x?.listen, `${p}.listen`, true), target = r.hostPort(x?.target, `${p}.target`, true);
    if (listen && target) out.listeners.inbound.push({ listen, target });
  });
  return out;
}

function workload(r: Reader, v: unknown, p: string): Workload | undefined {
  const o = r.obj(v, p, ["uid", "name", "namespace", "addresses", "hostname", "network", "tunnelProtocol", "trustDomain", "serviceAccount",
    "waypoint", "node", "canonicalName", "canonicalRevision", "workloadName", "workloadType", "nativeTunnel", "services",
    "authorizationPolicies", "status", "clusterId"]);
  if (!o) return undefined;
  const name = r.str(o.name, `${p}.name`, true) ?? "", namespace = r.str(o.namespace, `${p}.namespace`, true) ?? "";
  const clusterId = r.str(o.clusterId, `${p}.clusterId`) ?? "Kubernetes";
  const services: Record<string, PortMapping[]> = {};
  const svc = o.services === undefined ? {} : r.obj(o.services, `${p}.services`);
  for (const key of Object.keys(svc ?? {}).sort()) services[key] = r.ports(svc![key], `${p}.services["${key}"]`);
  const w = workloadDefaults({
    uid: r.str(o.uid, `${p}.uid`) ?? `${clusterId}//Pod/${namespace}/${name}`, name, namespace, clusterId,
    addresses: r.strings(o.addresses, `${p}.addresses`).map((a, i) => r.ip(a, `${p}.addresses[${i}]`)),
    hostname: r.str(o.hostname, `${p}.hostname`) ?? "", network: r.str(o.network, `${p}.network`) ?? "",
    tunnelProtocol: r.oneOf(o.tunnelProtocol, `${p}.tunnelProtocol`, ["HBONE", "NONE"] as const) ?? "HBONE",
    trustDomain: r.str(o.trustDomain, `${p}.trustDomain`) || DEFAULT_TRUST_DOMAIN,
    serviceAccount: r.str(o.serviceAccount, `${p}.serviceAccount`) || "default",
    waypoint: o.waypoint === undefined ? undefined : gateway(r, o.waypoint, `${p}.waypoint`),
    node: r.str(o.node, `${p}.node`) ?? "",
    canonicalName: r.str(o.canonicalName, `${p}.canonicalName`) ?? name,
    canonicalRevision: r.str(o.canonicalRevision, `${p}.canonicalRevision`) ?? "latest",
    workloadName: r.str(o.workloadName, `${p}.workloadName`) ?? name,
    workloadType: r.oneOf(o.workloadType, `${p}.workloadType`, ["deployment", "cronjob", "pod", "job"] as const) ?? "deployment",
    nativeTunnel: o.nativeTunnel === true, services,
    authorizationPolicies: r.strings(o.authorizationPolicies, `${p}.authorizationPolicies`),
    status: r.oneOf(o.status, `${p}.status`, ["Healthy", "Unhealthy"] as const) ?? "Healthy",
  });
  return w;
}

function service(r: Reader, v: unknown, p: string): Service | undefined {
  const o = r.obj(v, p, ["name", "namespace", "hostname", "vips", "ports", "subjectAltNames", "waypoint", "healthPolicy", "mode"]);
  if (!o) return undefined;
  return serviceDefaults({
    name: r.str(o.name, `${p}.name`, true) ?? "", namespace: r.str(o.namespace, `${p}.namespace`, true) ?? "",
    hostname: r.str(o.hostname, `${p}.hostname`, true) ?? "",
    vips: r.strings(o.vips, `${p}.vips`).map((a, i) => r.ip(a, `${p}.vips[${i}]`)),
    ports: r.ports(o.ports ?? [], `${p}.ports`),
    subjectAltNames: r.strings(o.subjectAltNames, `${p}.subjectAltNames`),
    waypoint: o.waypoint === undefined ? undefined : gateway(r, o.waypoint, `${p}.waypoint`),
    healthPolicy: r.oneOf(o.healthPolicy, `${p}.healthPolicy`, ["OnlyHealthy", "AllowAll"] as const) ?? "OnlyHealthy",
    mode: r.oneOf(o.mode, `${p}.mode`, ["Unspecified", "Strict", "Failover", "Passthrough"] as const) ?? "Unspecified",
  });
}

function gateway(r: Reader, v: unknown, p: string): GatewayAddress | undefined {
  const o = r.obj(v, p, ["hostname", "namespace", "address", "network", "hbonePort"]);
  if (!o) return undefined;
  const hbonePort = r.port(o.hbonePort ?? HBONE_PORT, `${p}.hbonePort`);
  if ((o.hostname === undefined) === (o.address === undefined)) return r.err(`${p}: exactly one of hostname and address`);
  if (o.hostname !== undefined) {
    return { kind: "hostname", hostname: r.str(o.hostname, `${p}.hostname`, true) ?? "", namespace: r.str(o.namespace, `${p}.namespace`, true) ?? "", hbonePort };
  }
  return { kind: "address", ip: r.ip(r.str(o.address, `${p}.address`, true) ?? "", `${p}.address`), network: r.str(o.network, `${p}.network`) ?? "", hbonePort };
}

function policy(r: Reader, v: unknown, p: string): Policy | undefined {
  const o = r.obj(v, p, ["name", "namespace", "scope", "action", "rules"]);
  if (!o) return undefined;
  const rules = r.listOf(o.rules, `${p}.rules`, (rv, rp) => {
    const ro = r.obj(rv, rp, ["clauses"]);
    return {
      clauses: r.listOf(ro?.clauses, `${rp}.clauses`, (cv, cp) => {
        const co = r.obj(cv, cp, ["matches"]);
        return { matches: r.listOf(co?.matches, `${cp}.matches`, (mv, mp) => match(r, mv, mp)) };
      }),
    };
  });
  return {
    name: r.str(o.name, `${p}.name`, true) ?? "", namespace: r.str(o.namespace, `${p}.namespace`) ?? "",
    scope: r.oneOf(o.scope, `${p}.scope`, ["Global", "Namespace", "WorkloadSelector"] as const, true) ?? "Namespace",
    action: r.oneOf(o.action, `${p}.action`, ["Allow", "Deny"] as const, true) ?? "Deny",
    rules,
  };
}

function match(r: Reader, v: unknown, p: string): Match {
  const o = r.obj(v, p, Object.keys(EMPTY_MATCH)) ?? {};
  const strs = (k: string): StringMatch[] => r.listOf(o[k], `${p}.${k}`, (sv, sp) => stringMatch(r, sv, sp));
  const cidrs = (k: string): Cidr[] => r.strings(o[k], `${p}.${k}`).flatMap((c, i) => parseCidr(c) ?? r.err(`${p}.${k}[${i}]: "${c}" is not an IP or CIDR`) ?? []);
  const ports = (k: string): number[] => r.listOf(o[k], `${p}.${k}`, (pv, pp) => r.port(pv, pp));
  const sas = (k: string) => r.listOf(o[k], `${p}.${k}`, (sv, sp) => {
    const so = r.obj(sv, sp, ["namespace", "serviceAccount"]);
    return { namespace: r.str(so?.namespace, `${sp}.namespace`, true) ?? "", serviceAccount: r.str(so?.serviceAccount, `${sp}.serviceAccount`, true) ?? "" };
  });
  return {
    namespaces: strs("namespaces"), notNamespaces: strs("notNamespaces"), serviceAccounts: sas("serviceAccounts"), notServiceAccounts: sas("notServiceAccounts"),
    principals: strs("principals"), notPrincipals: strs("notPrincipals"), sourceIps: cidrs("sourceIps"), notSourceIps: cidrs("notSourceIps"),
    destinationIps: cidrs("destinationIps"), notDestinationIps: cidrs("notDestinationIps"), destinationPorts: ports("destinationPorts"), notDestinationPorts: ports("notDestinationPorts"),
  };
}

function stringMatch(r: Reader, v: unknown, p: string): StringMatch {
  const o = r.obj(v, p, ["exact", "prefix", "suffix", "presence"]) ?? {};
  const keys = Object.keys(o);
  if (keys.length !== 1) return r.err(`${p}: exactly one of exact, prefix, suffix, presence`) ?? { exact: "" };
  if ("presence" in o) return { presence: true };
  const k = keys[0] as "exact" | "prefix" | "suffix";
  return { [k]: r.str(o[k], `${p}.${k}`, true) ?? "" } as StringMatch;
}

/** Typed reads that record an error with its path instead of throwing. */
class Reader {
  constructor(private readonly source: string, private readonly errors: string[]) {}

  err(msg: string): undefined {
    this.errors.push(`${this.source}: ${msg}`);
    return undefined;
  }

  obj(v: unknown, p: string, allowed?: readonly string[]): Obj | undefined {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return this.err(`${p || "(root)"}: expected a mapping`);
    for (const k of Object.keys(v)) if (allowed && !allowed.includes(k)) this.err(`${p ? `${p}.` : ""}${k}: unknown field (known: ${allowed.join(", ")})`);
    return v as Obj;
  }

  list(v: unknown, p: string, each: (item: unknown, path: string) => void): void {
    if (v === undefined || v === null) return;
    if (!Array.isArray(v)) return void this.err(`${p}: expected a list`);
    v.forEach((x, i) => each(x, `${p}[${i}]`));
  }

  listOf<T>(v: unknown, p: string, each: (item: unknown, path: string) => T): T[] {
    const out: T[] = [];
    this.list(v, p, (x, xp) => out.push(each(x, xp)));
    return out;
  }

  str(v: unknown, p: string, required = false): string | undefined {
    if (v === undefined || v === null) return required ? this.err(`${p}: required`) : undefined;
    if (typeof v !== "string") return this.err(`${p}: expected a string`);
    return v;
  }

  strings(v: unknown, p: string): string[] {
    return this.listOf(v, p, (x, xp) => this.str(x, xp, true)).filter((x): x is string => x !== undefined);
  }

  oneOf<T extends string>(v: unknown, p: string, values: readonly T[], required = false): T | undefined {
    const s = this.str(v, p, required);
    if (s === undefined) return undefined;
    return values.includes(s as T) ? (s as T) : this.err(`${p}: "${s}" is not one of ${values.join(", ")}`);
  }

  port(v: unknown, p: string): number {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) return this.err(`${p}: expected a port 1-65535`) ?? 0;
    return v;
  }

  ports(v: unknown, p: string): PortMapping[] {
    return this.listOf(v, p, (x, xp) => {
      const o = this.obj(x, xp, ["servicePort", "targetPort"]);
      const targetPort = o?.targetPort === undefined || o.targetPort === 0 ? 0 : this.port(o.targetPort, `${xp}.targetPort`);
      return { servicePort: this.port(o?.servicePort, `${xp}.servicePort`), targetPort };
    });
  }

  ip(v: string, p: string): string {
    return normalizeIp(v) ?? this.err(`${p}: "${v}" is not an IP address`) ?? v;
  }

  hostPort(v: unknown, p: string, ipOnly: boolean): HostPort | undefined {
    const s = this.str(v, p, true);
    if (s === undefined) return undefined;
    const hp = parseHostPort(s);
    if (!hp) return this.err(`${p}: "${s}" is not host:port`);
    if (ipOnly && normalizeIp(hp.host) === undefined) return this.err(`${p}: "${s}" must be an IP address and port`);
    return hp;
  }
}
