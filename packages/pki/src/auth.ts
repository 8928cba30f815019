/**
 * Who may ask the CA for which identity.
 *
 * **Authentication.** A caller proves who it is by either
 * - `authorization: Bearer <token>` metadata, the token listed in the node-credentials file, or
 * - a client certificate on the TLS listener (15012) that chains to the trust bundle: the caller is
 *   then the workload named by the certificate's one SPIFFE URI SAN (certificate renewal). grpc-js
 *   exposes it through `call.getAuthContext().sslPeerCertificate`, set only when the TLS handshake
 *   verified it against the bundle.
 * The first that succeeds wins; if none does, UNAUTHENTICATED lists why each failed.
 *
 * **The node-credentials file** (YAML or JSON; JSON is YAML) maps bearer tokens to callers:
 * ```yaml
 * tokens:
 *   "3f1c...e9":                       # a ztunnel: may impersonate workloads on its node
 *     kind: ztunnel
 *     node: node-a                     # the Kubernetes node name (pod spec.nodeName)
 *     identity: spiffe://cluster.local/ns/istio-system/sa/ztunnel   # optional; this is the default
 *   "sha256:9b74...0c":                # a token given by its SHA-256 (hex), so the file is no secret
 *     kind: workload
 *     identity: spiffe://cluster.local/ns/default/sa/reviews
 * ```
 * Tokens are at least 16 characters (`openssl rand -hex 16` makes a good one). Unknown keys are errors.
 *
 * **Authorization** (Istio's rule, `istio:security/pkg/server/ca/node_auth.go`): without
 * `metadata.ImpersonatedIdentity` a caller gets exactly its own identity. With it, only a ztunnel may
 * ask, and only for an identity of a workload scheduled on its own node. Istio answers every failure
 * here with Unauthenticated; we answer PERMISSION_DENIED once the caller is known, which says more.
 */
import { createHash, X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { parse as parseYaml } from "yaml";
import { PkiError } from "./errors.js";
import { DEFAULT_TRUST_DOMAIN, parseSpiffeId, spiffeUri } from "./spiffe.js";

/** One entry of the node-credentials file. */
export type CredentialEntry =
  | { readonly kind: "ztunnel"; readonly node: string; readonly identity?: string }
  | { readonly kind: "workload"; readonly identity: string };

/** An authenticated caller. */
export type Caller =
  | { readonly kind: "ztunnel"; readonly node: string; readonly identity: string; readonly via: "token" }
  | { readonly kind: "workload"; readonly identity: string; readonly via: "token" | "certificate" };

/** The identities of the workloads scheduled on a node (pods with that spec.nodeName); supplied by the mesh model. */
export type WorkloadsOnNode = (node: string) => Iterable<string> | Promise<Iterable<string>>;

/** The parsed node-credentials file: token digests to entries. */
export class NodeCredentials {
  readonly #byDigest: ReadonlyMap<string, CredentialEntry>;
  /** Where the file came from (for messages). */
  readonly source: string;

  private constructor(byDigest: Map<string, CredentialEntry>, source: string) {
    this.#byDigest = byDigest;
    this.source = source;
  }

  /** No tokens at all: only client certificates can authenticate. */
  static empty(): NodeCredentials {
    return new NodeCredentials(new Map(), "(no node-credentials file)");
  }

  /** Reads and parses a node-credentials file. */
  static async load(path: string): Promise<NodeCredentials> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      throw new PkiError("InvalidCredentials", `cannot read node-credentials file ${path}: ${(e as Error).message}`);
    }
    return NodeCredentials.parse(text, path);
  }

  /** Parses the file's text (YAML or JSON). Throws PkiError("InvalidCredentials") naming the entry and field. */
  static parse(text: string, source = "node-credentials"): NodeCredentials {
    const fail = (msg: string, hint?: string): never => {
      throw new PkiError("InvalidCredentials", `${source}: ${msg}`, hint);
    };
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      fail(`not YAML or JSON: ${(e as Error).message}`);
    }
    if (!isObject(doc)) return fail("expected a mapping with a `tokens` key");
    for (const k of Object.keys(doc)) if (k !== "tokens") fail(`unknown top-level key "${k}"`, "the file holds only `tokens`");
    const tokens = doc.tokens ?? {};
    if (!isObject(tokens)) return fail("`tokens` must map each token to { kind, node | identity }");
    const byDigest = new Map<string, CredentialEntry>();
    let n = 0;
    for (const [token, raw] of Object.entries(tokens)) {
      const at = `tokens entry ${n++} (${redact(token)})`;
      const digest = digestKey(token, (m) => fail(`${at}: ${m}`));
      if (byDigest.has(digest)) fail(`${at}: the same token is listed twice`);
      byDigest.set(digest, parseEntry(raw, (m, h) => fail(`${at}${m}`, h)));
    }
    return new NodeCredentials(byDigest, source);
  }

  /** The entry for a bearer token, if listed. */
  lookup(token: string): CredentialEntry | undefined {
    return this.#byDigest.get(sha256(token));
  }

  /** How many tokens the file lists. */
  get size(): number {
    return this.#byDigest.size;
  }
}

/** Authenticates CA callers from request metadata and the TLS peer certificate. */
export class CallerAuthenticator {
  #credentials: NodeCredentials;
  readonly #trustDomain: string;

  constructor(opts: { credentials?: NodeCredentials; trustDomain?: string } = {}) {
    this.#credentials = opts.credentials ?? NodeCredentials.empty();
    this.#trustDomain = opts.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  }

  /** Replaces the credentials (the file changed); calls in flight keep the old ones. */
  setCredentials(credentials: NodeCredentials): void {
    this.#credentials = credentials;
  }

  /**
   * Authenticates one call. `authorization` holds the values of the `authorization` metadata key;
   * `peerCertificate` the DER of a client certificate the TLS layer verified. Throws
   * PkiError("Unauthenticated") listing each failed way.
   */
  authenticate(input: { authorization: readonly string[]; peerCertificate?: Buffer | undefined }): Caller {
    const failures: string[] = [];
    if (input.authorization.length > 0) {
      const caller = this.#byToken(input.authorization, failures);
      if (caller) return caller;
    } else {
      failures.push("no `authorization: Bearer <token>` metadata");
    }
    if (input.peerCertificate) {
      const caller = this.#byCertificate(input.peerCertificate, failures);
      if (caller) return caller;
    } else {
      failures.push("no verified client certificate");
    }
    throw new PkiError("Unauthenticated", `cannot authenticate the caller: ${failures.join("; ")}`);
  }

  #byToken(values: readonly string[], failures: string[]): Caller | undefined {
    if (values.length > 1) {
      failures.push(`${values.length} authorization headers; send one`);
      return undefined;
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(values[0]!);
    if (!m) {
      failures.push("authorization metadata is not \"Bearer <token>\"");
      return undefined;
    }
    const entry = this.#credentials.lookup(m[1]!);
    if (!entry) {
      failures.push(`unknown bearer token ${redact(m[1]!)} (not in ${this.#credentials.source})`);
      return undefined;
    }
    if (entry.kind === "workload") return { kind: "workload", identity: entry.identity, via: "token" };
    return { kind: "ztunnel", node: entry.node, identity: entry.identity ?? spiffeUri(this.#trustDomain, "istio-system", "ztunnel"), via: "token" };
  }

  #byCertificate(der: Buffer, failures: string[]): Caller | undefined {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch (e) {
      failures.push(`client certificate does not parse: ${(e as Error).message}`);
      return undefined;
    }
    const uris = (cert.subjectAltName ?? "").split(", ").filter((s) => s.startsWith("URI:")).map((s) => s.slice(4));
    if (uris.length !== 1) {
      failures.push(`client certificate has ${uris.length} URI SANs; expected one SPIFFE identity`);
      return undefined;
    }
    try {
      const id = parseSpiffeId(uris[0]!);
      if (id.trustDomain !== this.#trustDomain) {
        failures.push(`client certificate identity ${uris[0]} is not in trust domain "${this.#trustDomain}"`);
        return undefined;
      }
    } catch (e) {
      failures.push(`client certificate: ${(e as Error).message}`);
      return undefined;
    }
    return { kind: "workload", identity: uris[0]!, via: "certificate" };
  }
}

/**
 * The identity `caller` may have a certificate for. `impersonated` is the request's
 * `metadata.ImpersonatedIdentity`, if any. Throws PkiError("PermissionDenied") or ("InvalidIdentity").
 */
export async function authorize(caller: Caller, impersonated: string | undefined, workloadsOnNode?: WorkloadsOnNode): Promise<string> {
  if (impersonated === undefined || impersonated === caller.identity) return caller.identity;
  parseSpiffeId(impersonated);
  if (caller.kind !== "ztunnel") {
    throw new PkiError("PermissionDenied", `${caller.identity} may not ask for a certificate of ${impersonated}`,
      "only node agents (ztunnel entries of the node-credentials file) may set ImpersonatedIdentity; a workload gets its own identity");
  }
  if (!workloadsOnNode) {
    throw new PkiError("PermissionDenied", `ztunnel on node "${caller.node}" may not impersonate ${impersonated}: the CA has no view of which workloads run where`,
      "the control plane must pass workloadsOnNode to the CA service");
  }
  const onNode = new Set(await workloadsOnNode(caller.node));
  if (!onNode.has(impersonated)) {
    throw new PkiError("PermissionDenied", `ztunnel on node "${caller.node}" may not impersonate ${impersonated}: no workload with that identity is scheduled on node "${caller.node}"`,
      "a ztunnel gets certificates only for pods whose spec.nodeName is its own node");
  }
  return impersonated;
}

function parseEntry(raw: unknown, fail: (msg: string, hint?: string) => never): CredentialEntry {
  if (!isObject(raw)) return fail(": expected { kind: ztunnel, node } or { kind: workload, identity }");
  const allowed = raw.kind === "ztunnel" ? ["kind", "node", "identity"] : ["kind", "identity"];
  for (const k of Object.keys(raw)) if (!allowed.includes(k)) fail(`.${k}: unknown field for kind ${String(raw.kind)}`);
  const identity = raw.identity;
  if (identity !== undefined) {
    if (typeof identity !== "string") fail(".identity: must be a string");
    try {
      parseSpiffeId(identity as string);
    } catch (e) {
      fail(`.identity: ${(e as Error).message}`);
    }
  }
  if (raw.kind === "ztunnel") {
    if (typeof raw.node !== "string" || raw.node === "") return fail(".node: required, the Kubernetes node name the ztunnel runs on");
    return identity === undefined ? { kind: "ztunnel", node: raw.node } : { kind: "ztunnel", node: raw.node, identity: identity as string };
  }
  if (raw.kind === "workload") {
    if (identity === undefined) return fail(".identity: required for kind workload");
    return { kind: "workload", identity: identity as string };
  }
  return fail(`.kind: must be "ztunnel" or "workload", not ${JSON.stringify(raw.kind)}`);
}

function digestKey(key: string, fail: (msg: string) => never): string {
  if (key.startsWith("sha256:")) {
    const hex = key.slice(7).toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(hex)) fail("a sha256: key needs 64 hex digits");
    return hex;
  }
  if (key.length < 16) fail("tokens must be at least 16 characters (openssl rand -hex 16)");
  return sha256(key);
}

function sha256(s: string): string {
  return createHash("sha256").update(s, "utf8").digest("hex");
}

/** A token as messages show it: its first 4 characters only. */
function redact(token: string): string {
  return token.startsWith("sha256:") ? `${token.slice(0, 11)}…` : `${token.slice(0, 4)}…`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
