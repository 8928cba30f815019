// The control plane's own serving certificate for the TLS listener (15012): issued by our CA for
// spiffe://<td>/ns/istio-system/sa/waystation plus DNS names, renewed at half-life and whenever the
// trust bundle changes, and handed to grpc-js as a certificate provider so a running server picks
// up new certificates without rebinding.
import * as grpc from "@grpc/grpc-js";
import type { experimental } from "@grpc/grpc-js";
import type { CertificateAuthority, IssuedKeyPair } from "./ca.js";
import { rotationDue, rotationTime } from "./rotation.js";
import { spiffeUri } from "./spiffe.js";
import { silentLogger, systemClock, type Clock, type Logger } from "./types.js";

type CaListener = experimental.CaCertificateUpdateListener;
type IdentityListener = experimental.IdentityCertificateUpdateListener;

/** DNS names of the serving certificate unless told otherwise: the in-cluster Service and local runs. */
export const DEFAULT_SERVER_DNS_NAMES: readonly string[] = ["waystation.istio-system.svc", "localhost"];

/** Options of the serving certificate. */
export interface ServingCertificateOptions {
  readonly dnsNames?: readonly string[];
  /** Lifetime of each serving certificate; default the CA's leaf default (24 h). */
  readonly ttlSeconds?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** The serving certificate, kept fresh; implements grpc-js's CertificateProvider for both identity and CA roots. */
export class ServingCertificate implements experimental.CertificateProvider {
  readonly identity: string;
  readonly #ca: CertificateAuthority;
  readonly #opts: ServingCertificateOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #caListeners = new Set<CaListener>();
  readonly #idListeners = new Set<IdentityListener>();
  #current: IssuedKeyPair;
  #timer: NodeJS.Timeout | undefined;
  readonly #unsubscribe: () => void;
  #closed = false;

  private constructor(ca: CertificateAuthority, opts: ServingCertificateOptions, first: IssuedKeyPair) {
    this.#ca = ca;
    this.#opts = opts;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger ?? silentLogger;
    this.identity = first.identity;
    this.#current = first;
    this.#unsubscribe = ca.onBundleChange(() => void this.refresh().catch((e: Error) => this.#log.error("CA: serving certificate renewal failed", { error: e.message })));
    this.#schedule();
  }

  /** Issues the first serving certificate and starts renewing it. */
  static async start(ca: CertificateAuthority, opts: ServingCertificateOptions = {}): Promise<ServingCertificate> {
    const first = await ServingCertificate.#issue(ca, opts);
    return new ServingCertificate(ca, opts, first);
  }

  static #issue(ca: CertificateAuthority, opts: ServingCertificateOptions): Promise<IssuedKeyPair> {
    const req = { identity: spiffeUri(ca.trustDomain, "istio-system", "waystation"), dnsNames: opts.dnsNames ?? DEFAULT_SERVER_DNS_NAMES };
    return ca.issueKeyPair(opts.ttlSeconds === undefined ? req : { ...req, ttlSeconds: opts.ttlSeconds });
  }

  /** The certificate being served now. */
  get current(): IssuedKeyPair {
    return this.#current;
  }

  /**
   * grpc-js server credentials serving this certificate. Client certificates are requested but
   * optional (a ztunnel's first call has none); one that verifies against the trust bundle
   * authenticates its workload (auth.ts).
   */
  credentials(): grpc.ServerCredentials {
    // The same object is both providers, so the argument order of this experimental API (its
    // declaration names them the other way round from its constructor) does not matter.
    return grpc.experimental.createCertificateProviderServerCredentials(this, this, false);
  }

  /** Issues a new certificate now and hands it to every server using it. */
  async refresh(): Promise<void> {
    if (this.#closed) return;
    this.#current = await ServingCertificate.#issue(this.#ca, this.#opts);
    this.#log.info("CA: renewed the serving certificate", { identity: this.identity, notAfter: this.#current.notAfter.toISOString() });
    for (const l of this.#idListeners) l(this.#identityUpdate());
    for (const l of this.#caListeners) l(this.#caUpdate());
    this.#schedule();
  }

  /** Whether the current certificate is past half its life. */
  due(now = this.#clock()): boolean {
    return rotationDue(this.#current, now);
  }

  /** Stops renewing. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#unsubscribe();
  }

  addCaCertificateListener(l: CaListener): void {
    this.#caListeners.add(l);
    // Delivered after the call returns: grpc-js adds its own watcher only after subscribing here,
    // so a synchronous update would be lost and the first connections dropped.
    queueMicrotask(() => this.#caListeners.has(l) && l(this.#caUpdate()));
  }

  removeCaCertificateListener(l: CaListener): void {
    this.#caListeners.delete(l);
  }

  addIdentityCertificateListener(l: IdentityListener): void {
    this.#idListeners.add(l);
    queueMicrotask(() => this.#idListeners.has(l) && l(this.#identityUpdate()));
  }

  removeIdentityCertificateListener(l: IdentityListener): void {
    this.#idListeners.delete(l);
  }

  #caUpdate(): experimental.CaCertificateUpdate {
    return { caCertificate: Buffer.from(this.#ca.trustBundle().pem()) };
  }

  #identityUpdate(): experimental.IdentityCertificateUpdate {
    return { certificate: Buffer.from(this.#current.certChain.join("")), privateKey: Buffer.from(this.#current.privateKeyPem) };
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#closed) return;
    // setTimeout takes at most 2^31-1 ms; longer waits re-check when they fire.
    const wait = Math.min(Math.max(rotationTime(this.#current) - this.#clock(), 1000), 2 ** 31 - 1);
    this.#timer = setTimeout(() => {
      if (this.due()) void this.refresh().catch((e: Error) => this.#log.error("CA: serving certificate renewal failed", { error: e.message }));
      else this.#schedule();
    }, wait);
    this.#timer.unref();
  }
}
