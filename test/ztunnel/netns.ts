// Network-namespace fixtures for the transparent-capture tests: what the machine lacks (so a test
// can skip with a message), and a lab that creates namespaces, veth pairs and child processes and
// removes every one of them afterwards, even when the test failed half-way. Names carry the test
// process's pid, so labs left by a killed run are swept by the next one and never touch a live run's.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { captureSupport } from "@waystation/ztunnel/capture";

const run = promisify(execFile);
const PREFIX = "wsc";

/** Runs a command; resolves with its output, rejects with its stderr in the message. */
export async function sh(argv: readonly string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  if (input === undefined) {
    return run(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 30_000 }).catch((e: Error & { stderr?: string }) => {
      throw new Error(`${argv.join(" ")}: ${e.stderr?.trim() || e.message}`);
    });
  }
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    c.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    c.on("error", reject);
    c.on("close", (code) => (code === 0 ? resolve({ stdout, stderr }) : reject(new Error(`${argv.join(" ")} exited ${code}: ${stderr.trim()}`))));
    c.stdin.end(input);
  });
}

/**
 * Why network-namespace capture tests cannot run here (undefined: they can). Checks Linux, root,
 * iproute2, `ip netns add`, iptables (nat table usable inside a namespace) and the native addon.
 */
export async function netnsSupport(opts: { ipv6?: boolean } = {}): Promise<string | undefined> {
  if (process.platform !== "linux") return `Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "root (to create network namespaces and iptables rules)";
  const addon = captureSupport();
  if (!addon.available) return `the native addon: ${addon.why}`;
  const probe = `${PREFIX}${process.pid}probe`;
  try {
    await sh(["ip", "netns", "add", probe]);
  } catch (err) {
    return `\`ip netns add\` (iproute2, CAP_SYS_ADMIN): ${(err as Error).message}`;
  }
  try {
    for (const bin of opts.ipv6 ? ["iptables", "ip6tables"] : ["iptables"]) {
      try {
        await sh(["ip", "netns", "exec", probe, bin, "-w", "-t", "nat", "-S"]);
      } catch (err) {
        return `${bin} with a usable nat table (apt-get install iptables): ${(err as Error).message}`;
      }
    }
    return undefined;
  } finally {
    await sh(["ip", "netns", "del", probe]).catch(() => {});
  }
}

/** Namespaces, links and processes of one test; `cleanup` removes them all (idempotent). */
export class NetnsLab {
  readonly #namespaces: string[] = [];
  readonly #hostLinks: string[] = [];
  readonly #children = new Set<ChildProcess>();
  #serial = 0;

  private constructor(readonly tag: string) {}

  /** A lab; first removes labs whose process is gone. `tag` keeps names unique within this process. */
  static async create(tag: string): Promise<NetnsLab> {
    await sweepStale();
    return new NetnsLab(tag);
  }

  /** A name unique to this process and lab, at most 15 characters (interface names' limit). */
  name(suffix: string): string {
    const n = `${PREFIX}${process.pid}${this.tag}${suffix}`;
    if (n.length > 15) throw new Error(`name too long for an interface: ${n}`);
    return n;
  }

  /** A new namespace with loopback up. */
  async namespace(suffix: string): Promise<string> {
    const ns = this.name(suffix);
    await sh(["ip", "netns", "add", ns]);
    this.#namespaces.push(ns);
    await sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    return ns;
  }

  /**
   * A veth pair: one end in `ns` with `nsCidr`, the other in `hostNs` (undefined: the test's own
   * namespace) with `hostCidr`. Both up. Returns the interface names.
   */
  async veth(ns: string, nsCidr: string, hostCidr: string, hostNs?: string): Promise<{ inNs: string; host: string }> {
    const id = ++this.#serial;
    const host = this.name(`h${id}`), inNs = this.name(`n${id}`);
    await sh(["ip", "link", "add", host, ...(hostNs ? ["netns", hostNs] : []), "type", "veth", "peer", "name", inNs, "netns", ns]);
    if (!hostNs) this.#hostLinks.push(host);
    const ip = (where: string | undefined) => (where ? ["ip", "-n", where] : ["ip"]);
    const family = (cidr: string) => (cidr.includes(":") ? ["-6"] : []);
    await sh([...ip(hostNs), ...family(hostCidr), "addr", "add", hostCidr, "dev", host, ...(hostCidr.includes(":") ? ["nodad"] : [])]);
    await sh([...ip(ns), ...family(nsCidr), "addr", "add", nsCidr, "dev", inNs, ...(nsCidr.includes(":") ? ["nodad"] : [])]);
    await sh([...ip(hostNs), "link", "set", host, "up"]);
    await sh([...ip(ns), "link", "set", inNs, "up"]);
    return { inNs, host };
  }

  /** Runs a command inside `ns`. */
  exec(ns: string, argv: readonly string[], input?: string): Promise<{ stdout: string; stderr: string }> {
    return sh(["ip", "netns", "exec", ns, ...argv], input);
  }

  /** Starts a long-running process inside `ns`; it is killed by `cleanup`. */
  spawn(ns: string, argv: readonly string[], opts: { cwd?: string } = {}): ChildProcess {
    const c = spawn("ip", ["netns", "exec", ns, ...argv], { stdio: ["ignore", "pipe", "pipe"], ...opts });
    this.#children.add(c);
    c.once("exit", () => this.#children.delete(c));
    return c;
  }

  /** Kills the processes, deletes the namespaces (their interfaces and iptables rules go with them) and host links. */
  async cleanup(): Promise<void> {
    await Promise.all([...this.#children].map((c) => stop(c)));
    for (const ns of this.#namespaces.splice(0).reverse()) await sh(["ip", "netns", "del", ns]).catch(() => {});
    // Deleting a namespace destroys its veth ends asynchronously; delete our side explicitly too.
    for (const link of this.#hostLinks.splice(0)) await sh(["ip", "link", "del", link]).catch(() => {});
  }
}

/** SIGTERM, then SIGKILL after 3 s; resolves when the process has exited. */
function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => c.kill("SIGKILL"), 3000);
    c.once("exit", () => { clearTimeout(t); resolve(); });
    c.kill("SIGTERM");
  });
}

/** Deletes namespaces and links of earlier test processes that no longer exist. */
async function sweepStale(): Promise<void> {
  const alive = (pid: number) => {
    try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === "EPERM"; }
  };
  const stale = (name: string) => {
    const m = new RegExp(`^${PREFIX}(\\d+)`).exec(name);
    return m !== null && Number(m[1]) !== process.pid && !alive(Number(m[1]));
  };
  const namespaces = (await sh(["ip", "netns", "list"]).catch(() => ({ stdout: "" }))).stdout.split("\n").map((l) => l.split(" ")[0]!).filter(Boolean);
  for (const ns of namespaces.filter(stale)) await sh(["ip", "netns", "del", ns]).catch(() => {});
  const links = (await sh(["ip", "-o", "link", "show"]).catch(() => ({ stdout: "" }))).stdout.split("\n")
    .map((l) => /^\d+: ([^@:]+)/.exec(l)?.[1]).filter((n): n is string => n !== undefined);
  for (const link of links.filter(stale)) await sh(["ip", "link", "del", link]).catch(() => {});
}
