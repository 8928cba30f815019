// The original destination of a redirected connection, through the optional native addon
// (packages/ztunnel/native: getsockopt SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST, as ztunnel's
// `orig_dst_addr_or_default` in src/socket.rs; istio-ambient.md §4.2). Node has no API for it.
// The addon is loaded on first use; when it is missing the ztunnel runs without transparent capture
// and `captureSupport()` says why.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import type * as net from "node:net";
import { fileURLToPath } from "node:url";
import { normalizeIp, type HostPort } from "../ip.js";

/** What the addon returns. */
interface AddonResult {
  readonly address: string;
  readonly port: number;
  readonly family: "IPv4" | "IPv6";
}

interface Addon {
  originalDst(fd: number): AddonResult;
}

/** Whether transparent capture can run here, and if not, why (for the operator). */
export type CaptureSupport = { readonly available: true } | { readonly available: false; readonly why: string };

/** The result of reading a connection's original destination: data, never an exception. */
export type OriginalDstResult =
  | { readonly ok: true; readonly dst: HostPort; readonly family: "IPv4" | "IPv6" }
  /**
   * `unavailable`: no addon; `no-fd`: the socket has no file descriptor (not a plain TCP socket);
   * `not-redirected`: the connection reached the listener directly; `error`: the system call failed.
   */
  | { readonly ok: false; readonly kind: "unavailable" | "no-fd" | "not-redirected" | "error"; readonly reason: string };

/** Where scripts/build-native.mjs leaves the addon. */
export const ADDON_PATH = fileURLToPath(new URL("../../native/build/Release/waystation_capture.node", import.meta.url));

// The addon is process-wide by nature (Node caches native modules per process), so the load result is too.
let loaded: { readonly addon: Addon } | { readonly why: string } | undefined;

function load(): { readonly addon: Addon } | { readonly why: string } {
  if (loaded) return loaded;
  if (process.platform !== "linux") return (loaded = { why: `SO_ORIGINAL_DST is Linux only (this is ${process.platform})` });
  if (!existsSync(ADDON_PATH)) {
    return (loaded = { why: `the native addon is not built (no ${ADDON_PATH}); run \`node scripts/build-native.mjs\` (needs python3, make, g++ and Node's headers)` });
  }
  try {
    const addon = createRequire(import.meta.url)(ADDON_PATH) as Partial<Addon>;
    if (typeof addon.originalDst !== "function") return (loaded = { why: `${ADDON_PATH} has no originalDst(); rebuild it` });
    return (loaded = { addon: addon as Addon });
  } catch (err) {
    return (loaded = { why: `the native addon failed to load: ${(err as Error).message}` });
  }
}

/** Whether the addon is built and loads. */
export function captureSupport(): CaptureSupport {
  const l = load();
  return "addon" in l ? { available: true } : { available: false, why: l.why };
}

/**
 * The file descriptor under a net.Socket. Node exposes it as `_handle.fd` on Unix (TCPWrap's
 * getter; undocumented, checked on Node 20); -1 or absent on Windows and for non-TCP handles.
 */
export function socketFd(socket: net.Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === "number" && fd >= 0 ? fd : undefined;
}

/**
 * Reads where the client meant to connect before iptables REDIRECT rewrote the destination. A
 * connection that came to the listener directly (no NAT entry, or a NAT entry naming the listener
 * itself) is `not-redirected`: the capture listener must not proxy it to itself.
 */
export function readOriginalDst(socket: net.Socket): OriginalDstResult {
  const l = load();
  if (!("addon" in l)) return { ok: false, kind: "unavailable", reason: `transparent capture unavailable: ${l.why}` };
  const fd = socketFd(socket);
  if (fd === undefined) return { ok: false, kind: "no-fd", reason: "the socket has no file descriptor (not a TCP socket, or already closed)" };
  let r: AddonResult;
  try {
    r = l.addon.originalDst(fd);
  } catch (err) {
    const e = err as Error & { code?: string };
    // ENOENT: conntrack has no entry for this connection, so no NAT rewrote it.
    if (e.code === "ENOENT") return { ok: false, kind: "not-redirected", reason: `no NAT record for this connection (${e.message})` };
    return { ok: false, kind: "error", reason: e.message };
  }
  const host = normalizeIp(r.address) ?? r.address;
  const local = normalizeIp(socket.localAddress ?? "");
  if (host === local && r.port === socket.localPort) {
    return { ok: false, kind: "not-redirected", reason: `the client connected to ${r.address}:${r.port} directly, not through iptables REDIRECT` };
  }
  return { ok: true, dst: { host, port: r.port }, family: r.family };
}
