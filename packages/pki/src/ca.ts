// The certificate authority: one signer (a self-signed root of ours, or the operator's plugged-in
// root or intermediate), the trust bundle, and leaf issuance with Istio's rules (istio-ambient.md §2).
import { PkiError } from "./errors.js";
import { createLeafCertificate, createRootCertificate, generateP256, importSigningKey, keyMatchesCertificate, parseCertificate, toPem, type CryptoKey, type SigningKey, x509 } from "./certs.js";
import { checkCsr } from "./csr.js";
import { checkSigningCert, loadPluggedCa, readRootState, writeRootState, type Signer } from "./caFiles.js";
import { DEFAULT_TRUST_DOMAIN, parseSpiffeId } from "./spiffe.js";
import { TrustBundle } from "./trustBundle.js";
import { silentLogger, systemClock, type Clock, type Logger } from "./types.js";

const DAY = 86_400;

/** Istio's lifetimes: `DEFAULT_WORKLOAD_CERT_TTL`, `MAX_WORKLOAD_CERT_TTL`, `CITADEL_SELF_SIGNED_CA_CERT_TTL`. */
export const Lifetimes = { defaultLeafSeconds: DAY, maxLeafSeconds: 90 * DAY, rootSeconds: 3650 * DAY } as const;

/** How to start a CA. */
export interface CaOptions {
  /** The trust domain identities are issued in; default `cluster.local`. */
  readonly trustDomain?: string;
  /** Istio's plugged-in certificates (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem); used when it holds ca-cert.pem. */
  readonly pluggedCertsDir?: string;
  /** Where our self-signed root is kept across restarts; without it the root lives in memory only. */
  readonly stateDir?: string;
  readonly rootTtlSeconds?: number;
  readonly defaultTtlSeconds?: number;
  readonly maxTtlSeconds?: number;
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** A leaf and its chain: one PEM per element, the leaf first and the root last. */
export interface IssuedCertificate {
  readonly identity: string;
  readonly certChain: readonly string[];
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/** An issued certificate with the private key the CA generated for it (waypoints, the CA's own server). */
export interface IssuedKeyPair extends IssuedCertificate {
  /** PKCS#8 PEM. */
  readonly privateKeyPem: string;
}

/** What the CA is signing with: the mode decides whether it may rotate the root. */
export type CaMode = "self-signed" | "plugged";

/** Listener for trust-bundle changes (a rotation starts or ends). */
export type BundleListener = (bundle: TrustBundle) => void;

/** Issues SPIFFE leaf certificates; see the package README for modes and files. */
export class CertificateAuthority {
  readonly trustDomain: string;
  readonly mode: CaMode;
  readonly #opts: CaOptions;
  readonly #clock: Clock;
  readonly #log: Logger;
  #signer: Signer;
  #bundle: TrustBundle;
  readonly #listeners = new Set<BundleListener>();

  private constructor(opts: CaOptions, mode: CaMode, signer: Signer, bundle: TrustBundle) {
    this.#opts = opts;
    this.trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    this.mode = mode;
    this.#clock = opts.clock ?? systemClock;
    this.#log = opts.logger ?? silentLogger;
    this.#signer = signer;
    this.#bundle = bundle;
  }

  /**
   * Starts a CA: from plugged-in certificates when `pluggedCertsDir` holds ca-cert.pem, else from
   * the root kept in `stateDir`, else with a new self-signed root (written to `stateDir` if given).
   */
  static async start(opts: CaOptions = {}): Promise<CertificateAuthority> {
    const log = opts.logger ?? silentLogger;
    const now = new Date((opts.clock ?? systemClock)());
    const trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
    if (opts.pluggedCertsDir) {
      const plugged = await loadPluggedCa(opts.pluggedCertsDir, now);
      if (plugged) {
        const ca = new CertificateAuthority(opts, "plugged", plugged.signer, new TrustBundle(plugged.roots));
        log.info("CA: signing with plugged-in certificates", { dir: opts.pluggedCertsDir, chainLength: plugged.signer.chain.length, roots: ca.#bundle.fingerprints() });
        return ca;
      }
      log.info("CA: no ca-cert.pem in the plugged-in certificates directory; using a self-signed root", { dir: opts.pluggedCertsDir });
    }
    const state = opts.stateDir ? await readRootState(opts.stateDir) : undefined;
    if (state) {
      const source = `${opts.stateDir}/root-cert.pem`;
      const cert = parseCertificate(state.rootCertPem, source);
      if (!keyMatchesCertificate(state.rootKeyPem, cert)) throw new PkiError("InvalidCa", `${opts.stateDir}: root-key.pem does not belong to root-cert.pem`);
      checkSigningCert(cert, source, now);
      const key = await importSigningKey(state.rootKeyPem, `${opts.stateDir}/root-key.pem`);
      const rootPem = toPem(cert);
      const ca = new CertificateAuthority(opts, "self-signed", { cert, key, chain: [rootPem] }, new TrustBundle([rootPem], state.retiring));
      log.info("CA: loaded self-signed root", { dir: opts.stateDir, roots: ca.#bundle.fingerprints(), rotating: ca.#bundle.rotating });
      return ca;
    }
    const signer = await newRoot(trustDomain, now, opts.rootTtlSeconds ?? Lifetimes.rootSeconds);
    if (opts.stateDir) await writeRootState(opts.stateDir, { rootCertPem: signer.chain[0]!, rootKeyPem: signer.key.pem, retiring: [] });
    const ca = new CertificateAuthority(opts, "self-signed", signer, new TrustBundle(signer.chain));
    log.info("CA: generated a self-signed root", { dir: opts.stateDir ?? "(memory only)", notAfter: signer.cert.notAfter.toISOString(), roots: ca.#bundle.fingerprints() });
    return ca;
  }

  /** The roots proxies must trust (SDS `ROOTCA`). */
  trustBundle(): TrustBundle {
    return this.#bundle;
  }

  /** Calls `listener` whenever the trust bundle changes; returns the unsubscribe function. */
  onBundleChange(listener: BundleListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Signs the CSR for `identity`, the identity the caller is authorised for (auth.ts). The CSR must
   * ask for exactly that identity as its one URI SAN. `ttlSeconds` <= 0 means the default (24 h);
   * longer than the cap (90 days) is cut to the cap, and no leaf outlives its signer.
   */
  async sign(req: { csrPem: string; identity: string; ttlSeconds?: number }): Promise<IssuedCertificate> {
    this.#checkTrustDomain(req.identity);
    const csr = await checkCsr(req.csrPem);
    if (csr.identity !== req.identity) {
      throw new PkiError("PermissionDenied", `certificate SAN is ${csr.identity}, expected ${req.identity}`,
        "a caller gets only the identity it is authorised for; put that identity in the CSR");
    }
    return this.#issue(csr.publicKey, req.identity, [], req.ttlSeconds);
  }

  /** Generates a P-256 key and issues a leaf for it: waypoints over SDS, and the CA's own serving certificate. */
  async issueKeyPair(req: { identity: string; dnsNames?: readonly string[]; ttlSeconds?: number }): Promise<IssuedKeyPair> {
    this.#checkTrustDomain(req.identity);
    const { keys, signingKey } = await generateP256();
    const issued = await this.#issue(keys.publicKey, req.identity, req.dnsNames ?? [], req.ttlSeconds);
    return { ...issued, privateKeyPem: signingKey.pem };
  }

  /**
   * Starts a root rotation: a new self-signed root signs every new leaf; the bundle carries the new
   * root and the old one(s) until finishRotation(). Persisted before it takes effect.
   */
  async rotateRoot(): Promise<TrustBundle> {
    this.#requireSelfSigned("rotate the root");
    const now = new Date(this.#clock());
    const signer = await newRoot(this.trustDomain, now, this.#opts.rootTtlSeconds ?? Lifetimes.rootSeconds);
    const bundle = this.#bundle.rotatedTo(signer.chain[0]!);
    await this.#persist(signer.chain[0]!, signer.key, bundle);
    this.#signer = signer;
    this.#setBundle(bundle);
    this.#log.info("CA: root rotation started; new leaves are signed by the new root", { roots: bundle.fingerprints() });
    return bundle;
  }

  /** Ends a rotation: the retiring roots leave the bundle. Leaves they signed stop verifying. */
  async finishRotation(): Promise<TrustBundle> {
    this.#requireSelfSigned("finish a root rotation");
    if (!this.#bundle.rotating) return this.#bundle;
    const bundle = this.#bundle.withoutRetiring();
    await this.#persist(this.#signer.chain[0]!, this.#signer.key, bundle);
    this.#setBundle(bundle);
    this.#log.info("CA: root rotation finished; retiring roots dropped", { roots: bundle.fingerprints() });
    return bundle;
  }

  async #issue(publicKey: x509.PublicKey | CryptoKey, identity: string, dnsNames: readonly string[], ttl?: number): Promise<IssuedCertificate> {
    const signer = this.#signer;
    const nowMs = Math.floor(this.#clock() / 1000) * 1000; // X.509 times have whole seconds
    const ttlSeconds = this.#ttl(identity, ttl);
    const notBefore = new Date(nowMs);
    const notAfter = new Date(Math.min(nowMs + ttlSeconds * 1000, signer.cert.notAfter.getTime()));
    const leaf = await createLeafCertificate({ publicKey, issuer: signer.cert, signingKey: signer.key, uris: [identity], dnsNames, notBefore, notAfter });
    this.#log.info("CA: issued certificate", { identity, serial: leaf.serialNumber, notAfter: notAfter.toISOString() });
    return { identity, certChain: [toPem(leaf), ...signer.chain], serial: leaf.serialNumber, notBefore, notAfter };
  }

  #ttl(identity: string, requested?: number): number {
    const def = this.#opts.defaultTtlSeconds ?? Lifetimes.defaultLeafSeconds;
    const max = this.#opts.maxTtlSeconds ?? Lifetimes.maxLeafSeconds;
    if (requested === undefined || !Number.isFinite(requested) || requested <= 0) return def;
    if (requested > max) {
      this.#log.debug("CA: requested lifetime above the cap; capped", { identity, requestedSeconds: requested, maxSeconds: max });
      return max;
    }
    return Math.floor(requested);
  }

  #checkTrustDomain(identity: string): void {
    const id = parseSpiffeId(identity);
    if (id.trustDomain !== this.trustDomain) {
      throw new PkiError("PermissionDenied", `identity ${identity} is in trust domain "${id.trustDomain}"; this CA issues for "${this.trustDomain}"`);
    }
  }

  #requireSelfSigned(what: string): void {
    if (this.mode !== "self-signed") {
      throw new PkiError("Unsupported", `cannot ${what}: the CA signs with plugged-in certificates`,
        "the operator owns that root: put the new root in root-cert.pem beside the old one, then replace ca-cert.pem/ca-key.pem");
    }
  }

  async #persist(rootPem: string, key: SigningKey, bundle: TrustBundle): Promise<void> {
    if (!this.#opts.stateDir) return;
    await writeRootState(this.#opts.stateDir, { rootCertPem: rootPem, rootKeyPem: key.pem, retiring: bundle.retiring });
  }

  #setBundle(bundle: TrustBundle): void {
    this.#bundle = bundle;
    for (const l of this.#listeners) {
      try {
        l(bundle);
      } catch (e) {
        this.#log.error("CA: trust bundle listener failed", { error: (e as Error).message });
      }
    }
  }
}

async function newRoot(trustDomain: string, now: Date, ttlSeconds: number): Promise<Signer> {
  const { keys, signingKey } = await generateP256();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const cert = await createRootCertificate({ keys, trustDomain, notBefore, notAfter: new Date(notBefore.getTime() + ttlSeconds * 1000) });
  return { cert, key: signingKey, chain: [toPem(cert)] };
}
