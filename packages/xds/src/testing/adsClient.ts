// A disposable ADS server on a port-0 socket and a raw ADS client that records what it receives.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  DeltaDiscoveryRequestSchema, DiscoveryRequestSchema,
  type DeltaDiscoveryResponse, type DiscoveryResponse,
} from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { SnapshotCache, type SnapshotCacheOptions } from "../cache.js";
import { AdsServer, adsServiceDefinition, type AdsServerOptions } from "../server.js";
import { XdsStatus, type XdsStatusOptions } from "../status.js";
import { xdsType } from "../types.js";

/** A running ADS server bound to 127.0.0.1:<random port>. */
export interface AdsHarness {
  readonly address: string;
  readonly port: number;
  readonly cache: SnapshotCache;
  readonly ads: AdsServer;
  readonly server: grpc.Server;
  /** Ends all streams and the server. */
  close(): Promise<void>;
}

/** Starts an ADS server on port 0 with a fresh cache and status. */
export async function startAds(opts: {
  cache?: SnapshotCacheOptions; status?: XdsStatusOptions; server?: Omit<AdsServerOptions, "cache" | "status">;
} = {}): Promise<AdsHarness> {
  const cache = new SnapshotCache(opts.cache);
  const ads = new AdsServer({ ...opts.server, cache, status: new XdsStatus(opts.status) });
  const server = new grpc.Server();
  ads.register(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return {
    address: `127.0.0.1:${port}`, port, cache, ads, server,
    close: async () => {
      ads.closeStreams();
      server.forceShutdown();
    },
  };
}

/** One client-side stream that queues the responses it receives. */
export class RecordingStream<Req, Res> {
  private readonly queue: Res[] = [];
  private waiter: ((r: Res) => void) | undefined;
  /** Every response received, in order. */
  readonly received: Res[] = [];
  /** Resolves with the final status of the call. */
  readonly status: Promise<grpc.StatusObject>;

  constructor(readonly call: grpc.ClientDuplexStream<Req, Res>) {
    call.on("data", (r: Res) => {
      this.received.push(r);
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(r);
      } else this.queue.push(r);
    });
    call.on("error", () => {}); // the status promise reports it
    this.status = new Promise((resolve) => call.on("status", resolve));
  }

  /** Writes one request on the call. */
  send(req: Req): void {
    this.call.write(req);
  }

  /** The next response, or a rejection after `ms`. */
  next(ms = 2000): Promise<Res> {
    const queued = this.queue.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => { this.waiter = undefined; reject(new Error(`no response within ${ms} ms`)); }, ms);
      this.waiter = (r) => { clearTimeout(t); resolve(r); };
    });
  }

  /** Resolves if nothing arrives within `ms`; rejects with the unexpected response otherwise. */
  async none(ms = 150): Promise<void> {
    const got = await this.next(ms).then((r) => r, () => undefined);
    if (got !== undefined) throw new Error(`unexpected response: ${JSON.stringify(got, (_k, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`);
  }

  /** Half-closes and cancels the call. */
  close(): void {
    this.call.end();
    this.call.cancel();
  }
}

type SotwInit = MessageInitShape<typeof DiscoveryRequestSchema>;
type DeltaInit = MessageInitShape<typeof DeltaDiscoveryRequestSchema>;

/** SotW stream whose `send` takes a plain init object. */
export class SotwStream extends RecordingStream<SotwInit, DiscoveryResponse> {
  override send(req: SotwInit): void {
    super.send(create(DiscoveryRequestSchema, req));
  }
}

/** Delta stream whose `send` takes a plain init object. */
export class DeltaStream extends RecordingStream<DeltaInit, DeltaDiscoveryResponse> {
  override send(req: DeltaInit): void {
    super.send(create(DeltaDiscoveryRequestSchema, req));
  }
}

const AdsClient = grpc.makeGenericClientConstructor(adsServiceDefinition, "AggregatedDiscoveryService");

/** A raw ADS client built from the same service definition the server uses. */
export class RawAdsClient {
  readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new AdsClient(address, grpc.credentials.createInsecure());
  }

  /** Opens a StreamAggregatedResources call. */
  sotw(): SotwStream {
    const d = adsServiceDefinition.streamAggregatedResources;
    return new SotwStream(this.client.makeBidiStreamRequest(d.path, d.requestSerialize as (v: SotwInit) => Buffer, d.responseDeserialize));
  }

  /** Opens a DeltaAggregatedResources call. */
  delta(): DeltaStream {
    const d = adsServiceDefinition.deltaAggregatedResources;
    return new DeltaStream(this.client.makeBidiStreamRequest(d.path, d.requestSerialize as (v: DeltaInit) => Buffer, d.responseDeserialize));
  }

  /** A SotW call whose requests are raw bytes, to send garbage. */
  rawSotw(): RecordingStream<Buffer, DiscoveryResponse> {
    const d = adsServiceDefinition.streamAggregatedResources;
    return new RecordingStream(this.client.makeBidiStreamRequest(d.path, (b: Buffer) => b, d.responseDeserialize));
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}

/** The resource names in a SotW response, in order. */
export function namesOf(res: DiscoveryResponse): string[] {
  return res.resources.map((a) => {
    const t = xdsType(a.typeUrl);
    if (!t) throw new Error(`unexpected type ${a.typeUrl}`);
    return t.nameOf(fromBinary(t.schema, a.value));
  });
}
