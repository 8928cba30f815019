/**
 * Automatic VIPs for ServiceEntry hosts that have none, as Istio does by default since 1.25
 * (PILOT_ENABLE_IP_AUTOALLOCATE): addresses from 240.240.0.0/16 (Class E, never routed), so that
 * ztunnel can capture the traffic and send it to the host's waypoint. Deterministic: the address
 * comes from a hash of namespace/host, probing linearly past collisions in a fixed order.
 */
import type { MeshService } from "./types.js";

const base = [240, 240];
const size = 65534; // 240.240.0.1 .. 240.240.255.254

export function allocateVips(services: MeshService[]): void {
  const used = new Set(services.flatMap((s) => s.vips));
  const needs = services
    .filter((s) => s.kind === "ServiceEntry" && s.vips.length === 0 && s.resolution !== "NONE" && !s.hostname.startsWith("*"))
    .sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  for (const s of needs) {
    let i = fnv1a(key(s)) % size;
    for (let probe = 0; probe < size; probe++, i = (i + 1) % size) {
      const n = i + 1;
      const ip = `${base[0]}.${base[1]}.${n >> 8}.${n & 255}`;
      if (!used.has(ip)) {
        used.add(ip);
        s.vips = [ip];
        s.autoAllocated = true;
        break;
      }
    }
  }
}

function key(s: MeshService): string {
  return `${s.namespace}/${s.hostname}`;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
