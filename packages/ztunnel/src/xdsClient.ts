// The Delta xDS client of the ztunnel (istio-ambient.md §3): one DeltaAggregatedResources stream,
// wildcard subscriptions to istio.workload.Address and istio.security.Authorization, partial updates
// applied to the state, bad resources NACKed one by one (`type/name: reason`, the good ones of the
// same response applied), reconnects with initial_resource_versions, and the last state kept serving
// while the control plane is away.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary } from "@bufbuild/protobuf";
import { adsServiceDefinition } from "@waystation/xds";
import { DeltaDiscoveryRequestSchema, type DeltaDiscoveryRequest, type DeltaDiscoveryResponse } from "@waystation/proto/envoy/service/discovery/v3/discovery_pb.js";
import { AddressSchema } from "@waystation/proto/istio/workload/workload_pb.js";
import { AuthorizationSchema } from "@waystation/proto/istio/security/authorization_pb.js";
import { addressFromProto, policyFromProto } from "./protoConvert.js";
import type { MeshState } from "./state.js";
import { policyKey, serviceKey, silentLogger, type Logger } from "./types.js";

export const ADDRESS_TYPE = "type.googleapis.com/istio.workload.Address";
export const AUTHORIZATION_TYPE = "type.googleapis.com/istio.security.Authorization";
const TYPES = [ADDRESS_TYPE, AUTHORIZATION_TYPE] as const;
const short = (t: string) => t.slice(t.lastIndexOf("/") + 1);

/** Options of the client. */
export interface XdsClientOptions {
  /** `host:port` of the control plane (15010 plaintext, 15012 TLS). */
  readonly address: string;
  /** Istio's node id: `ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
  readonly nodeId: string;
  /** Node metadata (NAME, NAMESPACE, INSTANCE_IPS, NODE_NAME, CLUSTER_ID ...). */
  readonly metadata?: Readonly<Record<string, string>>;
  readonly state: MeshState;
  /** Roots verifying the control plane's certificate; plaintext when absent. */
  readonly rootCertPem?: string;
  readonly serverName?: string;
  /** `authorization: Bearer <token>`. */
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** First reconnect delay (doubles up to maxBackoffMs). Default 500 ms / 15 s. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly logger?: Logger;
}

/** What the client has done, for `/config_dump` and readiness. */
export interface XdsClientStatus {
  connected: boolean;
  /** Both types have had a first response applied (on any stream). */
  synced: boolean;
  connects: number;
  acks: number;
  nacks: { type: string; nonce: string; message: string; time: string }[];
  lastError?: string;
}

/** A Delta ADS client that feeds a MeshState. */
export class XdsClient {
  readonly #opts: XdsClientOptions;
  readonly #log: Logger;
  readonly #client: grpc.Client;
  /** Per type: resource name -> version, what initial_resource_versions reports on reconnect. */
  readonly #versions = new Map<string, Map<string, string>>(TYPES.map((t) => [t, new Map()]));
  readonly #firstResponse = new Set<string>();
  #call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoff: number;
  #closed = false;
  #syncWaiters: (() => void)[] = [];
  readonly status: XdsClientStatus = { connected: false, synced: false, connects: 0, acks: 0, nacks: [] };

  constructor(opts: XdsClientOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#backoff = opts.backoffMs ?? 500;
    const creds = opts.rootCertPem ? grpc.credentials.createSsl(Buffer.from(opts.rootCertPem)) : grpc.credentials.createInsecure();
    this.#client = new grpc.Client(opts.address, creds, {
      "grpc.max_receive_message_length": 200 << 20,
      ...(opts.serverName ? { "grpc.ssl_target_name_override": opts.serverName } : {}),
    });
  }

  /** Opens the stream (and keeps reopening it until close). */
  start(): void {
    this.#connect();
  }

  /** Resolves once both types have been received and applied once. */
  synced(): Promise<void> {
    if (this.status.synced) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** Ends the stream and stops reconnecting; the state keeps what it has. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#call?.cancel();
    this.#client.close();
  }

  #connect(): void {
    if (this.#closed) return;
    const md = new grpc.Metadata();
    if (this.#opts.token !== undefined) md.set("authorization", `Bearer ${this.#opts.token}`);
    for (const [k, v] of Object.entries(this.#opts.headers ?? {})) md.set(k, v);
    const d = adsServiceDefinition.deltaAggregatedResources;
    const call = this.#client.makeBidiStreamRequest(d.path, d.requestSerialize, d.responseDeserialize, md) as
      grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
    this.#call = call;
    this.status.connects++;
    let first = true;
    call.on("data", (res: DeltaDiscoveryResponse) => {
      if (first) {
        first = false;
        this.status.connected = true;
        this.#backoff = this.#opts.backoffMs ?? 500;
        this.#log.info("xds: connected", { address: this.#opts.address });
      }
      this.#onResponse(call, res);
    });
    call.on("error", (err: grpc.ServiceError) => { this.status.lastError = err.details || err.message; });
    call.on("status", (s: grpc.StatusObject) => this.#onEnd(call, s.details));
    // Wildcard: empty subscribe lists. On reconnect, what we hold (ztunnel sends "" versions; we send
    // the ones we got), so the server sends only differences and removes what it no longer has.
    TYPES.forEach((typeUrl, i) => {
      call.write(create(DeltaDiscoveryRequestSchema, {
        typeUrl,
        initialResourceVersions: Object.fromEntries(this.#versions.get(typeUrl)!),
        ...(i === 0 ? { node: { id: this.#opts.nodeId, metadata: { ...this.#opts.metadata } } } : {}),
      }));
    });
  }

  #onEnd(call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>, details: string): void {
    if (call !== this.#call) return;
    this.#call = undefined;
    this.status.connected = false;
    if (this.#closed) return;
    const delay = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#opts.maxBackoffMs ?? 15_000);
    this.#log.warn("xds: stream ended; keeping the last state and reconnecting", { address: this.#opts.address, details, retryInMs: delay });
    this.#timer = setTimeout(() => this.#connect(), delay);
    this.#timer.unref();
  }

  #onResponse(call: grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>, res: DeltaDiscoveryResponse): void {
    const typeUrl = res.typeUrl;
    const versions = this.#versions.get(typeUrl);
    if (!versions) {
      call.write(create(DeltaDiscoveryRequestSchema, { typeUrl, responseNonce: res.nonce, errorDetail: { code: grpc.status.INVALID_ARGUMENT, message: `type ${typeUrl} was not subscribed` } }));
      return;
    }
    const errors = this.#apply(typeUrl, res, versions);
    if (errors.length === 0) {
      this.status.acks++;
      call.write(create(DeltaDiscoveryRequestSchema, { typeUrl, responseNonce: res.nonce }));
    } else {
      const message = errors.join("; ");
      this.status.nacks.push({ type: short(typeUrl), nonce: res.nonce, message, time: new Date().toISOString() });
      if (this.status.nacks.length > 20) this.status.nacks.shift();
      this.#log.warn("xds: rejected resources (NACK); the others were applied", { type: short(typeUrl), errors });
      call.write(create(DeltaDiscoveryRequestSchema, { typeUrl, responseNonce: res.nonce, errorDetail: { code: grpc.status.INVALID_ARGUMENT, message } }));
    }
    this.#firstResponse.add(typeUrl);
    if (!this.status.synced && TYPES.every((t) => this.#firstResponse.has(t))) {
      this.status.synced = true;
      for (const w of this.#syncWaiters.splice(0)) w();
    }
  }

  /** Applies one response in one state batch; returns the `type/name: reason` of every rejected resource. */
  #apply(typeUrl: string, res: DeltaDiscoveryResponse, versions: Map<string, string>): string[] {
    const state = this.#opts.state;
    const errors: string[] = [];
    const isAddress = typeUrl === ADDRESS_TYPE;
    state.batch(() => {
      for (const name of res.removedResources) {
        versions.delete(name);
        if (isAddress) state.removeAddress(name); else state.removePolicy(name);
      }
      for (const r of res.resources) {
        const reject = (why: string) => errors.push(`${short(typeUrl)}/${r.name}: ${why}`);
        if (!r.resource) { reject("no resource body"); continue; }
        if (r.resource.typeUrl !== typeUrl) { reject(`body is ${r.resource.typeUrl}, expected ${typeUrl}`); continue; }
        let key: string;
        try {
          if (isAddress) {
            const a = addressFromProto(fromBinary(AddressSchema, r.resource.value));
            if (!a.ok) { reject(a.reason); continue; }
            key = a.value.kind === "workload" ? a.value.workload.uid : serviceKey(a.value.service);
            if (key !== r.name) { reject(`resource name does not match its content (${key})`); continue; }
            if (a.value.kind === "workload") state.upsertWorkload(a.value.workload); else state.upsertService(a.value.service);
          } else {
            const p = policyFromProto(fromBinary(AuthorizationSchema, r.resource.value));
            if (!p.ok) { reject(p.reason); continue; }
            key = policyKey(p.value);
            if (key !== r.name) { reject(`resource name does not match its content (${key})`); continue; }
            state.upsertPolicy(p.value);
          }
        } catch (err) {
          reject(`does not decode: ${(err as Error).message}`);
          continue;
        }
        versions.set(r.name, r.version);
      }
    });
    return errors;
  }
}

/** Istio's node id for a ztunnel: `ztunnel~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`. */
export function ztunnelNodeId(ip: string, podName: string, podNamespace: string): string {
  return `ztunnel~${ip}~${podName}.${podNamespace}~${podNamespace}.svc.cluster.local`;
}
