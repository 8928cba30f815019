/**
 * `waystation ztunnel`: the Node ztunnel as a process. State from the control plane (`--xds`) or a
 * local file (`--local-config`, reloaded on SIGHUP); certificates from the CA by impersonation
 * (`--ca` + `--token-file`) or from files (`--certs-dir`). Stops gracefully on SIGINT/SIGTERM.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Command, Option } from "commander";
import { CaClient } from "@waystation/pki";
import { captureRules, familiesFor, rulesScript } from "./capture/iptables.js";
import { caCertificateSource, fileCertificateSource, type CertificateSource } from "./certs.js";
import type { Logger } from "./types.js";
import { ztunnelNodeId } from "./xdsClient.js";
import { startZtunnel, type ZtunnelConfigSource } from "./ztunnel.js";

/** Options as commander parses them. */
interface CliOptions {
  node: string;
  localConfig?: string;
  xds?: string;
  ca?: string;
  certsDir?: string;
  tokenFile?: string;
  rootCert?: string;
  trustBundle?: string;
  clusterId: string;
  podName: string;
  podNamespace: string;
  instanceIp: string;
  hbonePort: number;
  socks5Port: number | false;
  capture?: number;
  captureHost: string;
  printIptables?: "setup" | "cleanup";
  iptablesExcludeUid: number[];
  captureCidr: string[];
  captureUid: number[];
  metricsPort: number;
  readinessPort: number;
  adminPort: number;
  logLevel: "debug" | "info" | "warn" | "error";
}

const uid = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`not a uid: ${v}`);
  return n;
};

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`not a port: ${v}`);
  return n;
};

/** The `ztunnel` subcommand; `setExit` receives the exit code, logs go to `err` (`--print-iptables` to `out`). */
export function ztunnelCommand(setExit: (code: number) => void, err: NodeJS.WritableStream = process.stderr,
  out: NodeJS.WritableStream = process.stdout): Command {
  const env = process.env;
  return new Command("ztunnel")
    .description("run the Node ztunnel: HBONE between workloads, L4 policy, Istio TCP metrics")
    .option("--node <name>", "this node's name: the ztunnel serves the workloads scheduled on it", env.NODE_NAME)
    .option("--local-config <file>", "read workloads, services and policies from this YAML/JSON file (reloaded on SIGHUP)")
    .option("--xds <host:port>", "the control plane's ADS address (Delta xDS: istio.workload.Address, istio.security.Authorization)")
    .option("--ca <host:port>", "the CA (IstioCertificateService) to get workload certificates from, by impersonation")
    .option("--certs-dir <dir>", "read certificates from <dir>/<namespace>/<service-account>/{cert-chain.pem,key.pem} instead")
    .option("--token-file <file>", "bearer token for the CA and xDS (the node credential)", env.TOKEN_FILE)
    .option("--root-cert <file>", "roots verifying the CA's and control plane's TLS certificates (plaintext without)")
    .option("--trust-bundle <file>", "the mesh roots peers must chain to (default: <certs-dir>/root-cert.pem, else the CA's root)")
    .option("--cluster-id <id>", "cluster id sent to the CA and control plane", env.CLUSTER_ID ?? "Kubernetes")
    .option("--pod-name <name>", "this ztunnel's pod name (node id)", env.POD_NAME ?? "ztunnel")
    .option("--pod-namespace <ns>", "this ztunnel's namespace (node id)", env.POD_NAMESPACE ?? "istio-system")
    .option("--instance-ip <ip>", "this ztunnel's IP (node id)", env.INSTANCE_IP ?? "127.0.0.1")
    .option("--hbone-port <port>", "HBONE port, listened on each local workload IP and dialed on peers", port, 15008)
    .option("--socks5-port <port>", "SOCKS5 outbound listener on 127.0.0.1", port, 15080)
    .option("--no-socks5-port", "no SOCKS5 listener")
    .addOption(new Option("--capture [port]", "transparent capture: take iptables-REDIRECTed outbound TCP on this port (Linux, native addon)")
      .argParser(port).preset("15001"))
    .option("--capture-host <ip>", "the capture listener's address (:: also takes IPv6)", "127.0.0.1")
    .addOption(new Option("--print-iptables [mode]", "print the shell commands that install (setup) or remove (cleanup) the capture rules, and exit")
      .choices(["setup", "cleanup"]).preset("setup"))
    .option("--iptables-exclude-uid <uid>", "with --print-iptables: a uid whose connections are not captured (repeatable; default: the current uid)",
      (v: string, prev: number[]) => [...prev, uid(v)], [])
    .option("--capture-cidr <cidr>", "with --print-iptables: capture only TCP to this block (repeatable; default: all)", (v: string, prev: string[]) => [...prev, v], [])
    .option("--capture-uid <uid>", "with --print-iptables: capture only this user's TCP (repeatable; default: every user but the excluded)",
      (v: string, prev: number[]) => [...prev, uid(v)], [])
    .option("--metrics-port <port>", "Prometheus metrics (/metrics)", port, 15020)
    .option("--readiness-port <port>", "readiness (/healthz/ready)", port, 15021)
    .option("--admin-port <port>", "admin (/config_dump) on 127.0.0.1", port, 15000)
    .addOption(new Option("--log-level <level>", "log level").choices(["debug", "info", "warn", "error"]).default("info"))
    .action(async (opts: CliOptions) => {
      if (opts.printIptables) {
        const rules = captureRules({
          capturePort: opts.capture ?? 15001, cidrs: opts.captureCidr, workloadUids: opts.captureUid, families: familiesFor(opts.captureHost),
          excludeUids: opts.iptablesExcludeUid.length > 0 ? opts.iptablesExcludeUid : [process.getuid?.() ?? 0],
        });
        if (!rules.ok) throw new Error(`--print-iptables: ${rules.errors.join("; ")}`);
        out.write(rulesScript(rules, opts.printIptables));
        setExit(0);
        return;
      }
      if (!opts.node) throw new Error("--node (or NODE_NAME) is required");
      if (!opts.localConfig === !opts.xds) throw new Error("give exactly one of --local-config and --xds");
      if (!opts.ca === !opts.certsDir) throw new Error("give exactly one of --ca and --certs-dir");
      const logger = jsonLogger(opts.logLevel, err);
      const text = async (f: string | undefined) => (f === undefined ? undefined : readFile(f, "utf8"));
      const token = (await text(opts.tokenFile))?.trim();
      const rootCertPem = await text(opts.rootCert);
      const trustBundlePem = await text(opts.trustBundle ?? (opts.certsDir ? join(opts.certsDir, "root-cert.pem") : undefined));
      const headers = { clusterid: opts.clusterId };
      const certificates: CertificateSource = opts.ca
        ? caCertificateSource(new CaClient({ address: opts.ca, headers, ...(token ? { token } : {}), ...(rootCertPem ? { rootCertPem } : {}) }),
          trustBundlePem ? { trustBundlePem } : {})
        : fileCertificateSource(opts.certsDir!);
      const config: ZtunnelConfigSource = opts.localConfig
        ? { kind: "local", text: (await text(opts.localConfig))!, source: opts.localConfig }
        : {
          kind: "xds",
          xds: {
            address: opts.xds!, nodeId: ztunnelNodeId(opts.instanceIp, opts.podName, opts.podNamespace), headers,
            metadata: { NAME: opts.podName, NAMESPACE: opts.podNamespace, INSTANCE_IPS: opts.instanceIp, NODE_NAME: opts.node, CLUSTER_ID: opts.clusterId },
            ...(token ? { token } : {}), ...(rootCertPem ? { rootCertPem } : {}),
          },
        };
      const zt = await startZtunnel({
        node: opts.node, config, certificates, logger, ...(trustBundlePem ? { trustBundlePem } : {}), hosts: { capture: opts.captureHost },
        ports: { hbone: opts.hbonePort, socks5: opts.socks5Port, capture: opts.capture ?? false, metrics: opts.metricsPort, readiness: opts.readinessPort, admin: opts.adminPort },
      });
      err.write(`waystation ztunnel: node ${opts.node}, ${zt.hboneServers.size} local workload(s); metrics :${zt.addresses.metrics?.port}, ready :${zt.addresses.readiness?.port}/healthz/ready${zt.addresses.capture ? `; capture ${zt.addresses.capture.host}:${zt.addresses.capture.port}` : ""} (Ctrl-C stops)\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          logger.info("shutting down", { signal });
          zt.close().then(resolve, resolve);
        };
        process.once("SIGINT", () => stop("SIGINT"));
        process.once("SIGTERM", () => stop("SIGTERM"));
        if (opts.localConfig) {
          process.on("SIGHUP", () => {
            readFile(opts.localConfig!, "utf8").then((t) => {
              const errors = zt.reload(t, opts.localConfig);
              logger.info(errors.length === 0 ? "local config reloaded" : "local config reload refused", { errors });
            }, (e: Error) => logger.error("local config unreadable", { error: e.message }));
          });
        }
      });
      setExit(0);
    });
}

/** One JSON object per line; the access log arrives with `target: "access"`. */
export function jsonLogger(level: "debug" | "info" | "warn" | "error", out: NodeJS.WritableStream): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3 } as const;
  const write = (l: keyof typeof order) => (msg: string, fields?: Record<string, unknown>) => {
    if (order[l] >= order[level]) out.write(`${JSON.stringify({ time: new Date().toISOString(), level: l, component: "ztunnel", msg, ...fields })}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
