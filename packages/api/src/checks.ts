/**
 * Value checks beyond JSON Schema, named in schemas with `x-check`. Each returns an error message
 * (without the field path) or undefined when the value is fine. Pure: no node:net, so IP parsing
 * is done here.
 */
import { RE2JS } from "re2js";

export type CheckName = "duration" | "cidr" | "ip" | "re2" | "dns1123" | "dns1123subdomain" | "hostname" | "spiffeOrPrincipal";

/** Go's time.ParseDuration syntax, which Istio and Gateway API accept: "10s", "1m30s", "1.5h", "250ms". */
const durationRe = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const durationUnits: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };

/** Parses a Go-style duration into milliseconds, or undefined if it is not one. */
export function parseDurationMs(v: string): number | undefined {
  if (!durationRe.test(v)) return undefined;
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * (durationUnits[m[2]!] ?? 0);
  return total;
}

/** Parses an IPv4 or IPv6 address into its bytes, or undefined. */
export function parseIp(v: string): Uint8Array | undefined {
  if (v.includes(":")) return parseIpv6(v);
  return parseIpv4(v);
}

function parseIpv4(v: string): Uint8Array | undefined {
  const parts = v.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^(0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(v: string): Uint8Array | undefined {
  const zone = v.indexOf("%");
  if (zone >= 0) return undefined;
  let head = v, tail = "";
  const dbl = v.indexOf("::");
  if (dbl >= 0) {
    if (v.indexOf("::", dbl + 1) >= 0) return undefined;
    head = v.slice(0, dbl);
    tail = v.slice(dbl + 2);
  }
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const parts = s.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseIpv4(p);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const h = groups(head), t = groups(tail);
  if (!h || !t) return undefined;
  const fill = 8 - h.length - t.length;
  if (dbl >= 0 ? fill < 1 : fill !== 0) return undefined;
  const all = [...h, ...new Array<number>(dbl >= 0 ? fill : 0).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((g, i) => { out[2 * i] = g >> 8; out[2 * i + 1] = g & 0xff; });
  return out;
}

/** Parses "10.0.0.0/8", "2001:db8::/32" or a bare IP (a host route) into address bytes and prefix length. */
export function parseCidr(v: string): { address: Uint8Array; length: number } | undefined {
  const slash = v.indexOf("/");
  const ip = parseIp(slash >= 0 ? v.slice(0, slash) : v);
  if (!ip) return undefined;
  const max = ip.length * 8;
  if (slash < 0) return { address: ip, length: max };
  const len = v.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) return undefined;
  return { address: ip, length: Number(len) };
}

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Runs the named check. */
export function runCheck(name: CheckName, v: string): string | undefined {
  switch (name) {
    case "duration": {
      const ms = parseDurationMs(v);
      if (ms === undefined) return `must be a duration such as "10s", "1m30s" or "250ms", not ${JSON.stringify(v)}`;
      if (ms > 0 && ms < 1) return "must be at least 1ms";
      return undefined;
    }
    case "ip":
      return parseIp(v) ? undefined : `must be an IPv4 or IPv6 address, not ${JSON.stringify(v)}`;
    case "cidr":
      return parseCidr(v) ? undefined : `must be an IP address or CIDR such as "10.0.0.0/8", not ${JSON.stringify(v)}`;
    case "re2":
      return re2Error(v);
    case "dns1123":
      return v.length <= 63 && dns1123Label.test(v) ? undefined
        : `must be a DNS-1123 label (lower case letters, digits and '-', at most 63 characters), not ${JSON.stringify(v)}`;
    case "dns1123subdomain":
      return v.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(v) ? undefined
        : `must be a DNS-1123 subdomain (lower case letters, digits, '-' and '.'), not ${JSON.stringify(v)}`;
    case "hostname":
      return /^(\*|\*\.)?[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/.test(v) || v === "*" ? undefined
        : `must be a host name, optionally with a leading "*." wildcard, not ${JSON.stringify(v)}`;
    case "spiffeOrPrincipal":
      return v.startsWith("spiffe://") && v.length === "spiffe://".length ? "must not be an empty SPIFFE id" : undefined;
  }
}

/** Envoy uses RE2; a regex that RE2 rejects (lookaround, backreferences ...) makes Envoy NACK. */
export function re2Error(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (e) {
    return `is not a valid RE2 regular expression (Envoy uses RE2): ${(e as Error).message}`;
  }
}
