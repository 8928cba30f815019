import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import type { LoadedResource } from "@waystation/api";
import { ClusterSchema, type Cluster } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { HttpFilterSchema, type HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { buildModel } from "../../../model/src/build.js";
import { namespace, pod, resource, service, waypointGateway } from "../../../model/src/testing.js";
import { jwtPayloadMetadata } from "../authz/index.js";
import { validateResource } from "../validate/index.js";
import { registry } from "../validate/registry.js";
import {
  jwksTarget, jwtAuthnFilter, jwtNames, jwtRequirement, requestAuthenticationConditions, requestAuthenticationFor, requestAuthenticationsFor,
  securityFor, securityHttpFilters, unusableJwks,
} from "./index.js";

const opts = { registry, useProtoFieldName: true } as const;
const ra = (name: string, jwtRules: unknown[], extra: object = {}, ns = "shop") => resource("RequestAuthentication", ns, name, { jwtRules, ...extra });
function filterJson(f: HttpFilter | undefined): Record<string, JsonValue> {
  assert.ok(f, "a jwt_authn filter");
  assert.deepEqual(validateResource(HttpFilterSchema, f).errors, [], "the filter passes the strict validator");
  return toJson(HttpFilterSchema, f, opts) as Record<string, JsonValue>;
}
function clustersJson(cs: Cluster[]): JsonValue[] {
  for (const c of cs) assert.deepEqual(validateResource(ClusterSchema, c).errors, [], c.name);
  return cs.map((c) => toJson(ClusterSchema, c, opts));
}
const cfgOf = (f: HttpFilter | undefined) => filterJson(f).typed_config as Record<string, JsonValue>;
const messages = (cs: { reason: string; message: string }[]) => cs.map((c) => `${c.reason}: ${c.message}`);

const issuer = "https://issuer.example.com";
const jwksUri = "https://issuer.example.com/.well-known/jwks.json";
const defaults = {
  payload_in_metadata: "payload",
  normalize_payload_in_metadata: { space_delimited_claims: ["permission", "scope"] },
  clear_route_cache: true,
};

describe("RequestAuthentication -> Envoy jwt_authn", () => {
  it("renders one rule as Istio does: provider, remote key set, requires_any [provider, allow_missing]", () => {
    const r = jwtAuthnFilter([ra("jwt", [{
      issuer, jwksUri, audiences: ["shop", "web"], timeout: "2s",
      fromHeaders: [{ name: "x-jwt", prefix: "Token " }], fromParams: ["token"], fromCookies: ["session"],
      forwardOriginalToken: true, outputPayloadToHeader: "x-jwt-payload", outputClaimToHeaders: [{ header: "x-sub", claim: "sub" }, { header: "x-role", claim: "org.role" }],
    }])]);
    assert.deepEqual(r.conditions, []);
    const name = "origins-ns[shop]-policy[jwt]-rule[0]";
    assert.deepEqual(filterJson(r.filter), {
      name: "envoy.filters.http.jwt_authn",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        providers: {
          [name]: {
            issuer, audiences: ["shop", "web"],
            remote_jwks: { http_uri: { uri: jwksUri, cluster: "outbound|443||issuer.example.com", timeout: "2s" }, cache_duration: "300s" },
            forward: true,
            from_headers: [{ name: "x-jwt", value_prefix: "Token " }], from_params: ["token"], from_cookies: ["session"],
            forward_payload_header: "x-jwt-payload",
            claim_to_headers: [{ header_name: "x-sub", claim_name: "sub" }, { header_name: "x-role", claim_name: "org.role" }],
            ...defaults,
          },
        },
        rules: [{ match: { prefix: "/" }, requires: { requires_any: { requirements: [{ provider_name: name }, { allow_missing: {} }] } } }],
        bypass_cors_preflight: true,
      },
    });
    assert.deepEqual(clustersJson(r.clusters), [{
      name: "outbound|443||issuer.example.com",
      type: "LOGICAL_DNS",
      connect_timeout: "10s",
      dns_lookup_family: "V4_PREFERRED",
      load_assignment: {
        cluster_name: "outbound|443||issuer.example.com",
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "issuer.example.com", port_value: 443 } } } }] }],
      },
      transport_socket: {
        name: "envoy.transport_sockets.tls",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
          sni: "issuer.example.com",
          common_tls_context: {
            validation_context: {
              trusted_ca: { filename: "/etc/ssl/certs/ca-certificates.crt" },
              match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "issuer.example.com" } }],
            },
          },
        },
      },
    }]);
  });

  it("keeps the metadata key RBAC reads and the filter name in one place", () => {
    assert.equal(jwtNames.httpFilter, jwtPayloadMetadata.filter);
    const cfg = cfgOf(jwtAuthnFilter([ra("jwt", [{ issuer, jwks: unusableJwks }])]).filter);
    for (const p of Object.values(cfg.providers as Record<string, Record<string, JsonValue>>)) assert.equal(p.payload_in_metadata, jwtPayloadMetadata.key);
  });

  it("merges every policy's rules into one config, sorted by issuer, with Istio's OR-of-AND requirement", () => {
    const r = jwtAuthnFilter([
      ra("b", [{ issuer: "https://z.example.com", jwksUri: "https://z.example.com/keys" }]),
      ra("a", [{ issuer: "https://m.example.com", jwksUri: "https://keys.example.com:8443/m" }, { issuer: "https://a.example.com", jwksUri: "https://keys.example.com:8443/a" }]),
    ]);
    const cfg = cfgOf(r.filter);
    const [a1, a0, b0] = ["origins-ns[shop]-policy[a]-rule[1]", "origins-ns[shop]-policy[a]-rule[0]", "origins-ns[shop]-policy[b]-rule[0]"];
    assert.deepEqual(Object.keys(cfg.providers as object).sort(), [a0, a1, b0].sort());
    const any = (n: string) => ({ requires_any: { requirements: [{ provider_name: n }, { allow_missing: {} }] } });
    assert.deepEqual(cfg.rules, [{
      match: { prefix: "/" },
      requires: {
        requires_any: {
          requirements: [
            { provider_name: a1 }, { provider_name: a0 }, { provider_name: b0 },
            { requires_all: { requirements: [any(a1), any(a0), any(b0)] } },
          ],
        },
      },
    }]);
    // Two distinct hosts/ports -> two clusters, sorted; the shared host:port is one cluster.
    assert.deepEqual(r.clusters.map((c) => c.name), ["outbound|443||z.example.com", "outbound|8443||keys.example.com"]);
    clustersJson(r.clusters);
  });

  it("is deterministic: policy order does not change the output", () => {
    const ps = [ra("b", [{ issuer: "i2", jwks: unusableJwks }]), ra("a", [{ issuer: "i1", jwks: unusableJwks }, { issuer: "i0", jwksUri }])];
    const one = JSON.stringify(filterJson(jwtAuthnFilter(ps).filter));
    assert.equal(JSON.stringify(filterJson(jwtAuthnFilter([...ps].reverse()).filter)), one);
  });

  it("exports the requirement builder for one and several providers", () => {
    assert.deepEqual(jwtRequirement(["p"]), { requiresType: { case: "requiresAny", value: { requirements: [{ requiresType: { case: "providerName", value: "p" } }, { requiresType: { case: "allowMissing", value: {} } }] } } });
    assert.equal(jwtRequirement(["p", "q"]).requiresType?.case, "requiresAny");
  });

  it("inlines a jwks key set and builds no cluster for it", () => {
    const jwks = JSON.stringify({ keys: [{ kty: "EC", crv: "P-256", x: "AAAA", y: "AAAA" }] });
    const r = jwtAuthnFilter([ra("jwt", [{ issuer, jwks }])]);
    const p = Object.values(cfgOf(r.filter).providers as Record<string, Record<string, JsonValue>>)[0]!;
    assert.deepEqual(p.local_jwks, { inline_string: jwks });
    assert.deepEqual(r.clusters, []);
  });

  it("fetches an http key set without TLS and warns; an IP literal gets a STATIC cluster without SNI", () => {
    const r = jwtAuthnFilter([ra("jwt", [{ issuer: "i1", jwksUri: "http://keys.example.com/jwks" }, { issuer: "i2", jwksUri: "https://10.0.0.5:8443/jwks" }, { issuer: "i3", jwksUri: "https://[fd00::5]/jwks" }])]);
    const json = clustersJson(r.clusters) as Record<string, JsonValue>[];
    assert.deepEqual(json.map((c) => [c.name, c.type ?? "STATIC", (c.transport_socket as { typed_config?: { sni?: string } } | undefined)?.typed_config?.sni ?? "-"]), [
      ["outbound|443||fd00::5", "STATIC", "-"],
      ["outbound|80||keys.example.com", "LOGICAL_DNS", "-"],
      ["outbound|8443||10.0.0.5", "STATIC", "-"],
    ]);
    assert.equal(json[1]!.transport_socket, undefined);
    const ipTls = (json[2]!.transport_socket as { typed_config: { common_tls_context: { validation_context: JsonValue } } }).typed_config.common_tls_context.validation_context;
    assert.deepEqual((ipTls as { match_typed_subject_alt_names: JsonValue }).match_typed_subject_alt_names, [{ san_type: "IP_ADDRESS", matcher: { exact: "10.0.0.5" } }]);
    assert.deepEqual(messages(r.conditions), [
      "InsecureJwksUri: spec.jwtRules[0].jwksUri: the key set is fetched over plain HTTP, so anyone on the path can substitute keys and forge tokens; serve it over https",
    ]);
  });

  it("fails closed, with a condition, when a rule's key set cannot be used", () => {
    const r = jwtAuthnFilter([ra("jwt", [{ issuer: "i1" }, { issuer: "i2", jwksUri: "https://user:pw@keys.example.com/jwks" }])]);
    const ps = cfgOf(r.filter).providers as Record<string, Record<string, JsonValue>>;
    for (const p of Object.values(ps)) assert.deepEqual(p.local_jwks, { inline_string: unusableJwks });
    assert.deepEqual(r.clusters, []);
    // Conditions come sorted by policy, status, reason and message.
    assert.deepEqual(r.conditions.map((c) => [c.status, c.reason]), [["False", "InvalidJwksUri"], ["False", "MissingJwks"]]);
    assert.match(r.conditions[1]!.message, /^spec\.jwtRules\[0\]\.jwksUri: neither jwksUri nor jwks is set\. .*tokens from issuer "i1" are rejected until that is fixed \(requests without a token still pass\)$/);
    assert.match(r.conditions[0]!.message, /^spec\.jwtRules\[1\]\.jwksUri: .* carries credentials/);
    // The stand-in key set is a real JWKS with one RSA key.
    assert.equal((JSON.parse(unusableJwks) as { keys: { kty: string }[] }).keys[0]!.kty, "RSA");
  });

  it("parses jwksUri hosts and ports", () => {
    assert.deepEqual(jwksTarget("https://a.example.com/x"), { host: "a.example.com", port: 443, tls: true, ip: false, cluster: "outbound|443||a.example.com" });
    assert.deepEqual(jwksTarget("http://a.example.com:8080/x?y=1"), { host: "a.example.com", port: 8080, tls: false, ip: false, cluster: "outbound|8080||a.example.com" });
    assert.match(JSON.stringify(jwksTarget("https://a:0/")), /port 0/);
    assert.match(JSON.stringify(jwksTarget("ftp://a/")), /not an http/);
  });

  it("drops pseudo-headers from outputPayloadToHeader and outputClaimToHeaders, with conditions", () => {
    const r = jwtAuthnFilter([ra("jwt", [{ issuer, jwks: unusableJwks, outputPayloadToHeader: ":path", outputClaimToHeaders: [{ header: ":authority", claim: "aud" }, { header: "x-ok", claim: "sub" }] }])]);
    const p = Object.values(cfgOf(r.filter).providers as Record<string, Record<string, JsonValue>>)[0]!;
    assert.equal(p.forward_payload_header, undefined);
    assert.deepEqual(p.claim_to_headers, [{ header_name: "x-ok", claim_name: "sub" }]);
    assert.deepEqual(r.conditions.map((c) => c.message), [
      'spec.jwtRules[0].outputClaimToHeaders[0].header: ":authority" is an HTTP/2 pseudo-header, which jwt_authn cannot add; the header is not written',
      'spec.jwtRules[0].outputPayloadToHeader: ":path" is an HTTP/2 pseudo-header, which jwt_authn cannot add; the header is not written',
    ]);
  });

  it("builds nothing for policies without jwtRules", () => {
    assert.deepEqual(jwtAuthnFilter([ra("empty", [])]), { clusters: [], conditions: [] });
  });
});

describe("requestAuthenticationFor (model attachments)", () => {
  const mesh = [
    namespace("istio-system"),
    namespace("shop", { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" }),
    namespace("idp", { "istio.io/dataplane-mode": "ambient" }),
    waypointGateway("shop", "waypoint"),
    service("shop", "reviews", {}, 9080, "10.96.0.12"),
    service("shop", "ratings", {}, 9080, "10.96.0.13"),
    resource("Service", "shop", "db", { selector: { app: "db" }, clusterIP: "10.96.0.14", ports: [{ name: "tcp-pg", port: 5432 }] }),
    resource("Service", "shop", "mixed", { selector: { app: "mixed" }, clusterIP: "10.96.0.15", ports: [{ name: "tcp-pg", port: 5432 }, { name: "http", port: 8080 }] }),
    resource("Service", "idp", "keycloak", { selector: { app: "keycloak" }, clusterIP: "10.96.1.1", ports: [{ name: "http", port: 8080, targetPort: 8081 }] }),
    pod("idp", "keycloak-0", "keycloak", "10.244.2.9"),
    resource("PeerAuthentication", "idp", "strict", { mtls: { mode: "STRICT" } }),
  ];
  const gw = { group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" };
  const model = buildModel([
    ...mesh,
    ra("at-waypoint", [{ issuer: "https://w.example.com", jwksUri: "https://w.example.com/jwks" }], { targetRefs: [gw] }),
    ra("reviews", [{ issuer: "https://r.example.com", jwksUri: "http://keycloak.idp.svc.cluster.local:8080/realms/r/certs" }], { targetRefs: [{ kind: "Service", name: "reviews" }] }),
    ra("db", [{ issuer: "https://d.example.com", jwks: unusableJwks }], { targetRefs: [{ kind: "Service", name: "db" }, { kind: "Service", name: "mixed" }] }),
    ra("by-selector", [{ issuer: "https://s.example.com", jwks: unusableJwks }], { selector: { matchLabels: { app: "reviews" } } }),
  ]);
  const waypoint = model.waypoints.find((w) => w.name === "waypoint")!;
  const svc = (name: string) => model.services.find((s) => s.name === name)!;
  const names = (ps: LoadedResource[]) => ps.map((p) => p.key.name);

  it("picks the waypoint's and the service's RequestAuthentications, never selector ones", () => {
    assert.deepEqual(names(requestAuthenticationsFor(model, waypoint, svc("reviews"))), ["at-waypoint", "reviews"]);
    assert.deepEqual(names(requestAuthenticationsFor(model, waypoint, svc("ratings"))), ["at-waypoint"]);
  });

  it("merges them into one filter and reports a key set served by a STRICT mesh service", () => {
    const r = requestAuthenticationFor(model, waypoint, svc("reviews"));
    assert.deepEqual(Object.keys(cfgOf(r.filter).providers as object).sort(), ["origins-ns[shop]-policy[at-waypoint]-rule[0]", "origins-ns[shop]-policy[reviews]-rule[0]"]);
    assert.deepEqual(clustersJson(r.clusters).map((c) => (c as { name: string }).name), ["outbound|443||w.example.com", "outbound|8080||keycloak.idp.svc.cluster.local"]);
    assert.deepEqual(r.conditions.map((c) => [c.resource.name, c.type, c.status, c.reason]), [
      ["reviews", "WaypointAccepted", "False", "JwksUnreachable"],
      ["reviews", "WaypointAccepted", "True", "InsecureJwksUri"],
    ]);
    assert.match(r.conditions[0]!.message, /keycloak\.idp\.svc\.cluster\.local:8080 is a mesh service whose workloads \(idp\/keycloak-0\) require mutual TLS/);
  });

  it("builds no filter for a TCP-only service and says why; a mixed service gets the filter and the note", () => {
    const db = requestAuthenticationFor(model, waypoint, svc("db"));
    assert.equal(db.filter, undefined);
    assert.deepEqual(db.clusters, []);
    assert.deepEqual(messages(db.conditions.filter((c) => c.resource.name === "db")), [
      "UnsupportedValue: TCP port 5432 of db.shop.svc.cluster.local carry no HTTP requests, so no token is checked there; an AuthorizationPolicy with requestPrincipals denies those connections instead",
    ]);
    const mixed = requestAuthenticationFor(model, waypoint, svc("mixed"));
    assert.ok(mixed.filter);
    assert.equal(mixed.conditions.filter((c) => c.resource.name === "db").length, 1);
  });

  it("splices jwt_authn between the CUSTOM phase and the other RBAC filters", () => {
    const f = (name: string) => ({ name }) as HttpFilter;
    const names = (fs: HttpFilter[]) => fs.map((x) => x.name);
    const authz = { httpFilters: [f("shadow-rbac"), f("ext_authz"), f("deny"), f("allow")], customHttpFilters: 2 };
    assert.deepEqual(names(securityHttpFilters(authz, { filter: f("jwt") })), ["shadow-rbac", "ext_authz", "jwt", "deny", "allow"]);
    assert.deepEqual(names(securityHttpFilters({ ...authz, customHttpFilters: 0 }, { filter: f("jwt") })), ["jwt", "shadow-rbac", "ext_authz", "deny", "allow"]);
    assert.deepEqual(names(securityHttpFilters(authz, {})), ["shadow-rbac", "ext_authz", "deny", "allow"]);
  });

  it("securityFor: authorization and authentication of one service in chain order, with the JWKS clusters", () => {
    const m = buildModel([...mesh,
      ra("jwt", [{ issuer: "https://w.example.com", jwksUri: "https://w.example.com/jwks" }], { targetRefs: [{ kind: "Service", name: "ratings" }] }),
      resource("AuthorizationPolicy", "shop", "need-jwt", { targetRefs: [{ kind: "Service", name: "ratings" }], rules: [{ from: [{ source: { requestPrincipals: ["*"] } }] }] }),
      resource("AuthorizationPolicy", "shop", "ext", { targetRefs: [{ kind: "Service", name: "ratings" }], action: "CUSTOM", provider: { name: "oauth" }, rules: [{}] }),
    ]);
    const s = securityFor(m, m.waypoints[0]!, m.services.find((x) => x.name === "ratings")!, {
      extensionProviders: [{ name: "oauth", envoyExtAuthzGrpc: { service: "oauth.auth.svc.cluster.local", port: 9000 } }],
    });
    assert.deepEqual(s.httpFilters.map((x) => x.name), ["envoy.filters.http.rbac", "envoy.filters.http.ext_authz", "envoy.filters.http.jwt_authn", "envoy.filters.http.rbac"]);
    for (const x of s.httpFilters) filterJson(x);
    assert.deepEqual(s.networkFilters, []);
    assert.deepEqual(clustersJson(s.clusters).map((c) => (c as { name: string }).name), ["outbound|443||w.example.com"]);
    assert.deepEqual(s.conditions, []);
  });

  it("flags RequestAuthentications no waypoint applies", () => {
    assert.deepEqual(requestAuthenticationConditions(model).map((c) => [c.resource.name, c.status, c.reason]), [["by-selector", "False", "NoWaypointTarget"]]);
  });
});
