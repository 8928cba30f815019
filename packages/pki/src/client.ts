// A CreateCertificate client, as ztunnel uses the CA: make a P-256 key and CSR, send it with the
// bearer token (and ImpersonatedIdentity for a workload on this node), then check the answer the way
// ztunnel does: the leaf's SAN must be the identity asked for, and the chain must lead to a trusted root.
import * as grpc from "@grpc/grpc-js";
import { X509Certificate } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { grpcServiceDefinition } from "@waystation/xds";
import { IstioCertificateRequestSchema, IstioCertificateService, type IstioCertificateRequest, type IstioCertificateResponse } from "@waystation/proto/istio/ca/ca_pb.js";
import type { IssuedKeyPair } from "./ca.js";
import { splitPem } from "./certs.js";
import { createCsr } from "./csr.js";
import { PkiError } from "./errors.js";
import { IMPERSONATED_IDENTITY } from "./service.js";
import { verifyChain } from "./verify.js";

/** How to reach the CA. */
export interface CaClientOptions {
  /** `host:port`. */
  readonly address: string;
  /** Roots that verify the CA's serving certificate (root-cert.pem); plaintext when absent. */
  readonly rootCertPem?: string;
  /** A client certificate to present over TLS (renewal by mTLS). */
  readonly clientCertificate?: { readonly privateKeyPem: string; readonly certChain: readonly string[] };
  /** The bearer token (`authorization: Bearer <token>`). */
  readonly token?: string;
  /** Extra metadata on every call (Istio sends `clusterid`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** TLS server name to check when `address` is not one of the certificate's DNS names. */
  readonly serverName?: string;
}

/** What to ask for. */
export interface FetchRequest {
  readonly identity: string;
  /** Send the identity as ImpersonatedIdentity (a ztunnel asking for a workload on its node). */
  readonly impersonate?: boolean;
  readonly ttlSeconds?: number;
  readonly deadlineMs?: number;
}

/** A client of IstioCertificateService. */
export class CaClient {
  readonly #client: grpc.Client;
  readonly #opts: CaClientOptions;
  readonly #method = grpcServiceDefinition(IstioCertificateService).createCertificate;

  constructor(opts: CaClientOptions) {
    this.#opts = opts;
    const creds = opts.rootCertPem
      ? grpc.credentials.createSsl(Buffer.from(opts.rootCertPem),
        opts.clientCertificate ? Buffer.from(opts.clientCertificate.privateKeyPem) : null,
        opts.clientCertificate ? Buffer.from(opts.clientCertificate.certChain.join("")) : null)
      : grpc.credentials.createInsecure();
    const options: grpc.ChannelOptions = opts.serverName ? { "grpc.ssl_target_name_override": opts.serverName } : {};
    this.#client = new grpc.Client(opts.address, creds, options);
  }

  /** Sends one raw request; resolves with the response or rejects with the grpc-js ServiceError. */
  createCertificate(req: IstioCertificateRequest, deadlineMs = 10_000): Promise<IstioCertificateResponse> {
    const md = new grpc.Metadata();
    if (this.#opts.token !== undefined) md.set("authorization", `Bearer ${this.#opts.token}`);
    for (const [k, v] of Object.entries(this.#opts.headers ?? {})) md.set(k, v);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(this.#method.path, this.#method.requestSerialize, this.#method.responseDeserialize, req, md,
        { deadline: Date.now() + deadlineMs }, (err, res) => (err || !res ? reject(err ?? new Error("empty response")) : resolve(res)));
    });
  }

  /**
   * Makes a key, asks for a certificate for `identity` and checks the answer. `trustBundlePem`
   * (default: the last element of the chain) is what the chain must lead to.
   */
  async fetchCertificate(req: FetchRequest, trustBundlePem?: string): Promise<IssuedKeyPair> {
    const { privateKeyPem, csrPem } = await createCsr(req.identity);
    const res = await this.createCertificate(create(IstioCertificateRequestSchema, {
      csr: csrPem,
      validityDuration: BigInt(req.ttlSeconds ?? 0),
      ...(req.impersonate ? { metadata: { [IMPERSONATED_IDENTITY]: req.identity } } : {}),
    }), req.deadlineMs);
    const chain = res.certChain.flatMap((p) => splitPem(p));
    if (chain.length !== res.certChain.length) throw new PkiError("InvalidCa", "the CA answered with other than one PEM certificate per chain element");
    const verdict = verifyChain(chain, trustBundlePem ?? chain[chain.length - 1] ?? "", new Date());
    if (!verdict.ok) throw new PkiError("InvalidCa", `the CA's certificate chain does not verify: ${verdict.reason}`);
    if (verdict.identity !== req.identity) throw new PkiError("InvalidCa", `certificate SAN is ${verdict.identity}, expected ${req.identity}`);
    const leaf = new X509Certificate(chain[0]!);
    return { identity: req.identity, certChain: chain, serial: leaf.serialNumber, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), privateKeyPem };
  }

  close(): void {
    this.#client.close();
  }
}
