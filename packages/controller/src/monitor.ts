/**
 * The monitoring endpoint (:15014 in Istio): /metrics, /ready, /debug/syncz, /debug/nacks,
 * /debug/config_dump?proxy=<node id>, /debug/status (config problems and resource conditions).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import { registry as protoRegistry } from "@waystation/translator/validate";
import { xdsType, type AdsServer } from "@waystation/xds";
import type { ControlPlaneMetrics } from "./metrics.js";

export interface MonitorSources {
  ads: AdsServer;
  metrics: ControlPlaneMetrics;
  ready(): boolean;
  /** Problems and conditions, for /debug/status and `waystation status`. */
  status(): unknown;
}

export function startMonitor(port: number, host: string, src: MonitorSources): Promise<{ server: Server; port: number }> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(`${JSON.stringify(body, null, 2)}\n`);
    };
    try {
      switch (url.pathname) {
        case "/metrics":
          res.writeHead(200, { "content-type": src.metrics.registry.contentType });
          res.end(await src.metrics.registry.metrics());
          return;
        case "/ready":
          res.writeHead(src.ready() ? 200 : 503, { "content-type": "text/plain" });
          res.end(src.ready() ? "ready\n" : "not ready: configuration not loaded yet\n");
          return;
        case "/debug/syncz":
          return json(200, src.ads.syncz());
        case "/debug/nacks":
          return json(200, src.ads.nacks());
        case "/debug/status":
          return json(200, src.status());
        case "/debug/config_dump": {
          const proxy = url.searchParams.get("proxy");
          if (!proxy) return json(400, { error: "give the proxy's node id: /debug/config_dump?proxy=<node id>" });
          const dump = src.ads.configDump(proxy);
          if (!dump.snapshot) return json(404, { error: `no configuration for ${proxy}: it is not connected, or no snapshot matches it`, streams: dump.streams });
          const resources: Record<string, JsonValue[]> = {};
          for (const typeUrl of Object.keys(dump.snapshot.messagesByTypeUrl())) {
            const t = xdsType(typeUrl);
            const items = dump.snapshot.get(typeUrl)?.items ?? [];
            if (!t || items.length === 0) continue;
            resources[t.name] = items.map((r) => toJson(t.schema, r.message, { registry: protoRegistry, useProtoFieldName: true }));
          }
          return json(200, { node: proxy, versions: dump.snapshot.versions(), streams: dump.streams, resources });
        }
        default:
          return json(404, { error: "not found", endpoints: ["/metrics", "/ready", "/debug/syncz", "/debug/nacks", "/debug/status", "/debug/config_dump?proxy=<node id>"] });
      }
    } catch (e) {
      json(500, { error: (e as Error).message });
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve({ server, port: (server.address() as AddressInfo).port }));
  });
}
