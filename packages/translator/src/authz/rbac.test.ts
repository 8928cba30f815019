import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toJson, type JsonValue } from "@bufbuild/protobuf";
import type { LoadedResource } from "@waystation/api";
import { FilterSchema, type Filter } from "@waystation/proto/envoy/config/listener/v3/listener_components_pb.js";
import { HttpFilterSchema, type HttpFilter } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { buildModel } from "../../../model/src/build.js";
import { namespace, resource, service, waypointGateway } from "../../../model/src/testing.js";
import { validateResource } from "../validate/index.js";
import { registry } from "../validate/registry.js";
import { authorizationFor, policiesFor, rbacHttpFilters, rbacNetworkFilters, resolveProvider, type ExtensionProvider } from "./index.js";

const opts = { registry, useProtoFieldName: true } as const;
const httpJson = (fs: HttpFilter[]) => fs.map((f) => toJson(HttpFilterSchema, f, opts));
const netJson = (fs: Filter[]) => fs.map((f) => toJson(FilterSchema, f, opts));
const policy = (name: string, spec: unknown, annotations?: Record<string, string>) =>
  resource("AuthorizationPolicy", "shop", name, spec, annotations ? { annotations } : {});
/** Every generated filter must pass the strict validator. */
function valid<F extends HttpFilter | Filter>(fs: F[]): F[] {
  for (const f of fs) {
    const errors = f.$typeName === "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter"
      ? validateResource(HttpFilterSchema, f as HttpFilter).errors : validateResource(FilterSchema, f as Filter).errors;
    assert.deepEqual(errors, [], f.name);
  }
  return fs;
}
const rbacType = (kind: "http" | "network") => `type.googleapis.com/envoy.extensions.filters.${kind}.rbac.v3.RBAC`;

const viewer = policy("viewer", {
  rules: [{
    from: [{ source: { principals: ["cluster.local/ns/shop/sa/productpage"], notIpBlocks: ["10.0.0.0/8"] } }],
    to: [{ operation: { methods: ["GET", "HEAD"], paths: ["/reviews/*"] } }],
    when: [{ key: "request.auth.claims[groups]", values: ["admins"] }],
  }],
});
const oauth: ExtensionProvider = {
  name: "oauth",
  envoyExtAuthzHttp: {
    service: "auth/oauth2-proxy.auth.svc.cluster.local", port: 4180, timeout: "2s", statusOnError: "503", pathPrefix: "/check",
    includeRequestHeadersInCheck: ["authorization", "x-auth-*"], includeAdditionalHeadersInCheck: { "x-b": "2", "x-a": "1" },
    headersToUpstreamOnAllow: ["x-user"], headersToDownstreamOnDeny: ["set-cookie"],
  },
};

describe("AuthorizationPolicy -> Envoy RBAC", () => {
  it("renders an ALLOW policy as Istio's waypoint RBAC, with the peer identity from filter state", () => {
    const { filters, conditions } = rbacHttpFilters([viewer]);
    assert.deepEqual(conditions, []);
    const orMethods = { or_rules: { rules: ["GET", "HEAD"].map((m) => ({ header: { name: ":method", string_match: { exact: m } } })) } };
    const groups = { or_match: { value_matchers: [{ list_match: { one_of: { string_match: { exact: "admins" } } } }, { string_match: { exact: "admins" } }] } };
    assert.deepEqual(httpJson(valid(filters)), [{
      name: "envoy.filters.http.rbac",
      typed_config: {
        "@type": rbacType("http"),
        rules: {
          policies: {
            "ns[shop]-policy[viewer]-rule[0]": {
              permissions: [{ and_rules: { rules: [orMethods, { url_path: { path: { prefix: "/reviews/" } } }] } }],
              principals: [{
                and_ids: {
                  ids: [
                    { filter_state: { key: "io.istio.peer_principal", string_match: { exact: "spiffe://cluster.local/ns/shop/sa/productpage" } } },
                    { not_id: { direct_remote_ip: { address_prefix: "10.0.0.0", prefix_len: 8 } } },
                    { metadata: { filter: "envoy.filters.http.jwt_authn", path: [{ key: "payload" }, { key: "groups" }], value: groups } },
                  ],
                },
              }],
            },
          },
        },
      },
    }] as JsonValue[]);
  });

  it("renders CUSTOM as a shadow RBAC that gates ext_authz to the provider's cluster", () => {
    const custom = policy("ext", { action: "CUSTOM", provider: { name: "oauth" }, rules: [{ to: [{ operation: { hosts: ["admin.example.com"] } }] }] });
    const { filters, conditions } = rbacHttpFilters([custom], { extensionProviders: [oauth] });
    assert.deepEqual(conditions, []);
    assert.deepEqual(httpJson(valid(filters)), [{
      name: "envoy.filters.http.rbac",
      typed_config: {
        "@type": rbacType("http"),
        shadow_rules: {
          action: "DENY",
          policies: {
            "istio-ext-authz-ns[shop]-policy[ext]-rule[0]": {
              permissions: [{ header: { name: ":authority", string_match: { safe_regex: { regex: "(?i)admin\\.example\\.com(:[0-9]+)?" } } } }],
              principals: [{ any: true }],
            },
          },
        },
        shadow_rules_stat_prefix: "istio_ext_authz_",
      },
    }, {
      name: "envoy.filters.http.ext_authz",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
        http_service: {
          server_uri: { uri: "http://oauth2-proxy.auth.svc.cluster.local", cluster: "outbound|4180||oauth2-proxy.auth.svc.cluster.local", timeout: "2s" },
          path_prefix: "/check",
          authorization_request: { headers_to_add: [{ key: "x-a", value: "1" }, { key: "x-b", value: "2" }] },
          authorization_response: {
            allowed_upstream_headers: { patterns: [{ exact: "x-user", ignore_case: true }] },
            allowed_client_headers: { patterns: [{ exact: "set-cookie", ignore_case: true }] },
          },
        },
        status_on_error: { code: "ServiceUnavailable" },
        transport_api_version: "V3",
        filter_enabled_metadata: {
          filter: "envoy.filters.http.rbac",
          path: [{ key: "istio_ext_authz_shadow_effective_policy_id" }],
          value: { string_match: { prefix: "istio-ext-authz" } },
        },
        allowed_headers: { patterns: [{ exact: "authorization", ignore_case: true }, { prefix: "x-auth-", ignore_case: true }] },
      },
    }] as JsonValue[]);
  });

  it("fails a CUSTOM policy with an unknown provider closed: a DENY of what it selects", () => {
    const custom = policy("ext", { action: "CUSTOM", provider: { name: "missing" }, rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] });
    const { filters, conditions } = rbacHttpFilters([custom], { extensionProviders: [oauth] });
    assert.deepEqual(httpJson(valid(filters)), [{
      name: "envoy.filters.http.rbac",
      typed_config: {
        "@type": rbacType("http"),
        rules: {
          action: "DENY",
          policies: {
            "istio-ext-authz-ns[shop]-policy[ext]-rule[0]-deny-due-to-bad-CUSTOM-action": {
              permissions: [{ url_path: { path: { exact: "/admin" } } }], principals: [{ any: true }],
            },
          },
        },
      },
    }] as JsonValue[]);
    assert.deepEqual(conditions.map((c) => [c.resource.name, c.type, c.status, c.reason]), [["ext", "WaypointAccepted", "False", "UnknownProvider"]]);
  });

  it("on TCP, drops ALLOW rules that need HTTP (deny-all here) and keeps a policy without rules as match-nothing", () => {
    const { filters, conditions } = rbacNetworkFilters([policy("none", {}), viewer], {}, "TCP port 5432 of db.shop.svc.cluster.local");
    assert.deepEqual(netJson(valid(filters)), [{
      name: "envoy.filters.network.rbac",
      typed_config: {
        "@type": rbacType("network"),
        rules: { policies: { "ns[shop]-policy[none]-rule[0]": { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] } } },
        stat_prefix: "tcp.",
      },
    }] as JsonValue[]);
    assert.deepEqual(conditions.map((c) => c.message), [
      "spec.rules[0] tests attributes only HTTP has (to[0].operation.methods, to[0].operation.paths, when[0] request.auth.claims[groups]), "
      + "which TCP port 5432 of db.shop.svc.cluster.local cannot evaluate; this ALLOW rule is left out there, so the policy allows less than written",
    ]);
  });

  it("orders the filters CUSTOM, AUDIT, DENY, ALLOW and sends dry-run policies to shadow rules", () => {
    const ps: LoadedResource[] = [
      policy("a-allow", { rules: [{}] }),
      policy("b-deny", { action: "DENY", rules: [{ to: [{ operation: { methods: ["DELETE"] } }] }] }),
      policy("c-audit", { action: "AUDIT", rules: [{}] }),
      policy("d-custom", { action: "CUSTOM", provider: { name: "oauth" }, rules: [{}] }),
      policy("e-dry", { action: "DENY", rules: [{}] }, { "istio.io/dry-run": "true" }),
    ];
    const out = httpJson(valid(rbacHttpFilters(ps, { extensionProviders: [oauth] }).filters)) as { name: string; typed_config: Record<string, { action?: string; policies?: object }> }[];
    const summary = out.map((f) => [f.name, f.typed_config.rules?.action ?? (f.typed_config.rules ? "ALLOW" : "-"),
      Object.keys(f.typed_config.rules?.policies ?? {}).join(","), Object.keys(f.typed_config.shadow_rules?.policies ?? {}).join(","),
      f.typed_config.shadow_rules_stat_prefix ?? ""]);
    assert.deepEqual(summary, [
      ["envoy.filters.http.rbac", "-", "", "istio-ext-authz-ns[shop]-policy[d-custom]-rule[0]", "istio_ext_authz_"],
      ["envoy.filters.http.ext_authz", "-", "", "", ""],
      ["envoy.filters.http.rbac", "LOG", "ns[shop]-policy[c-audit]-rule[0]", "", ""],
      ["envoy.filters.http.rbac", "DENY", "ns[shop]-policy[b-deny]-rule[0]", "ns[shop]-policy[e-dry]-rule[0]", "istio_dry_run_deny_"],
      ["envoy.filters.http.rbac", "ALLOW", "ns[shop]-policy[a-allow]-rule[0]", "", ""],
    ]);
  });

  it("counts the CUSTOM phase's filters, which jwt_authn follows", () => {
    const custom = policy("ext", { action: "CUSTOM", provider: { name: "oauth" }, rules: [{}] });
    const allow = policy("allow", { rules: [{}] });
    assert.equal(rbacHttpFilters([custom, allow], { extensionProviders: [oauth] }).custom, 2);
    assert.equal(rbacHttpFilters([custom, allow]).custom, 1, "the DENY standing in for an unknown provider");
    assert.equal(rbacHttpFilters([allow]).custom, 0);
    assert.equal(rbacNetworkFilters([custom, allow], { extensionProviders: [oauth] }).custom, 0, "an HTTP provider cannot check TCP");
  });

  it("warns that CUSTOM rules on JWT attributes run before jwt_authn", () => {
    const custom = policy("ext", { action: "CUSTOM", provider: { name: "oauth" }, rules: [{
      from: [{ source: { requestPrincipals: ["*"] } }, { source: { namespaces: ["a"] } }],
      when: [{ key: "request.auth.claims[groups]", values: ["x"] }, { key: "source.ip", values: ["10.0.0.1"] }],
    }] });
    const { conditions } = rbacHttpFilters([custom], { extensionProviders: [oauth] });
    assert.deepEqual(conditions.map((c) => c.message), [
      "spec.rules[0] tests JWT attributes (from[0].source.requestPrincipals, when[0] request.auth.claims[groups]), but CUSTOM policies are checked before "
      + "jwt_authn validates the token (as in Istio), so no token is seen there: these attributes never match, and their not-forms always do. "
      + "Let the ext_authz service check the token, or use an ALLOW/DENY policy for it",
    ]);
  });

  it("is deterministic: input order does not change the output", () => {
    const ps = [viewer, policy("b", { action: "DENY", rules: [{ from: [{ source: { namespaces: ["dev"] } }] }, {}] }), policy("a", { rules: [{}] })];
    const one = JSON.stringify(httpJson(rbacHttpFilters(ps).filters));
    assert.equal(JSON.stringify(httpJson(rbacHttpFilters([...ps].reverse()).filters)), one);
  });

  it("checks extension providers as istiod does", () => {
    const err = (p: Partial<ExtensionProvider["envoyExtAuthzGrpc"]>) => {
      const r = resolveProvider({ name: "x", envoyExtAuthzGrpc: { service: "a.b.svc.cluster.local", port: 9000, ...p } });
      return "error" in r ? r.error : "";
    };
    assert.equal(err({}), "");
    assert.equal(err({ port: 0 }), 'extension provider "x": port must be 1-65535, not 0');
    assert.equal(err({ timeout: "soon" }), 'extension provider "x": timeout "soon" is not a duration such as "0.5s"');
    assert.equal(err({ statusOnError: "299" }), 'extension provider "x": statusOnError "299" is not an HTTP status code Envoy knows');
    assert.match(JSON.stringify(resolveProvider({ name: "x" })), /must set exactly one of envoyExtAuthzHttp and envoyExtAuthzGrpc/);
    const ok = resolveProvider({ name: "g", envoyExtAuthzGrpc: { service: "auth/ext.auth.svc.cluster.local", port: 9000, timeout: "1m30s" } });
    assert.ok("provider" in ok);
    assert.equal(ok.provider.cluster, "outbound|9000||ext.auth.svc.cluster.local");
    assert.equal(ok.provider.timeoutMs, 90_000);
  });
});

describe("policiesFor / authorizationFor", () => {
  const mesh = [
    namespace("istio-system"),
    namespace("shop", { "istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint" }),
    waypointGateway("shop", "waypoint"),
    service("shop", "reviews", {}, 9080, "10.96.0.12"),
    service("shop", "ratings", {}, 9080, "10.96.0.13"),
    resource("Service", "shop", "db", { selector: { app: "db" }, clusterIP: "10.96.0.14", ports: [{ name: "tcp-pg", port: 5432 }, { name: "http-admin", port: 8080 }] }),
  ];
  const ap = (name: string, targetRefs: unknown[], spec: object = { rules: [{}] }, ns = "shop") =>
    resource("AuthorizationPolicy", ns, name, { targetRefs, ...spec });
  const gw = { group: "gateway.networking.k8s.io", kind: "Gateway", name: "waypoint" };
  const model = buildModel([
    ...mesh,
    ap("z-waypoint", [gw]),
    ap("reviews-only", [{ kind: "Service", name: "reviews" }]),
    ap("ratings-only", [{ kind: "Service", name: "ratings" }]),
    ap("db-http", [{ kind: "Service", name: "db" }], { rules: [{ to: [{ operation: { methods: ["GET"] } }] }] }),
    ap("mesh-wide", [{ group: "gateway.networking.k8s.io", kind: "GatewayClass", name: "istio-waypoint" }], { action: "DENY", rules: [{ from: [{ source: { namespaces: ["evil"] } }] }] }, "istio-system"),
    resource("AuthorizationPolicy", "shop", "ztunnel-only", { selector: { matchLabels: { app: "reviews" } }, rules: [{}] }),
  ]);
  const waypoint = model.waypoints.find((w) => w.name === "waypoint")!;
  const svc = (name: string) => model.services.find((s) => s.name === name)!;

  it("picks the waypoint's and the service's policies, sorted, and never selector policies", () => {
    assert.deepEqual(policiesFor(model, waypoint, svc("reviews")).map((p) => `${p.key.namespace}/${p.key.name}`),
      ["istio-system/mesh-wide", "shop/reviews-only", "shop/z-waypoint"]);
    assert.deepEqual(policiesFor(model, waypoint, svc("ratings")).map((p) => p.key.name), ["mesh-wide", "ratings-only", "z-waypoint"]);
  });

  it("builds filters for the chain kinds the service has and names its TCP ports in conditions", () => {
    const reviews = authorizationFor(model, waypoint, svc("reviews"));
    assert.equal(reviews.httpFilters.length, 2);
    assert.equal(reviews.networkFilters.length, 0);
    const db = authorizationFor(model, waypoint, svc("db"));
    valid(db.httpFilters);
    valid(db.networkFilters);
    assert.deepEqual(db.networkFilters.map((f) => f.name), ["envoy.filters.network.rbac", "envoy.filters.network.rbac"]);
    assert.deepEqual(db.conditions.map((c) => `${c.resource.name}: ${c.message}`), [
      "db-http: spec.rules[0] tests attributes only HTTP has (to[0].operation.methods), which TCP port 5432 of db.shop.svc.cluster.local cannot evaluate; "
      + "this ALLOW rule is left out there, so the policy allows less than written",
    ]);
  });
});
