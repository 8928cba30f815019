/**
 * Istio WorkloadEntry (networking.istio.io): a non-Kubernetes workload (a VM, a bare-metal host)
 * described like a Pod. The same shape is a ServiceEntry endpoint, so the checks take options.
 */
import { obj, opt, port, str, stringMap, Type, uint32, type Static } from "../../schema.js";
import { error, warning, type FieldIssue } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { NETWORKING_GROUP, NETWORKING_VERSIONS } from "./common.js";
import { fqdnError, isIp, isIstioLabel, keyError, labelIssues } from "./rules.js";

/** Istio WorkloadEntry spec (also the shape of ServiceEntry.endpoints[]). */
export const WorkloadEntrySpecSchema = obj({
  /** An IP address, a DNS name (DNS resolution only) or unix:///path/to/socket. */
  address: opt(str()),
  /** Port name -> port number on this workload, overriding the service's port of that name. */
  ports: opt(Type.Record(Type.String(), port())),
  labels: opt(stringMap()),
  network: opt(str()),
  locality: opt(str()),
  weight: opt(uint32()),
  serviceAccount: opt(str()),
});
/** Typed form of {@link WorkloadEntrySpecSchema}. */
export type WorkloadEntrySpec = Static<typeof WorkloadEntrySpecSchema>;

/** How an entry is checked: on its own, or as an endpoint of a ServiceEntry. */
export interface WorkloadEntryCheckOptions {
  /** Whether the address may be a DNS name (DNS resolution, or a standalone WorkloadEntry). */
  allowHostname: boolean;
  /** The ServiceEntry's port names, which endpoint ports must use; undefined for a standalone entry. */
  servicePorts?: ReadonlySet<string>;
}

const UNIX = "unix://";

/** Checks one workload entry at `p` (["spec"] or ["spec", "endpoints", i]), as Istio validateWorkloadEntry. */
export function workloadEntryIssues(we: WorkloadEntrySpec, p: readonly (string | number)[], opts: WorkloadEntryCheckOptions): FieldIssue[] {
  const out: FieldIssue[] = [];
  const addr = we.address ?? "";
  if (addr === "") {
    if (!we.network) out.push(error([...p, "address"], "is required (unless network is set, for a workload reached through that network's gateway)"));
    else out.push(warning([...p, "address"], `is not set; the workload is only reachable through network ${JSON.stringify(we.network)}'s gateway`));
  } else if (addr.startsWith(UNIX)) {
    const path = addr.slice(UNIX.length);
    if (!(path.startsWith("/") || path.startsWith("@")) || path.endsWith("/")) {
      out.push(error([...p, "address"], "must be unix:// followed by an absolute socket path (or @abstract-name), not a directory"));
    }
    if (we.ports && Object.keys(we.ports).length > 0) out.push(error([...p, "ports"], "must not be set for a unix domain socket address"));
    if (opts.servicePorts && opts.servicePorts.size !== 1) out.push(error([...p, "address"], "is a unix domain socket, which needs the ServiceEntry to have exactly one port"));
  } else if (!isIp(addr)) {
    if (!opts.allowHostname) out.push(error([...p, "address"], `must be an IP address with resolution STATIC, not ${JSON.stringify(addr)}`));
    else if (fqdnError(addr)) out.push(error([...p, "address"], `must be an IP address, a DNS name or unix:///path, not ${JSON.stringify(addr)}`));
  }
  for (const name of Object.keys(we.ports ?? {})) {
    if (!isIstioLabel(name)) out.push(keyError([...p, "ports", name], "is not a valid port name (letters, digits and '-', at most 63 characters)"));
    else if (opts.servicePorts && !opts.servicePorts.has(name)) {
      out.push(keyError([...p, "ports", name], `is not the name of a port in spec.ports (${[...opts.servicePorts].join(", ") || "none"})`));
    }
  }
  out.push(...labelIssues(we.labels, [...p, "labels"]));
  return out;
}

/** The WorkloadEntry kind. */
export const WorkloadEntryKind = defineKind<WorkloadEntrySpec>({
  group: NETWORKING_GROUP, kind: "WorkloadEntry", versions: NETWORKING_VERSIONS, namespaced: true,
  spec: WorkloadEntrySpecSchema, specRequired: true,
  check: (we) => workloadEntryIssues(we.spec, ["spec"], { allowHostname: true }),
});
