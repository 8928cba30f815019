/**
 * Simulated waypoint proxies for bench/xds.ts, run in a child process (child_process.fork) so their
 * CPU is not the control plane's. Each proxy is one raw ADS stream (SotW or Delta) that subscribes
 * the way Envoy does: CDS, then EDS and SDS for what the clusters name, then LDS, then RDS for what
 * the listeners name; it ACKs every response. Streams share channels, `perChannel` streams each,
 * each channel its own HTTP/2 connection.
 *
 * Responses are not decoded beyond version, nonce and type: a proxy's parsing is Envoy's cost,
 * not the control plane's, and decoding 1,000 copies would make this process the bottleneck.
 *
 * Protocol with the parent (process.send):
 *   parent -> { cmd: "start", ... StartCommand }  child -> { ev: "opened", ms }
 *   parent -> { cmd: "stats" }                    child -> { ev: "stats", ... ClientStats }
 *   parent -> { cmd: "stop" }                     child -> { ev: "stats", ... } then exits
 */
import * as grpc from "@grpc/grpc-js";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { NodeSchema } from "@waystation/proto/envoy/config/core/v3/base_pb.js";
import { DeltaDiscoveryRequestSchema, DiscoveryRequestSchema } from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { TypeUrl, adsServiceDefinition } from "@waystation/xds";

/** What the parent tells the child to do. */
export interface StartCommand {
  cmd: "start";
  address: string;
  streams: number;
  perChannel: number;
  variant: "sotw" | "delta";
  /** Node id of proxy i: `${prefix}` with {i} and {ip} substituted. */
  nodeIdTemplate: string;
  /** Resource names to subscribe to by name. */
  names: { EDS: string[]; RDS: string[]; SDS: string[] };
}

/** What the child reports. */
export interface ClientStats {
  /** User + system CPU ms of this process since it started. */
  cpuMs: number;
  responses: number;
  bytes: number;
  /** Streams that ended before "stop" (with their status). */
  failed: number;
  firstError?: string;
}

/** The fields of a (Delta)DiscoveryResponse the simulated proxy needs. */
interface Head { versionInfo: string; typeUrl: string; nonce: string; size: number }

/**
 * DiscoveryResponse: version_info = 1, type_url = 4, nonce = 5. DeltaDiscoveryResponse:
 * system_version_info = 1, type_url = 4, nonce = 5. Everything else (the resources) is skipped.
 */
function readHead(buf: Buffer): Head {
  const r = new BinaryReader(buf);
  const h: Head = { versionInfo: "", typeUrl: "", nonce: "", size: buf.length };
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 1) h.versionInfo = r.string();
    else if (field === 4) h.typeUrl = r.string();
    else if (field === 5) h.nonce = r.string();
    else r.skip(wire);
  }
  return h;
}

const stats: ClientStats = { cpuMs: 0, responses: 0, bytes: 0, failed: 0 };
const calls: grpc.ClientDuplexStream<Uint8Array, Head>[] = [];
const clients: grpc.Client[] = [];
let stopping = false;

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const ipOf = (i: number) => `10.0.${(i >> 8) & 255}.${i & 255}`;

function open(cmd: StartCommand, client: grpc.Client, i: number): void {
  const sotw = cmd.variant === "sotw";
  const method = sotw ? adsServiceDefinition.streamAggregatedResources : adsServiceDefinition.deltaAggregatedResources;
  const call = client.makeBidiStreamRequest<Uint8Array, Head>(method.path, (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength), readHead);
  calls.push(call);
  const node = create(NodeSchema, {
    id: cmd.nodeIdTemplate.replace("{i}", String(i)).replace("{ip}", ipOf(i)),
    userAgentName: "envoy", userAgentVersionType: { case: "userAgentVersion", value: "1.31.0" },
  });
  let first = true;
  const requested = new Set<string>();
  const names: Record<string, string[]> = { [TypeUrl.EDS]: cmd.names.EDS, [TypeUrl.RDS]: cmd.names.RDS, [TypeUrl.SDS]: cmd.names.SDS };

  const send = (typeUrl: string, ack?: Head) => {
    const withNode = first;
    first = false;
    if (sotw) {
      const init: MessageInitShape<typeof DiscoveryRequestSchema> = {
        typeUrl, resourceNames: names[typeUrl] ?? [],
        ...(ack ? { versionInfo: ack.versionInfo, responseNonce: ack.nonce } : {}),
        ...(withNode ? { node } : {}),
      };
      call.write(toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, init)));
    } else {
      const init: MessageInitShape<typeof DeltaDiscoveryRequestSchema> = {
        typeUrl,
        ...(ack ? { responseNonce: ack.nonce } : { resourceNamesSubscribe: names[typeUrl] ?? [] }),
        ...(withNode ? { node } : {}),
      };
      call.write(toBinary(DeltaDiscoveryRequestSchema, create(DeltaDiscoveryRequestSchema, init)));
    }
  };
  const subscribe = (typeUrl: string) => {
    if (requested.has(typeUrl)) return;
    requested.add(typeUrl);
    send(typeUrl);
  };

  call.on("data", (h: Head) => {
    stats.responses++;
    stats.bytes += h.size;
    send(h.typeUrl, h);
    // Envoy's order: clusters, then their endpoints and secrets; listeners once clusters are
    // warm; routes once listeners name them.
    if (h.typeUrl === TypeUrl.CDS) {
      subscribe(TypeUrl.EDS);
      subscribe(TypeUrl.SDS);
    } else if (h.typeUrl === TypeUrl.EDS) {
      subscribe(TypeUrl.LDS);
    } else if (h.typeUrl === TypeUrl.LDS) {
      subscribe(TypeUrl.RDS);
    }
  });
  call.on("error", (e: grpc.ServiceError) => {
    if (stopping) return;
    stats.failed++;
    stats.firstError ??= `${e.code}: ${e.details}`;
  });
  call.on("status", () => {});
  subscribe(TypeUrl.CDS);
}

function start(cmd: StartCommand): void {
  const t = performance.now();
  for (let i = 0; i < cmd.streams; i++) {
    if (i % cmd.perChannel === 0) {
      // A local subchannel pool per channel: otherwise grpc-js shares one connection between
      // channels with the same target and options.
      clients.push(new grpc.Client(cmd.address, grpc.credentials.createInsecure(), {
        "grpc.use_local_subchannel_pool": 1,
        "grpc.max_receive_message_length": 512 * 1024 * 1024,
        // Envoy advertises 256 MiB stream and connection windows by default (Http2ProtocolOptions
        // initial_stream_window_size / initial_connection_window_size); with Node's 64 KiB default the
        // bench would measure WINDOW_UPDATE round trips between two busy event loops, not the server.
        "grpc-node.flow_control_window": 64 * 1024 * 1024,
      }));
    }
    open(cmd, clients[clients.length - 1]!, i);
  }
  process.send?.({ ev: "opened", ms: performance.now() - t });
}

function report(): void {
  stats.cpuMs = cpuMs();
  process.send?.({ ev: "stats", ...stats });
}

process.on("message", (m: { cmd: string }) => {
  if (m.cmd === "start") start(m as StartCommand);
  else if (m.cmd === "stats") report();
  else if (m.cmd === "stop") {
    stopping = true;
    for (const c of calls) c.cancel();
    for (const c of clients) c.close();
    report();
    // Let the IPC message flush, then leave.
    setTimeout(() => process.exit(0), 50);
  }
});
process.on("disconnect", () => process.exit(0));
process.send?.({ ev: "loaded" });
