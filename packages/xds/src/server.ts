// The ADS server: StreamAggregatedResources (SotW) and DeltaAggregatedResources on @grpc/grpc-js.
import type * as grpc from "@grpc/grpc-js";
import { AggregatedDiscoveryService } from "@waystation/proto/envoy/service/discovery/v3/ads_pb.js";
import type { SnapshotCache } from "./cache.js";
import { controlPlane, type AdsConnection, type ConnectionDeps } from "./connection.js";
import { DeltaConnection } from "./delta.js";
import { ResponseCache } from "./responses.js";
import { grpcServiceDefinition, type GrpcImplementation, type GrpcServiceDefinition } from "./grpcService.js";
import type { Snapshot } from "./snapshot.js";
import { SotwConnection } from "./sotw.js";
import { XdsStatus, type NackRecord, type SynczEntry } from "./status.js";
import { silentLogger, type Logger } from "./types.js";

type AdsMethods = typeof AggregatedDiscoveryService extends { method: infer M } ? M : never;

/** grpc-js definition of envoy.service.discovery.v3.AggregatedDiscoveryService (server and client). */
export const adsServiceDefinition = grpcServiceDefinition(AggregatedDiscoveryService);

/** The grpc-js implementation type of the ADS service. */
export type AdsImplementation = GrpcImplementation<AdsMethods>;

/** Options of {@link AdsServer}. */
export interface AdsServerOptions {
  cache: SnapshotCache;
  /** Sync state and NACK records; a fresh one (1000 NACKs kept) when omitted. */
  status?: XdsStatus;
  logger?: Logger;
  /** Sent as `control_plane.identifier` in every response (e.g. "waystation-<pod>"). */
  controlPlaneId?: string;
}

/** What `/debug/config_dump?proxy=` needs: the snapshot a node resolves to and its streams' state. */
export interface ConfigDump {
  readonly node: string;
  readonly snapshot: Snapshot | undefined;
  readonly streams: SynczEntry[];
}

/**
 * Serves the snapshot cache over ADS, both variants, on any grpc-js server:
 *
 * ```ts
 * const ads = new AdsServer({ cache, logger });
 * ads.register(grpcServer);            // beside the CA service on :15010 / :15012
 * ```
 */
export class AdsServer {
  /** Sync state, NACK records and hooks. */
  readonly status: XdsStatus;
  private readonly deps: ConnectionDeps;
  private readonly open = new Set<Pick<AdsConnection<never, never>, "shutdown">>();
  private seq = 0;

  constructor(private readonly opts: AdsServerOptions) {
    const log = opts.logger ?? silentLogger;
    this.status = opts.status ?? new XdsStatus({ logger: log });
    this.deps = { cache: opts.cache, status: this.status, log, controlPlane: controlPlane(opts.controlPlaneId), responses: new ResponseCache() };
  }

  /** The service definition to pass to `server.addService`. */
  get definition(): GrpcServiceDefinition<AdsMethods> {
    return adsServiceDefinition;
  }

  /** Handlers for both RPCs. */
  implementation(): AdsImplementation {
    return {
      streamAggregatedResources: (call) => this.track(new SotwConnection(call, this.deps, `sotw-${++this.seq}`, "sotw")),
      deltaAggregatedResources: (call) => this.track(new DeltaConnection(call, this.deps, `delta-${++this.seq}`, "delta")),
    };
  }

  /** Adds the ADS service to a grpc-js server. */
  register(server: grpc.Server): void {
    server.addService(this.definition, this.implementation());
  }

  /** `/debug/syncz`: every open stream and, per type, desired/sent/acked versions and the last NACK. */
  syncz(): SynczEntry[] {
    return this.status.syncz();
  }

  /** `/debug/nacks`: recent NACKs, oldest first. */
  nacks(): NackRecord[] {
    return this.status.recentNacks();
  }

  /**
   * `/debug/config_dump?proxy=<node id>`: the snapshot the node resolves to (exact id, else the group
   * of its open stream) and its streams. Rendering to JSON needs a registry for the `Any` payloads.
   */
  configDump(nodeId: string): ConfigDump {
    const streams = this.syncz().filter((s) => s.node === nodeId);
    const group = streams.find((s) => s.group !== undefined)?.group;
    return { node: nodeId, snapshot: this.opts.cache.resolve({ id: nodeId, group }), streams };
  }

  /** Number of open streams. */
  get streamCount(): number {
    return this.open.size;
  }

  /** Ends every open stream with UNAVAILABLE (clients reconnect elsewhere); call before server shutdown. */
  closeStreams(): void {
    for (const c of [...this.open]) c.shutdown();
  }

  private track(c: SotwConnection | DeltaConnection): void {
    this.open.add(c);
    c.onClose(() => this.open.delete(c));
    c.start();
  }
}
