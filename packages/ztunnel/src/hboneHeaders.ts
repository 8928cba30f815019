// The CONNECT request headers ztunnel sends and reads (istio-ambient.md §1.2): `baggage` (who the
// source is, for telemetry when the peer cannot look it up), `forwarded` (the original client
// address, and the intended service) and W3C `traceparent`. Pure except for random trace ids.
import { randomBytes } from "node:crypto";
import type { Service, Workload } from "./types.js";

/** `baggage`: k8s.cluster.name, k8s.namespace.name, k8s.<type>.name, service.name, service.version. */
export function buildBaggage(w: Workload): string {
  const kv: [string, string][] = [
    ["k8s.cluster.name", w.clusterId], ["k8s.namespace.name", w.namespace], [`k8s.${w.workloadType || "deployment"}.name`, w.workloadName || w.name],
    ["service.name", w.canonicalName], ["service.version", w.canonicalRevision],
  ];
  return kv.filter(([, v]) => v !== "").map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(",");
}

/** What the receiving side recovers from `baggage` (ztunnel src/baggage.rs). */
export function parseBaggage(header: string | undefined): Partial<Workload> {
  const out: { -readonly [K in keyof Workload]?: Workload[K] } = {};
  for (const part of (header ?? "").split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    let v: string;
    try {
      v = decodeURIComponent(part.slice(eq + 1).split(";")[0]!.trim());
    } catch {
      continue;
    }
    if (k === "k8s.cluster.name") out.clusterId = v;
    else if (k === "k8s.namespace.name") out.namespace = v;
    else if (/^k8s\.(deployment|cronjob|pod|job)\.name$/.test(k)) { out.workloadName = v; out.workloadType = k.split(".")[1]!; }
    else if (k === "service.name") out.canonicalName = v;
    else if (k === "service.version") out.canonicalRevision = v;
  }
  return out;
}

/** `forwarded: for="ip:port"`, plus `;host=<service FQDN>` when the intended service is known. */
export function buildForwarded(clientAddr: string, service?: Service): string {
  return `for="${clientAddr}"${service ? `;host=${service.hostname}` : ""}`;
}

/** The `for` address and `host` of the first `forwarded` element (RFC 7239). */
export function parseForwarded(header: string | undefined): { for?: string; host?: string } {
  const out: { for?: string; host?: string } = {};
  const first = (header ?? "").split(",")[0] ?? "";
  for (const pair of first.split(";")) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    const k = pair.slice(0, eq).trim().toLowerCase();
    const v = pair.slice(eq + 1).trim().replace(/^"(.*)"$/, "$1");
    if (k === "for") out.for = v;
    else if (k === "host") out.host = v;
  }
  return out;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A new W3C traceparent (random trace and span ids, sampled flag off). */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-00`;
}

/** The incoming traceparent when it is valid (all-zero ids are not), else undefined. */
export function validTraceparent(header: string | undefined): string | undefined {
  const m = header === undefined ? null : TRACEPARENT.exec(header);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return header;
}
