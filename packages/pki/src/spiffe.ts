// SPIFFE identities in Istio's shape: spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>
// (istio-ambient.md §2). Parsing is strict, because the string is compared byte for byte with
// certificate SANs by ztunnel and by the CA: a second spelling of the same identity would be a bug.
import { PkiError } from "./errors.js";

/** A workload identity: trust domain, Kubernetes namespace and service account. */
export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** Istio's default trust domain (`DEFAULT_TRUST_DOMAIN`). */
export const DEFAULT_TRUST_DOMAIN = "cluster.local";

const PREFIX = "spiffe://";
// SPIFFE-ID spec §2.1: lowercase letters, digits, dots, dashes and underscores.
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
// Kubernetes: a namespace is a DNS-1123 label, a service account a DNS-1123 subdomain.
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Formats an identity; the parts are checked, so the result always parses back. */
export function formatSpiffeId(id: SpiffeId): string {
  checkTrustDomain(id.trustDomain, id.trustDomain);
  checkNamespace(id.namespace, id.namespace);
  checkServiceAccount(id.serviceAccount, id.serviceAccount);
  return `${PREFIX}${id.trustDomain}/ns/${id.namespace}/sa/${id.serviceAccount}`;
}

/** The identity string of a service account: `spiffe://<td>/ns/<ns>/sa/<sa>`. */
export function spiffeUri(trustDomain: string, namespace: string, serviceAccount: string): string {
  return formatSpiffeId({ trustDomain, namespace, serviceAccount });
}

/** Parses `spiffe://<td>/ns/<ns>/sa/<sa>` strictly; throws PkiError("InvalidIdentity") with a hint. */
export function parseSpiffeId(uri: string): SpiffeId {
  const bad = (why: string, hint?: string): never => {
    throw new PkiError("InvalidIdentity", `invalid SPIFFE identity "${uri}": ${why}`,
      hint ?? "expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>");
  };
  if (typeof uri !== "string" || uri.length === 0) bad("empty");
  if (!uri.startsWith(PREFIX)) {
    bad(uri.toLowerCase().startsWith(PREFIX) ? "the scheme must be lowercase \"spiffe\"" : "it does not start with spiffe://");
  }
  if (/[?#%\s]/.test(uri)) bad("query strings, fragments, percent-encoding and whitespace are not allowed");
  const rest = uri.slice(PREFIX.length);
  const slash = rest.indexOf("/");
  if (slash < 0) bad("no path after the trust domain");
  const trustDomain = rest.slice(0, slash);
  checkTrustDomain(trustDomain, uri);
  const parts = rest.slice(slash + 1).split("/");
  if (parts.length !== 4 || parts[0] !== "ns" || parts[2] !== "sa") {
    bad(`path "/${parts.join("/")}" is not /ns/<namespace>/sa/<service-account>`);
  }
  const namespace = parts[1]!;
  const serviceAccount = parts[3]!;
  checkNamespace(namespace, uri);
  checkServiceAccount(serviceAccount, uri);
  return { trustDomain, namespace, serviceAccount };
}

/** Whether `uri` is a well-formed identity. */
export function isSpiffeId(uri: string): boolean {
  try {
    parseSpiffeId(uri);
    return true;
  } catch {
    return false;
  }
}

function checkTrustDomain(td: string, whole: string): void {
  if (td.length === 0) throw invalid(whole, "empty trust domain");
  if (td.length > 255) throw invalid(whole, "trust domain longer than 255 characters");
  if (td !== td.toLowerCase()) throw invalid(whole, `trust domain "${td}" must be lowercase`);
  if (td.includes(":") || td.includes("@")) throw invalid(whole, `trust domain "${td}" may not carry a port or user info`);
  if (!TRUST_DOMAIN.test(td)) throw invalid(whole, `trust domain "${td}" may only hold a-z, 0-9, ".", "-" and "_"`);
}

function checkNamespace(ns: string, whole: string): void {
  if (ns.length === 0) throw invalid(whole, "empty namespace");
  if (ns.length > 63 || !DNS_LABEL.test(ns)) {
    throw invalid(whole, `namespace "${ns}" is not a DNS-1123 label (lowercase a-z, 0-9 and "-", at most 63)`);
  }
}

function checkServiceAccount(sa: string, whole: string): void {
  if (sa.length === 0) throw invalid(whole, "empty service account");
  if (sa.length > 253 || !DNS_SUBDOMAIN.test(sa)) {
    throw invalid(whole, `service account "${sa}" is not a DNS-1123 subdomain (lowercase a-z, 0-9, "-" and ".")`);
  }
}

function invalid(uri: string, why: string): PkiError {
  return new PkiError("InvalidIdentity", `invalid SPIFFE identity "${uri}": ${why}`);
}
