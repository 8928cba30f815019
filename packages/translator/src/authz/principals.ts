/**
 * The "who" side of an authorization rule as Envoy RBAC principals: the peer identity, namespace
 * and service account (from the filter state connect_terminate writes), client IPs, request
 * headers and the JWT that jwt_authn validated.
 *
 * Peer identity: the waypoint's inner chains run over an internal connection without TLS, so
 * `authenticated` would see nothing. connect_terminate copies the HBONE client certificate's URI
 * SAN into the filter state `io.istio.peer_principal` (istio-ambient.md §6.2, §6.4), and Istio's
 * waypoint RBAC matches that with a filter_state matcher; so do we.
 *
 * JWT: Istio (1.22+, "extended JWT") reads claims from jwt_authn's own dynamic metadata, not
 * from its istio_authn filter. The JWT translator (../authn/jwt.ts) sets `payload_in_metadata:
 * "payload"` on every provider from {@link jwtPayloadMetadata}, so a validated token's claims
 * appear under the metadata namespace `envoy.filters.http.jwt_authn`, key `payload`
 * (`payload.iss`, `payload.sub`, `payload.aud`, `payload.azp`, `payload.<claim>.<nested>` ...),
 * with `scope` and `permission` split into lists.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PrincipalSchema } from "@waystation/proto/envoy/config/rbac/v3/rbac_pb.js";
import { filterState } from "../waypoint/connectTerminate.js";
import {
  anyValue, cidr, exact, header, metadata, nonEmpty, prefix, quoteRegex, regex, stringOrListValue, stringValue, suffix, wildcard,
  type StringMatcherInit,
} from "./matchers.js";

/** Init shape of envoy.config.rbac.v3.Principal. */
export type PrincipalInit = MessageInitShape<typeof PrincipalSchema>;

/** Where jwt_authn puts the validated payload: filter namespace and key (see the file comment). */
export const jwtPayloadMetadata = { filter: "envoy.filters.http.jwt_authn", key: "payload" } as const;

/** Matches every downstream. */
export const anyPrincipal = (): PrincipalInit => ({ identifier: { case: "any", value: true } });
/** Matches what `p` does not. */
export const notPrincipal = (p: PrincipalInit): PrincipalInit => ({ identifier: { case: "notId", value: p } });
/** AND of `ids`; a single id stands for itself and none means any. */
export function allPrincipals(ids: PrincipalInit[]): PrincipalInit {
  if (ids.length === 0) return anyPrincipal();
  return ids.length === 1 ? ids[0]! : { identifier: { case: "andIds", value: { ids } } };
}
/** OR of `ids` (at least one). */
export function somePrincipal(ids: PrincipalInit[]): PrincipalInit {
  return ids.length === 1 ? ids[0]! : { identifier: { case: "orIds", value: { ids } } };
}

/** The HBONE peer's SPIFFE URI, from filter state. */
export function peer(m: StringMatcherInit): PrincipalInit {
  return { identifier: { case: "filterState", value: { key: filterState.peerPrincipal, matcher: { case: "stringMatch", value: m } } } };
}

/**
 * A `principals` value (`cluster.local/ns/a/sa/b`, with `*` wildcards). Istio compares against
 * `spiffe://` + value; a value written with the scheme is accepted too. A value in the default
 * trust domain `cluster.local` also matches the mesh's real trust domain, as Istio's trust-domain
 * aliasing does.
 */
export function principalValue(v: string, trustDomain: string): PrincipalInit {
  const value = v.startsWith("spiffe://") ? v.slice("spiffe://".length) : v;
  const alias = trustDomain !== "cluster.local" && value.startsWith("cluster.local/") ? `${trustDomain}/${value.slice("cluster.local/".length)}` : undefined;
  return alias === undefined ? peer(wildcard(value, "spiffe://")) : somePrincipal([peer(wildcard(value, "spiffe://")), peer(wildcard(alias, "spiffe://"))]);
}

/** A `namespaces` value (with `*` wildcards) as a regex over the peer's SPIFFE URI. */
export function namespaceValue(v: string): PrincipalInit {
  const ns = v.split("*").map(quoteRegex).join("[^/]*");
  return peer(regex(`spiffe://[^/]+/ns/${ns}/sa/[^/]+`));
}

/** A `serviceAccounts` value `<namespace>/<name>` as a regex over the peer's SPIFFE URI. */
export function serviceAccountValue(v: string): PrincipalInit {
  const [ns = "", sa = ""] = v.split("/");
  return peer(regex(`spiffe://[^/]+/ns/${quoteRegex(ns)}/sa/${quoteRegex(sa)}`));
}

/** ipBlocks / source.ip: the real client, which original_dst restored on the inner connection. */
export const directRemoteIp = (v: string): PrincipalInit => ({ identifier: { case: "directRemoteIp", value: cidr(v) } });
/**
 * remoteIpBlocks / remote.ip: the client as the HCM derives it. The waypoint chains' HCM has
 * use_remote_address false, so that is the last x-forwarded-for address when the header is
 * present (Istio's meaning of remoteIpBlocks), else the real client.
 */
export const remoteIp = (v: string): PrincipalInit => ({ identifier: { case: "remoteIp", value: cidr(v) } });
/** request.headers[name]. */
export const requestHeader = (name: string, v: string): PrincipalInit => ({ identifier: { case: "header", value: header(name, v) } });

/** A claim of the validated JWT at `path` (below `payload`) matching `m`. */
function claim(path: readonly string[], m: StringMatcherInit): PrincipalInit {
  return { identifier: { case: "metadata", value: metadata(jwtPayloadMetadata.filter, [jwtPayloadMetadata.key, ...path], stringValue(m)) } };
}

/**
 * Claims (`request.auth.claims[groups]`, `audiences`, `presenter`): any of `values`, where the
 * claim may be a string or a list of strings (Istio's MetadataListValueMatcherForJWTClaims).
 * Claims of other JSON types (numbers, booleans) never match a string value.
 */
export function claimValues(path: readonly string[], values: readonly string[]): PrincipalInit {
  const m = anyValue(values.map((v) => stringValue(wildcard(v))));
  return { identifier: { case: "metadata", value: metadata(jwtPayloadMetadata.filter, [jwtPayloadMetadata.key, ...path], stringOrListValue(m)) } };
}

const orAny = (s: string, make: (x: string) => StringMatcherInit) => (s === "" ? nonEmpty() : make(s));

/**
 * A `requestPrincipals` value, which Istio defines as `<iss>/<sub>` of the validated JWT. Envoy
 * can only match iss and sub separately, and issuers contain `/` (URLs) as do some subjects
 * (GitHub Actions: `repo:org/repo:ref:refs/heads/main`). Istio splits the value at its last `/`,
 * which misreads the latter. Here every `/` is tried as the separator, so the result matches
 * exactly the tokens whose `iss + "/" + sub` matches the value:
 * - `I/S` exact: for each `/` at k, iss = v[..k] and sub = v[k+1..];
 * - `P*` prefix: iss starts with P, or for each `/` at k, iss = P[..k] and sub starts with P[k+1..];
 * - `*S` suffix: sub ends with S, or for each `/` at k, sub = S[k+1..] and iss ends with S[..k];
 * - `*`: any token with a non-empty iss and sub.
 * Both iss and sub must be non-empty strings, as for Istio's `*`. The slashes of a URL scheme's
 * `://` are not tried: no issuer is `https:`.
 */
export function requestPrincipalValue(v: string): PrincipalInit {
  const both = (iss: StringMatcherInit, sub: StringMatcherInit) => allPrincipals([claim(["iss"], iss), claim(["sub"], sub)]);
  // Every "/" except those of a URL scheme's "://": no issuer is "https:" or "https:/".
  const slashes = (s: string) => [...s].flatMap((c, i) => (c === "/" && s.slice(i - 1, i + 2) !== "://" && s.slice(i - 2, i + 1) !== "://" ? [i] : [])).reverse();
  if (v === "*") return both(nonEmpty(), nonEmpty());
  const alts: PrincipalInit[] = [];
  if (v.endsWith("*")) {
    const p = v.slice(0, -1);
    alts.push(both(prefix(p), nonEmpty()));
    for (const k of slashes(p)) if (k > 0) alts.push(both(exact(p.slice(0, k)), orAny(p.slice(k + 1), (s) => prefix(s))));
  } else if (v.startsWith("*")) {
    const s = v.slice(1);
    alts.push(both(nonEmpty(), suffix(s)));
    for (const k of slashes(s)) if (k < s.length - 1) alts.push(both(orAny(s.slice(0, k), (x) => suffix(x)), exact(s.slice(k + 1))));
  } else {
    for (const k of slashes(v)) if (k > 0 && k < v.length - 1) alts.push(both(exact(v.slice(0, k)), exact(v.slice(k + 1))));
  }
  // A value with no usable "/" can never equal "<iss>/<sub>": match nothing.
  return alts.length === 0 ? notPrincipal(anyPrincipal()) : somePrincipal(alts);
}
