/** `waystation explain`: why a service or workload uses the waypoint it does, and what attaches. */
import { describeBinding } from "./binding.js";
import type { MeshModel } from "./types.js";

/**
 * Explains a service given as "name.namespace" or its host name. Returns the lines to print, or
 * undefined when no such service exists.
 */
export function explainService(model: MeshModel, ref: string): string[] | undefined {
  const matches = model.services.filter((s) => s.hostname === ref || `${s.name}.${s.namespace}` === ref || (s.kind === "ServiceEntry" && s.hostname === ref));
  if (matches.length === 0) return undefined;
  const lines: string[] = [];
  for (const s of matches) {
    lines.push(`${s.kind} ${s.namespace}/${s.name} (${s.hostname})`);
    lines.push(`  waypoint: ${describeBinding(s.waypoint)}`);
    if (s.vips.length > 0) lines.push(`  addresses: ${s.vips.join(", ")}${s.autoAllocated ? " (auto-allocated)" : ""}`);
    lines.push(`  ports: ${s.ports.map((p) => `${p.port}/${p.protocol}${p.name ? ` (${p.name})` : ""}`).join(", ") || "none"}`);
    const backends = model.workloads.filter((w) => w.services.includes(s.hostname));
    lines.push(`  workloads: ${backends.map((w) => `${w.kind} ${w.name} ${w.ips.join(",")}`).join("; ") || "none"}`);
    const attached = model.attachments.filter((a) => a.services.includes(s)
      || (s.waypoint.state === "bound" && a.waypoints.includes(s.waypoint.waypoint)));
    for (const a of attached) {
      const how = a.services.includes(s) ? "targets this service" : "targets its waypoint";
      lines.push(`  policy: ${a.policy.key.kind} ${a.policy.key.namespace}/${a.policy.key.name} (${how})`);
    }
  }
  return lines;
}

/** Explains a workload given as "name.namespace". */
export function explainWorkload(model: MeshModel, ref: string): string[] | undefined {
  const w = model.workloads.find((x) => `${x.name}.${x.namespace}` === ref);
  if (!w) return undefined;
  return [
    `${w.kind} ${w.namespace}/${w.name} (${w.ips.join(", ") || w.hostname || "no address"})`,
    `  identity: ${w.identity}`,
    `  tunnel: ${w.tunnel}${w.nativeTunnel ? " (native)" : ""}`,
    `  waypoint: ${describeBinding(w.waypoint)}`,
    `  services: ${w.services.join(", ") || "none"}`,
  ];
}
