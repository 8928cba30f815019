// The iptables rules that send a node's (or a network namespace's) outbound TCP to the capture
// listener: nat OUTPUT -> our chain -> REDIRECT to 15001, the shape of istio-cni's in-pod ISTIO_OUTPUT
// (istio-ambient.md §4.2) without the parts a Node process cannot use (TPROXY, connmarks set by
// ztunnel). Pure: builds argv lists and a shell script; `waystation ztunnel --print-iptables` prints
// it and the operator (or a test) runs it with `sh`.
//
// Rules, in order, in chain WAYSTATION_OUTPUT of the nat table (per address family):
//   -o lo                        RETURN    traffic that stays on this host (loopback, own addresses),
//                                          including connections to the capture port itself
//   -m owner --uid-owner <uid>   RETURN    the ztunnel's own connections (HBONE to peers, passthrough
//                                          dials): without this they would loop back into 15001
//   -m mark --mark 0x539/0xfff   RETURN    sockets marked 1337 (Istio's ztunnel mark), for a ztunnel
//                                          or helper that sets SO_MARK
//   -p tcp [-m owner --uid-owner <workload uid>] [-d <cidr>]
//                                REDIRECT --to-ports 15001  (all TCP, or only the workloads' users / blocks)
// and the hook `-t nat -A OUTPUT -p tcp -j WAYSTATION_OUTPUT`, added last so no packet meets a half-built chain.
// REDIRECT only rewrites new connections (conntrack); flows open before the rules keep going direct.
import { formatCidr, parseCidr } from "../ip.js";
import { CAPTURE_PORT } from "./captureListener.js";

/** Istio's ztunnel socket mark (`DEFAULT_INPOD_MARK` 1337) with its mask. */
export const ZTUNNEL_MARK = "0x539/0xfff";

/** The nat chain the rules live in. */
export const CAPTURE_CHAIN = "WAYSTATION_OUTPUT";

/** Options of `captureRules`. */
export interface CaptureRulesOptions {
  /** Where the capture listener listens (15001). */
  readonly capturePort?: number;
  /** Users whose connections are never captured: the ztunnel's own uid at least. */
  readonly excludeUids: readonly number[];
  /** Destinations to capture (e.g. the pod and service CIDRs); empty or absent: all TCP. */
  readonly cidrs?: readonly string[];
  /** Users whose connections are captured (the local workloads' processes); empty or absent: every user but the excluded. */
  readonly workloadUids?: readonly number[];
  /** `ipv4` (iptables) and/or `ipv6` (ip6tables); default ipv4 only. */
  readonly families?: readonly ("ipv4" | "ipv6")[];
}

/** One command, with the reason it exists (printed as a comment). */
export interface RuleCommand {
  readonly argv: readonly string[];
  readonly why: string;
}

/** The commands that install the rules and the ones that remove them; or what is wrong with the options. */
export type CaptureRules =
  | { readonly ok: true; readonly setup: readonly RuleCommand[]; readonly cleanup: readonly RuleCommand[] }
  | { readonly ok: false; readonly errors: readonly string[] };

/** Builds the rules. Deterministic: same options, same commands. */
export function captureRules(o: CaptureRulesOptions): CaptureRules {
  const errors: string[] = [];
  const port = o.capturePort ?? CAPTURE_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) errors.push(`capturePort: ${port} is not a port (1-65535)`);
  if (o.excludeUids.length === 0) errors.push("excludeUids: give the ztunnel's uid, or its own connections loop back into the capture port");
  for (const [i, uid] of o.excludeUids.entries()) if (!Number.isInteger(uid) || uid < 0) errors.push(`excludeUids[${i}]: ${uid} is not a uid`);
  for (const [i, uid] of (o.workloadUids ?? []).entries()) {
    if (!Number.isInteger(uid) || uid < 0) errors.push(`workloadUids[${i}]: ${uid} is not a uid`);
    else if (o.excludeUids.includes(uid)) errors.push(`workloadUids[${i}]: uid ${uid} is also excluded (the ztunnel's)`);
  }
  const cidrs = (o.cidrs ?? []).map((text, i) => {
    const c = parseCidr(text);
    if (!c) errors.push(`cidrs[${i}]: ${JSON.stringify(text)} is not an address block (10.96.0.0/12, fd00::/8)`);
    return c;
  });
  if (errors.length > 0) return { ok: false, errors };

  const setup: RuleCommand[] = [], cleanup: RuleCommand[] = [];
  for (const family of [...new Set(o.families ?? ["ipv4"])].sort()) {
    const bin = family === "ipv4" ? "iptables" : "ip6tables";
    const len = family === "ipv4" ? 4 : 16;
    const mine = cidrs.filter((c) => c!.bytes.length === len).map((c) => formatCidr(c!));
    // Asked for some blocks, none of this family: capture nothing of it rather than everything.
    if (cidrs.length > 0 && mine.length === 0) continue;
    const nat = (...args: string[]) => [bin, "-w", "-t", "nat", ...args];
    setup.push({ argv: nat("-N", CAPTURE_CHAIN), why: `${family}: a chain of our own, so cleanup removes exactly what setup added` });
    setup.push({ argv: nat("-A", CAPTURE_CHAIN, "-o", "lo", "-j", "RETURN"), why: "traffic that stays on this host is not captured" });
    for (const uid of o.excludeUids) {
      setup.push({ argv: nat("-A", CAPTURE_CHAIN, "-m", "owner", "--uid-owner", String(uid), "-j", "RETURN"), why: `uid ${uid} (the ztunnel) connects directly` });
    }
    setup.push({ argv: nat("-A", CAPTURE_CHAIN, "-m", "mark", "--mark", ZTUNNEL_MARK, "-j", "RETURN"), why: "sockets with Istio's ztunnel mark 1337 connect directly" });
    const uids = o.workloadUids && o.workloadUids.length > 0 ? o.workloadUids : [undefined];
    for (const uid of uids) {
      for (const dst of mine.length > 0 ? mine : [undefined]) {
        setup.push({
          argv: nat("-A", CAPTURE_CHAIN, "-p", "tcp", ...(uid !== undefined ? ["-m", "owner", "--uid-owner", String(uid)] : []), ...(dst ? ["-d", dst] : []),
            "-j", "REDIRECT", "--to-ports", String(port)),
          why: `outbound TCP${uid !== undefined ? ` of uid ${uid}` : ""}${dst ? ` to ${dst}` : ""} goes to the capture listener on :${port}`,
        });
      }
    }
    setup.push({ argv: nat("-A", "OUTPUT", "-p", "tcp", "-j", CAPTURE_CHAIN), why: "hook the chain into nat OUTPUT (last: the chain is complete)" });
    cleanup.push({ argv: nat("-D", "OUTPUT", "-p", "tcp", "-j", CAPTURE_CHAIN), why: `${family}: unhook` });
    cleanup.push({ argv: nat("-F", CAPTURE_CHAIN), why: "empty the chain" });
    cleanup.push({ argv: nat("-X", CAPTURE_CHAIN), why: "delete the chain" });
  }
  return { ok: true, setup, cleanup };
}

/** The families to capture for a capture listener bound to `host`: "::" takes IPv4 and IPv6. */
export function familiesFor(host: string): ("ipv4" | "ipv6")[] {
  if (host === "::") return ["ipv4", "ipv6"];
  return host.includes(":") ? ["ipv6"] : ["ipv4"];
}

/**
 * A POSIX shell script: `setup` removes any previous rules first (ignoring errors) and stops at
 * the first failing command; `cleanup` removes them and ignores what is already gone.
 */
export function rulesScript(rules: Extract<CaptureRules, { ok: true }>, mode: "setup" | "cleanup"): string {
  const line = (c: RuleCommand, tolerant: boolean) => `# ${c.why}\n${c.argv.map(shellQuote).join(" ")}${tolerant ? " 2>/dev/null || true" : ""}\n`;
  const out = ["#!/bin/sh\n", `# waystation ztunnel transparent capture: ${mode} (run as root)\n`, "set -e\n"];
  if (mode === "setup") out.push(...rules.cleanup.map((c) => line({ ...c, why: `(idempotent) ${c.why}` }, true)), ...rules.setup.map((c) => line(c, false)));
  else out.push(...rules.cleanup.map((c) => line(c, true)));
  return out.join("");
}

function shellQuote(s: string): string {
  return /^[\w./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
