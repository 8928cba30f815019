// Workload certificates: fetched for the workloads on this node (ztunnel src/cert_fetcher.rs), kept
// per identity, renewed at half-life (pki rotationTime), and announced so TLS contexts are rebuilt.
// Live connections keep the certificate they were made with; only new sessions use the new one.
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { rotationTime, splitPem, type CaClient } from "@waystation/pki";
import { parseIdentity, silentLogger, type Logger } from "./types.js";

/** A workload's certificate and key. */
export interface WorkloadCertificate {
  readonly identity: string;
  /** PEMs, leaf first; the last is (or leads to) a root. */
  readonly certChain: readonly string[];
  readonly privateKeyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly serial: string;
}

/** Where certificates come from: the CA (impersonating), local files, or a test's own CA. */
export interface CertificateSource {
  fetch(identity: string): Promise<WorkloadCertificate>;
  close?(): void;
}

/** Certificates from Istio's CreateCertificate, with ImpersonatedIdentity (what ztunnel does). */
export function caCertificateSource(client: CaClient, opts: { trustBundlePem?: string; ttlSeconds?: number } = {}): CertificateSource {
  return {
    fetch: (identity) => client.fetchCertificate({ identity, impersonate: true, ...(opts.ttlSeconds ? { ttlSeconds: opts.ttlSeconds } : {}) }, opts.trustBundlePem),
    close: () => client.close(),
  };
}

/** Certificates from files: `<dir>/<namespace>/<serviceAccount>/{cert-chain.pem,key.pem}` (local mode). */
export function fileCertificateSource(dir: string): CertificateSource {
  return {
    async fetch(identity) {
      const id = parseIdentity(identity);
      if (!id) throw new Error(`cannot map ${identity} to a certificate directory`);
      const base = join(dir, id.namespace, id.serviceAccount);
      const [chainPem, key] = await Promise.all([readFile(join(base, "cert-chain.pem"), "utf8"), readFile(join(base, "key.pem"), "utf8")]);
      return fromPem(identity, splitPem(chainPem), key);
    },
  };
}

/** A WorkloadCertificate from PEMs (reads validity and serial from the leaf). */
export function fromPem(identity: string, certChain: readonly string[], privateKeyPem: string): WorkloadCertificate {
  const leaf = new X509Certificate(certChain[0] ?? "");
  return { identity, certChain, privateKeyPem, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo), serial: leaf.serialNumber };
}

/** What changed: one identity's certificate, or (identity undefined) the trust bundle. */
export type CertListener = (identity: string | undefined) => void;

/** Options of the manager. */
export interface CertManagerOptions {
  readonly source: CertificateSource;
  /** The roots peers must chain to; default: the last certificate of every fetched chain. */
  readonly trustBundlePem?: string;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** First retry delay after a failed fetch (doubles up to a minute). Default 1 s. */
  readonly retryMs?: number;
}

interface Entry {
  cert?: WorkloadCertificate;
  inflight?: Promise<WorkloadCertificate>;
  timer?: NodeJS.Timeout;
  failures: number;
}

/** Holds, renews and announces the certificates of the identities this ztunnel serves. */
export class CertManager {
  readonly #opts: CertManagerOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #listeners = new Set<CertListener>();
  readonly #roots = new Set<string>();
  #closed = false;

  constructor(opts: CertManagerOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#now = opts.now ?? Date.now;
    for (const r of splitPem(opts.trustBundlePem ?? "")) this.#roots.add(r);
  }

  /** Subscribes to certificate and bundle changes; returns the unsubscribe function. */
  onChange(listener: CertListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The roots peers must chain to, as one PEM text. */
  trustBundle(): string {
    return [...this.#roots].join("");
  }

  /** The current certificate of `identity`, if fetched. */
  current(identity: string): WorkloadCertificate | undefined {
    return this.#entries.get(identity)?.cert;
  }

  /** The certificate of `identity`: the current one, or a fetch (shared with concurrent callers). */
  get(identity: string): Promise<WorkloadCertificate> {
    let e = this.#entries.get(identity);
    if (!e) this.#entries.set(identity, (e = { failures: 0 }));
    if (e.cert && e.cert.notAfter.getTime() > this.#now()) return Promise.resolve(e.cert);
    return e.inflight ?? this.#fetch(identity, e);
  }

  /** Keeps exactly these identities (the local workloads'): fetches the new ones, forgets the rest. */
  retain(identities: Iterable<string>): Promise<unknown> {
    const want = new Set(identities);
    for (const [id, e] of this.#entries) {
      if (want.has(id)) continue;
      clearTimeout(e.timer);
      this.#entries.delete(id);
    }
    return Promise.allSettled([...want].map((id) => this.get(id)));
  }

  /** Renews `identity` now (operators, tests); the old certificate stays in use until the new one arrives. */
  rotate(identity: string): Promise<WorkloadCertificate> {
    let e = this.#entries.get(identity);
    if (!e) this.#entries.set(identity, (e = { failures: 0 }));
    return e.inflight ?? this.#fetch(identity, e);
  }

  /** Certificates held, for `/config_dump`. */
  dump(): { identity: string; serial: string; notBefore: string; notAfter: string; rotatesAt: string }[] {
    return [...this.#entries.values()].flatMap((e) => (e.cert ? [{
      identity: e.cert.identity, serial: e.cert.serial, notBefore: e.cert.notBefore.toISOString(), notAfter: e.cert.notAfter.toISOString(),
      rotatesAt: new Date(rotationTime(e.cert)).toISOString(),
    }] : [])).sort((a, b) => a.identity.localeCompare(b.identity));
  }

  /** Stops renewals. */
  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) clearTimeout(e.timer);
    this.#opts.source.close?.();
  }

  #fetch(identity: string, e: Entry): Promise<WorkloadCertificate> {
    clearTimeout(e.timer);
    const p = this.#opts.source.fetch(identity).then((cert) => {
      if (this.#entries.get(identity) !== e || this.#closed) return cert;
      e.inflight = undefined;
      e.failures = 0;
      const first = e.cert === undefined;
      e.cert = cert;
      const bundleChanged = this.#learnRoot(cert);
      this.#schedule(identity, e, rotationTime(cert) - this.#now());
      this.#log.info(first ? "certificate fetched" : "certificate rotated", { identity, serial: cert.serial, notAfter: cert.notAfter.toISOString() });
      if (bundleChanged) this.#emit(undefined);
      this.#emit(identity);
      return cert;
    }, (err: unknown) => {
      e.inflight = undefined;
      if (this.#entries.get(identity) === e && !this.#closed) {
        const delay = Math.min(60_000, (this.#opts.retryMs ?? 1000) * 2 ** e.failures++);
        this.#log.warn("certificate fetch failed; retrying", { identity, retryInMs: delay, error: (err as Error).message ?? String(err) });
        this.#schedule(identity, e, delay);
      }
      throw err;
    });
    e.inflight = p;
    return p;
  }

  #schedule(identity: string, e: Entry, delayMs: number): void {
    clearTimeout(e.timer);
    if (this.#closed) return;
    // setTimeout holds at most 2^31-1 ms (24.8 days): wake up early and re-check.
    const delay = Math.max(0, Math.min(delayMs, 2 ** 31 - 1));
    e.timer = setTimeout(() => {
      if (e.cert && rotationTime(e.cert) > this.#now() + 1000) return this.#schedule(identity, e, rotationTime(e.cert) - this.#now());
      this.#fetch(identity, e).catch(() => {});
    }, delay);
    e.timer.unref();
  }

  /** Without a configured bundle, the roots come from the chains (the CA's answer ends with its root). */
  #learnRoot(cert: WorkloadCertificate): boolean {
    if (this.#opts.trustBundlePem !== undefined) return false;
    const root = cert.certChain[cert.certChain.length - 1];
    if (root === undefined || this.#roots.has(root)) return false;
    this.#roots.add(root);
    return this.#roots.size > 1;
  }

  #emit(identity: string | undefined): void {
    for (const l of this.#listeners) {
      try {
        l(identity);
      } catch (err) {
        this.#log.error("certificate listener failed", { identity, error: (err as Error).message });
      }
    }
  }
}
