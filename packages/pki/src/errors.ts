// The one error type of the package. `kind` says which gRPC status a caller gets (service.ts maps
// it) and the message says what to check, with the hint folded in.

/** What went wrong, coarsely: decides the gRPC status of a CreateCertificate failure. */
export type PkiErrorKind =
  /** A string that is not a `spiffe://<td>/ns/<ns>/sa/<sa>` identity. */
  | "InvalidIdentity"
  /** The CSR cannot be read, its signature is bad, or its key is not ECDSA P-256. */
  | "InvalidCsr"
  /** Another field of a request is malformed (metadata, TTL type). */
  | "InvalidRequest"
  /** No usable credentials: missing or unknown bearer token, no verified client certificate. */
  | "Unauthenticated"
  /** Authenticated, but not allowed this identity (impersonation, CSR SAN, trust domain). */
  | "PermissionDenied"
  /** The CA's own material is unusable (plugged-in files, state directory). */
  | "InvalidCa"
  /** The node-credentials file does not parse or has a bad entry. */
  | "InvalidCredentials"
  /** An operation this CA mode cannot do (rotating a root the operator owns). */
  | "Unsupported";

/** An error of this package; `message` already carries the hint. */
export class PkiError extends Error {
  override readonly name = "PkiError";
  constructor(readonly kind: PkiErrorKind, message: string, readonly hint?: string) {
    super(hint ? `${message} (${hint})` : message);
  }
}

/** Whether `e` is a PkiError (optionally of one kind). */
export function isPkiError(e: unknown, kind?: PkiErrorKind): e is PkiError {
  return e instanceof PkiError && (kind === undefined || e.kind === kind);
}
