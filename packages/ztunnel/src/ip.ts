// IP addresses as ztunnel handles them: 4- or 16-byte values on the wire (workload API), canonical
// strings in the state, `ip:port` / `[v6]:port` authorities (istio-ambient.md §1.2), CIDR matches
// for authorization (§3.5). Pure: no sockets.
import { isIPv4, isIPv6 } from "node:net";

/** The canonical text of a 4- or 16-byte address; undefined for any other length. */
export function bytesToIp(b: Uint8Array): string | undefined {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return undefined;
  // IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address: dual-stack sockets report v4 peers so.
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return bytesToIp(b.subarray(12));
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run (length >= 2) of zero words, the first one on a tie.
  let bestAt = -1, bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) { bestAt = i; bestLen = j - i; }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestAt < 0) return hex.join(":");
  return `${hex.slice(0, bestAt).join(":")}::${hex.slice(bestAt + bestLen).join(":")}`;
}

/** The bytes of an IPv4 or IPv6 literal; undefined when `ip` is neither. */
export function ipToBytes(ip: string): Uint8Array | undefined {
  if (isIPv4(ip)) return Uint8Array.from(ip.split(".").map(Number));
  if (!isIPv6(ip)) return undefined;
  let text = ip.split("%")[0]!;
  const out = new Uint8Array(16);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two words.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipToBytes(v4[1]!)!;
    text = `${text.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes("::") ? text.split("::") as [string, string] : [text, undefined];
  const hw = head === "" ? [] : head.split(":");
  const tw = tail === undefined || tail === "" ? [] : tail.split(":");
  const words = tail === undefined ? hw : [...hw, ...Array<string>(8 - hw.length - tw.length).fill("0"), ...tw];
  words.forEach((w, i) => {
    const n = parseInt(w, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

/** The canonical form of an IP literal (v4-mapped v6 becomes v4); undefined when not an IP. */
export function normalizeIp(ip: string): string | undefined {
  const b = ipToBytes(ip);
  return b ? bytesToIp(b) : undefined;
}

/** A socket address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `ip:port`, or `[v6]:port` for IPv6. */
export function formatHostPort(host: string, port: number): string {
  return isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Parses `host:port` / `[v6]:port`; the port must be 1-65535. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  const host = normalizeIp(m[1]!) ?? m[1]!.toLowerCase();
  if (m[0].startsWith("[") && !isIPv6(m[1]!)) return undefined;
  return { host, port };
}

/** Whether `text` is an IP literal. */
export function isIp(text: string): boolean {
  return isIPv4(text) || isIPv6(text);
}

/** An address block: bytes and prefix length. */
export interface Cidr {
  readonly bytes: Uint8Array;
  readonly prefix: number;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare IP (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const [ip, len] = text.split("/") as [string, string | undefined];
  const bytes = ipToBytes(ip);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return undefined;
  const prefix = len === undefined ? max : Number(len);
  return prefix > max ? undefined : { bytes: normalizeBytes(bytes), prefix: bytes.length === 16 && normalizeBytes(bytes).length === 4 ? Math.max(0, prefix - 96) : prefix };
}

/** A CIDR from the wire (`istio.security.Address`); length 0 with no bytes is invalid. */
export function cidrFromBytes(address: Uint8Array, length: number): Cidr | undefined {
  if (address.length !== 4 && address.length !== 16) return undefined;
  if (length > address.length * 8) return undefined;
  return { bytes: address, prefix: length };
}

/** Whether `ip` (text) lies in `cidr`; an IPv4 address never matches an IPv6 block and vice versa. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  const b = ipToBytes(ip);
  if (!b) return false;
  const a = normalizeBytes(b);
  if (a.length !== cidr.bytes.length) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

/** `cidr` as text (`10.0.0.0/8`). */
export function formatCidr(cidr: Cidr): string {
  return `${bytesToIp(cidr.bytes)}/${cidr.prefix}`;
}

function normalizeBytes(b: Uint8Array): Uint8Array {
  if (b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return b.subarray(12);
  return b;
}
