/** A short human summary of what a set of resources describes, for `validate` and `npm start`. */
import type { LoadedResource } from "@waystation/api";

export function meshSummary(resources: readonly LoadedResource[]): string[] {
  const byKind = new Map<string, number>();
  for (const r of resources) byKind.set(r.key.kind, (byKind.get(r.key.kind) ?? 0) + 1);
  const namespaces = resources.filter((r) => r.key.kind === "Namespace");
  const ambient = namespaces.filter((r) => r.object.metadata.labels?.["istio.io/dataplane-mode"] === "ambient");
  const waypoints = resources.filter((r) => r.key.kind === "Gateway" && (r.object.spec as { gatewayClassName?: string }).gatewayClassName === "istio-waypoint");
  const lines: string[] = [];
  lines.push(`namespaces: ${namespaces.length} (${ambient.length} in ambient mode${ambient.length ? `: ${ambient.map((n) => n.key.name).join(", ")}` : ""})`);
  if (waypoints.length > 0) lines.push(`waypoints: ${waypoints.map((w) => `${w.key.namespace}/${w.key.name}`).join(", ")}`);
  const kinds = [...byKind.entries()].filter(([k]) => k !== "Namespace").sort(([a], [b]) => (a < b ? -1 : 1));
  if (kinds.length > 0) lines.push(`resources: ${kinds.map(([k, n]) => `${n} ${k}`).join(", ")}`);
  return lines;
}
