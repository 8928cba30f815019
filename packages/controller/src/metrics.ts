/** Prometheus metrics of the control plane, fed by the xDS server's hooks. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { AdsServer } from "@waystation/xds";
import { shortType } from "@waystation/xds";

export interface ControlPlaneMetrics {
  registry: Registry;
  recordPublish(group: string, ok: boolean, configBytes: number): void;
  recordProblems(count: number): void;
}

export function createMetrics(ads: AdsServer, proxyType: (node: string, group?: string) => string): ControlPlaneMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "waystation_process_" });
  const connected = new Gauge({ name: "waystation_xds_connected_proxies", help: "Open ADS streams by proxy type", labelNames: ["type"], registers: [registry] });
  const pushes = new Counter({ name: "waystation_xds_pushes_total", help: "xDS responses sent", labelNames: ["type"], registers: [registry] });
  const pushBytes = new Counter({ name: "waystation_xds_push_bytes_total", help: "Bytes of resources sent", labelNames: ["type"], registers: [registry] });
  const pushLatency = new Histogram({
    name: "waystation_xds_push_duration_seconds", help: "From a snapshot change (or request) to the response being written", labelNames: ["type"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const acks = new Counter({ name: "waystation_xds_acks_total", help: "ACKs received", labelNames: ["type"], registers: [registry] });
  const nacks = new Counter({ name: "waystation_xds_nacks_total", help: "NACKs received (error_detail set)", labelNames: ["type", "proxy_type"], registers: [registry] });
  const configSize = new Gauge({ name: "waystation_config_size_bytes", help: "Encoded size of the last published snapshot per proxy group", labelNames: ["group"], registers: [registry] });
  const publishes = new Counter({ name: "waystation_snapshot_publish_total", help: "Snapshot publications per group and result", labelNames: ["group", "result"], registers: [registry] });
  const problems = new Gauge({ name: "waystation_config_problems", help: "Problems in the current configuration files", registers: [registry] });

  ads.status.addHooks({
    onConnect: (s) => connected.inc({ type: proxyType(s.node, s.group) }),
    onDisconnect: (s) => connected.dec({ type: proxyType(s.node, s.group) }),
    onPush: (e) => {
      const type = shortType(e.type);
      pushes.inc({ type });
      pushBytes.inc({ type }, e.bytes);
      pushLatency.observe({ type }, e.durationMs / 1000);
    },
    onAck: (e) => acks.inc({ type: shortType(e.type) }),
    onNack: (n) => nacks.inc({ type: shortType(n.type), proxy_type: proxyType(n.node) }),
  });
  return {
    registry,
    recordPublish(group, ok, bytes) {
      publishes.inc({ group, result: ok ? "ok" : "refused" });
      if (ok) configSize.set({ group }, bytes);
    },
    recordProblems: (n) => problems.set(n),
  };
}
