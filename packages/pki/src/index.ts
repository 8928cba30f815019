// @waystation/pki: SPIFFE identities, the CA, the IstioCertificateService/CreateCertificate
// service, SDS secrets. See README.md for modes, files and the node-credentials format.
export { silentLogger, systemClock } from "./types.js";
export type { Clock, Logger } from "./types.js";
export { PkiError, isPkiError } from "./errors.js";
export type { PkiErrorKind } from "./errors.js";
export { DEFAULT_TRUST_DOMAIN, formatSpiffeId, isSpiffeId, parseSpiffeId, spiffeUri } from "./spiffe.js";
export type { SpiffeId } from "./spiffe.js";
export { normalizePem, splitPem } from "./certs.js";
export { checkCsr, createCsr } from "./csr.js";
export type { CheckedCsr, KeyAndCsr } from "./csr.js";
export { CertificateAuthority, Lifetimes } from "./ca.js";
export type { BundleListener, CaMode, CaOptions, IssuedCertificate, IssuedKeyPair } from "./ca.js";
export { PluggedFiles, StateFiles } from "./caFiles.js";
export { TrustBundle, fingerprint } from "./trustBundle.js";
export { CallerAuthenticator, NodeCredentials, authorize } from "./auth.js";
export type { Caller, CredentialEntry, WorkloadsOnNode } from "./auth.js";
export { CaService, IMPERSONATED_IDENTITY, startCaServer } from "./service.js";
export type { CallCredentials, CaServer, CaServerOptions, CaServiceOptions } from "./service.js";
export { DEFAULT_SERVER_DNS_NAMES, ServingCertificate } from "./serverCert.js";
export type { ServingCertificateOptions } from "./serverCert.js";
export { CaClient } from "./client.js";
export type { CaClientOptions, FetchRequest } from "./client.js";
export { SdsNames, issueForWaypoint, proxySecrets, tlsCertificateSecret, validationContextSecret } from "./sds.js";
export type { KeyAndChain } from "./sds.js";
export { rotationDue, rotationTime } from "./rotation.js";
export type { Validity } from "./rotation.js";
export { verifyChain, uriSan } from "./verify.js";
export type { ChainVerdict } from "./verify.js";
