// IstioCertificateService/CreateCertificate on grpc-js: authenticate the caller (auth.ts), decide
// the identity it may have, sign the CSR for it (ca.ts). The control plane registers it beside ADS
// on 15010 (plaintext) and 15012 (TLS); startCaServer runs it alone (tests, local mode).
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { grpcServiceDefinition } from "@waystation/xds";
import {
  IstioCertificateResponseSchema,
  IstioCertificateService,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from "@waystation/proto/istio/ca/ca_pb.js";
import { authorize, CallerAuthenticator, NodeCredentials, type WorkloadsOnNode } from "./auth.js";
import { CertificateAuthority, type IssuedCertificate } from "./ca.js";
import { isPkiError, PkiError, type PkiErrorKind } from "./errors.js";
import { ServingCertificate } from "./serverCert.js";
import { silentLogger, type Logger } from "./types.js";

/** The metadata key ztunnel sets to ask for a workload's certificate (`istio:pkg/security` `ImpersonatedIdentity`). */
export const IMPERSONATED_IDENTITY = "ImpersonatedIdentity";

/** What the service needs. */
export interface CaServiceOptions {
  readonly ca: CertificateAuthority;
  readonly authenticator: CallerAuthenticator;
  /** Identities of the workloads on a node (from the mesh model); without it no impersonation is allowed. */
  readonly workloadsOnNode?: WorkloadsOnNode;
  readonly logger?: Logger;
}

/** How a call presented itself: its `authorization` metadata values and verified TLS client certificate. */
export interface CallCredentials {
  readonly authorization: readonly string[];
  readonly peerCertificate?: Buffer | undefined;
}

const STATUS: Record<PkiErrorKind, grpc.status> = {
  InvalidIdentity: grpc.status.INVALID_ARGUMENT,
  InvalidCsr: grpc.status.INVALID_ARGUMENT,
  InvalidRequest: grpc.status.INVALID_ARGUMENT,
  Unauthenticated: grpc.status.UNAUTHENTICATED,
  PermissionDenied: grpc.status.PERMISSION_DENIED,
  InvalidCa: grpc.status.INTERNAL,
  InvalidCredentials: grpc.status.INTERNAL,
  Unsupported: grpc.status.UNIMPLEMENTED,
};

/** The CreateCertificate service. */
export class CaService {
  readonly #opts: CaServiceOptions;
  readonly #log: Logger;

  constructor(opts: CaServiceOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
  }

  /** Adds the service to a grpc-js server (the control plane's 15010 / 15012 server, beside ADS). */
  register(server: grpc.Server): void {
    server.addService(grpcServiceDefinition(IstioCertificateService), {
      createCertificate: (call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>, callback: grpc.sendUnaryData<IstioCertificateResponse>) => {
        const credentials: CallCredentials = {
          authorization: call.metadata.get("authorization").map((v) => v.toString()),
          peerCertificate: call.getAuthContext()?.sslPeerCertificate?.raw,
        };
        this.createCertificate(call.request, credentials).then(
          (res) => callback(null, res),
          (e: unknown) => callback(this.#toStatus(e, call.getPeer())),
        );
      },
    });
  }

  /** The method without gRPC: authenticate, authorise, sign. Throws PkiError. */
  async createCertificate(req: IstioCertificateRequest, credentials: CallCredentials): Promise<IstioCertificateResponse> {
    const issued = await this.issue(req, credentials);
    return create(IstioCertificateResponseSchema, { certChain: [...issued.certChain] });
  }

  /** Like createCertificate, returning the issued certificate's details. */
  async issue(req: IstioCertificateRequest, credentials: CallCredentials): Promise<IssuedCertificate> {
    const caller = this.#opts.authenticator.authenticate(credentials);
    const impersonated = impersonatedIdentity(req);
    const identity = await authorize(caller, impersonated, this.#opts.workloadsOnNode);
    const ttl = req.validityDuration > 0n ? Number(req.validityDuration) : undefined;
    const issued = await this.#opts.ca.sign(ttl === undefined ? { csrPem: req.csr, identity } : { csrPem: req.csr, identity, ttlSeconds: ttl });
    this.#log.debug("CA: CreateCertificate", { caller: caller.identity, via: caller.via, identity, serial: issued.serial });
    return issued;
  }

  #toStatus(e: unknown, peer: string): Partial<grpc.StatusObject> {
    if (isPkiError(e)) {
      this.#log.warn("CA: CreateCertificate refused", { peer, kind: e.kind, reason: e.message });
      return { code: STATUS[e.kind], details: e.message };
    }
    this.#log.error("CA: CreateCertificate failed", { peer, error: (e as Error)?.stack ?? String(e) });
    return { code: grpc.status.INTERNAL, details: `CA internal error: ${(e as Error)?.message ?? String(e)}` };
  }
}

function impersonatedIdentity(req: IstioCertificateRequest): string | undefined {
  const v = req.metadata?.[IMPERSONATED_IDENTITY];
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") throw new PkiError("InvalidRequest", `metadata.${IMPERSONATED_IDENTITY} must be a string SPIFFE identity, not ${JSON.stringify(v)}`);
  return v;
}

/** Options of a stand-alone CA server. */
export interface CaServerOptions {
  /** Default 0: any free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Serve TLS with a certificate the CA issues for itself (like 15012); default plaintext (like 15010). */
  readonly tls?: boolean;
  /** DNS SANs of the serving certificate (default waystation.istio-system.svc, localhost). */
  readonly dnsNames?: readonly string[];
  /** The CA; default a new in-memory self-signed CA. */
  readonly ca?: CertificateAuthority;
  /** Default: an authenticator over `credentials`. */
  readonly authenticator?: CallerAuthenticator;
  readonly credentials?: NodeCredentials;
  readonly workloadsOnNode?: WorkloadsOnNode;
  readonly logger?: Logger;
}

/** A running stand-alone CA server. */
export interface CaServer {
  readonly port: number;
  /** `host:port` to dial. */
  readonly address: string;
  readonly ca: CertificateAuthority;
  readonly service: CaService;
  /** The serving certificate when `tls` is set. */
  readonly servingCertificate?: ServingCertificate;
  close(): Promise<void>;
}

/** Starts a grpc-js server with only the CA service (tests bind port 0). */
export async function startCaServer(opts: CaServerOptions = {}): Promise<CaServer> {
  const logger = opts.logger ?? silentLogger;
  const ca = opts.ca ?? (await CertificateAuthority.start({ logger }));
  const authenticator = opts.authenticator ?? new CallerAuthenticator({ credentials: opts.credentials ?? NodeCredentials.empty(), trustDomain: ca.trustDomain });
  const service = new CaService({ ca, authenticator, logger, ...(opts.workloadsOnNode ? { workloadsOnNode: opts.workloadsOnNode } : {}) });
  const serving = opts.tls ? await ServingCertificate.start(ca, { logger, ...(opts.dnsNames ? { dnsNames: opts.dnsNames } : {}) }) : undefined;
  const server = new grpc.Server();
  service.register(server);
  const host = opts.host ?? "127.0.0.1";
  const creds = serving ? serving.credentials() : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${opts.port ?? 0}`, creds, (err, p) => (err ? reject(err) : resolve(p)));
  });
  return {
    port,
    address: `${host.includes(":") ? `[${host}]` : host}:${port}`,
    ca,
    service,
    ...(serving ? { servingCertificate: serving } : {}),
    close: () => new Promise<void>((resolve) => {
      serving?.close();
      // Calls still open after a grace period (a client that never hangs up) are cut.
      const force = setTimeout(() => server.forceShutdown(), 2000);
      force.unref();
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    }),
  };
}
