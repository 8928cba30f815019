import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";

const load = (text: string) => loadManifests([{ path: "route.yaml", text }], defaultValidator());

/** Lines 1-8; a case's rules start on line 9. */
const head = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: reviews
  namespace: bookinfo
spec:
  parentRefs: [{ group: "", kind: Service, name: reviews, port: 9080 }]
  rules:
`;

describe("HTTPRoute", () => {
  it("loads a realistic waypoint route (GAMMA parentRef to a Service)", () => {
    const r = load(`${head}  - name: v2-testers
    matches:
    - path: { type: PathPrefix, value: /reviews }
      headers:
      - { name: end-user, value: jason }
      - { type: RegularExpression, name: x-canary, value: "^(yes|true)$" }
      queryParams: [{ name: debug, value: "1" }]
      method: GET
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{ name: x-route, value: v2 }]
        add: [{ name: x-trace, value: "on" }]
        remove: [x-internal]
    - type: RequestMirror
      requestMirror:
        backendRef: { name: reviews-shadow, port: 9080 }
        fraction: { numerator: 5, denominator: 1000 }
    backendRefs:
    - { name: reviews-v2, port: 9080, weight: 90 }
    - name: reviews-v3
      port: 9080
      weight: 10
      filters:
      - type: ResponseHeaderModifier
        responseHeaderModifier: { set: [{ name: x-version, value: v3 }] }
    timeouts: { request: 10s, backendRequest: 2s }
    retry: { codes: [502, 503], attempts: 3, backoff: 100ms }
  - matches: [{ path: { type: PathPrefix, value: /legacy } }]
    filters:
    - type: URLRewrite
      urlRewrite:
        hostname: reviews.bookinfo.svc.cluster.local
        path: { type: ReplacePrefixMatch, replacePrefixMatch: /reviews }
    - type: CORS
      cors: { allowOrigins: ["https://bookinfo.example.com"], allowMethods: [GET, POST], maxAge: 600 }
    backendRefs: [{ name: reviews, port: 9080 }]
  - matches: [{ path: { type: Exact, value: /old } }]
    filters:
    - type: RequestRedirect
      requestRedirect: { scheme: https, hostname: bookinfo.example.com, statusCode: 301, path: { type: ReplaceFullPath, replaceFullPath: /new } }
  - matches: [{ path: { type: RegularExpression, value: "/ratings/[0-9]+" } }]
    backendRefs: [{ group: networking.istio.io, kind: ServiceEntry, name: ratings-external }]
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources.length, 1);
  });

  it("loads an ingress route bound to a Gateway listener, and normalises v1beta1 to v1", () => {
    const r = load(`apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: { name: web, namespace: shop }
spec:
  parentRefs:
  - { name: ingress, namespace: infra, sectionName: https }
  - { name: ingress, namespace: infra, sectionName: http }
  hostnames: [shop.example.com, "*.shop.example.com"]
  rules:
  - backendRefs: [{ name: web, port: 8080 }]
`);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(r.resources[0]!.object.apiVersion, "gateway.networking.k8s.io/v1");
  });

  const cases: { name: string; rules: string; want: string[] }[] = [
    {
      name: "an Exact path that does not start with /",
      rules: "  - matches: [{ path: { type: Exact, value: reviews } }]\n",
      want: ['route.yaml:9:45 HTTPRoute bookinfo/reviews: spec.rules[0].matches[0].path.value must be an absolute path starting with "/" for type Exact, not "reviews"'],
    },
    {
      name: "a PathPrefix with an empty segment",
      rules: "  - matches: [{ path: { value: /a//b } }]\n",
      want: ['route.yaml:9:32 HTTPRoute bookinfo/reviews: spec.rules[0].matches[0].path.value must not contain "//" for type PathPrefix, not "/a//b"'],
    },
    {
      name: "a path regex RE2 cannot compile (lookahead)",
      rules: `  - matches:
    - path:
        type: RegularExpression
        value: "/v(?=2)"
`,
      want: ["route.yaml:12:16 HTTPRoute bookinfo/reviews: spec.rules[0].matches[0].path.value is not a valid RE2 regular expression (Envoy uses RE2): error parsing regexp: invalid or unsupported Perl syntax: `(?=`"],
    },
    {
      name: "header names repeated in one match (case-insensitive)",
      rules: `  - matches:
    - headers:
      - { name: End-User, value: jason }
      - { name: end-user, value: mary }
`,
      want: ['route.yaml:12:17 HTTPRoute bookinfo/reviews: spec.rules[0].matches[0].headers[1].name duplicates spec.rules[0].matches[0].headers[0].name "end-user" (header names are case-insensitive); only the first would be matched'],
    },
    {
      name: "a filter whose type does not match its config field",
      rules: `  - filters:
    - type: RequestHeaderModifier
      requestRedirect: { statusCode: 301 }
`,
      want: [
        "route.yaml:10:7 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestHeaderModifier is required when type is RequestHeaderModifier",
        "route.yaml:11:24 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestRedirect must not be set when type is RequestHeaderModifier; it belongs to a filter of type RequestRedirect",
      ],
    },
    {
      name: "RequestRedirect and URLRewrite in one rule",
      rules: `  - filters:
    - { type: RequestRedirect, requestRedirect: { scheme: https } }
    - { type: URLRewrite, urlRewrite: { hostname: example.com } }
`,
      want: ["route.yaml:11:15 HTTPRoute bookinfo/reviews: spec.rules[0].filters[1].type cannot be combined with the RequestRedirect filter of spec.rules[0].filters[0]: a rule either redirects or rewrites"],
    },
    {
      name: "ReplacePrefixMatch behind an Exact match",
      rules: `  - matches: [{ path: { type: Exact, value: /v1 } }]
    filters:
    - type: URLRewrite
      urlRewrite:
        path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 }
    backendRefs: [{ name: reviews, port: 9080 }]
`,
      want: ["route.yaml:13:23 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].urlRewrite.path.type ReplacePrefixMatch needs the rule to have exactly one match, with a path of type PathPrefix"],
    },
    {
      name: "ReplacePrefixMatch with two matches",
      rules: `  - matches: [{ path: { value: /v1 } }, { path: { value: /v1beta } }]
    filters:
    - type: RequestRedirect
      requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } }
`,
      want: ["route.yaml:12:40 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestRedirect.path.type ReplacePrefixMatch needs the rule to have exactly one match, with a path of type PathPrefix"],
    },
    {
      name: "a path modifier without the value its type names",
      rules: `  - filters:
    - type: RequestRedirect
      requestRedirect:
        path: { type: ReplaceFullPath, replacePrefixMatch: /x }
`,
      want: [
        "route.yaml:12:15 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestRedirect.path.replaceFullPath is required when type is ReplaceFullPath",
        "route.yaml:12:60 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestRedirect.path.replacePrefixMatch must not be set when type is ReplaceFullPath",
      ],
    },
    {
      name: "a redirect rule with backendRefs",
      rules: `  - filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]
    backendRefs: [{ name: reviews, port: 9080 }]
`,
      want: ["route.yaml:10:18 HTTPRoute bookinfo/reviews: spec.rules[0].backendRefs must be empty when the rule redirects (spec.rules[0].filters[0]): a redirect answers the request itself"],
    },
    {
      name: "a Service backend without a port",
      rules: "  - backendRefs: [{ name: reviews-v1 }]\n",
      want: ['route.yaml:9:19 HTTPRoute bookinfo/reviews: spec.rules[0].backendRefs[0].port is required when the backend is a Service ("reviews-v1")'],
    },
    {
      name: "a weight above 1000000 (schema)",
      rules: "  - backendRefs: [{ name: reviews-v1, port: 9080, weight: 1000001 }]\n",
      want: ["route.yaml:9:59 HTTPRoute bookinfo/reviews: spec.rules[0].backendRefs[0].weight must be a weight from 0 to 1000000"],
    },
    {
      name: "a backendRequest timeout longer than the request timeout",
      rules: `  - backendRefs: [{ name: reviews, port: 9080 }]
    timeouts:
      request: 5s
      backendRequest: 1m
`,
      want: ["route.yaml:12:23 HTTPRoute bookinfo/reviews: spec.rules[0].timeouts.backendRequest (1m) must not be longer than request (5s): the request timeout covers every backend attempt"],
    },
    {
      name: "a duration outside GEP-2257 (schema)",
      rules: "  - timeouts: { request: 1.5s }\n",
      want: ['route.yaml:9:26 HTTPRoute bookinfo/reviews: spec.rules[0].timeouts.request must be a Gateway API duration (GEP-2257) such as "10s", "1m30s" or "500ms": whole numbers, units h, m, s, ms'],
    },
    {
      name: "a repeated RequestHeaderModifier, and one header named twice",
      rules: `  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: { set: [{ name: x-a, value: "1" }], remove: [X-A] }
    - type: RequestHeaderModifier
      requestHeaderModifier: { add: [{ name: x-b, value: "2" }] }
`,
      want: [
        "route.yaml:11:75 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestHeaderModifier.remove[0] names header \"X-A\" that spec.rules[0].filters[0].requestHeaderModifier.set[0].name already modifies; one action per header name",
        "route.yaml:12:13 HTTPRoute bookinfo/reviews: spec.rules[0].filters[1].type repeats the RequestHeaderModifier filter of spec.rules[0].filters[0]; it may appear once per list",
      ],
    },
    {
      name: "a mirror with both percent and fraction, to a Service without port",
      rules: `  - filters:
    - type: RequestMirror
      requestMirror:
        backendRef: { name: shadow }
        percent: 10
        fraction: { numerator: 1 }
`,
      want: [
        'route.yaml:12:21 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestMirror.backendRef.port is required when the backend is a Service ("shadow")',
        "route.yaml:14:19 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestMirror.fraction must not be set together with percent; use one of them",
      ],
    },
    {
      name: "an unknown method and redirect status code (schema)",
      rules: `  - matches: [{ method: get }]
    filters: [{ type: RequestRedirect, requestRedirect: { statusCode: 304 } }]
`,
      want: [
        'route.yaml:9:25 HTTPRoute bookinfo/reviews: spec.rules[0].matches[0].method must be one of "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", not "get"',
        "route.yaml:10:71 HTTPRoute bookinfo/reviews: spec.rules[0].filters[0].requestRedirect.statusCode must be one of 301, 302, 303, 307, 308, not 304",
      ],
    },
    {
      name: "two rules with the same name",
      rules: `  - { name: main, backendRefs: [{ name: a, port: 80 }] }
  - { name: main, backendRefs: [{ name: b, port: 80 }] }
`,
      want: ['route.yaml:10:13 HTTPRoute bookinfo/reviews: spec.rules[1].name duplicates spec.rules[0].name "main"; rule names must be unique within a route'],
    },
    {
      name: "more than 16 rules (schema)",
      rules: "  - {}\n".repeat(17),
      want: ["route.yaml:9:3 HTTPRoute bookinfo/reviews: spec.rules must have at most 16 rules (Gateway API limit)"],
    },
    {
      name: "more than 64 matches in a rule (schema)",
      rules: `  - matches: [${new Array(65).fill("{}").join(", ")}]\n`,
      want: ["route.yaml:9:14 HTTPRoute bookinfo/reviews: spec.rules[0].matches must have at most 64 matches per rule (Gateway API limit)"],
    },
    {
      name: "more than 128 matches across rules",
      rules: `  - matches: [${new Array(50).fill("{}").join(", ")}]\n`.repeat(3),
      want: ["route.yaml:9:3 HTTPRoute bookinfo/reviews: spec.rules have 150 matches in all; a route may have at most 128 across its rules (Gateway API limit)"],
    },
  ];

  for (const c of cases) {
    it(`rejects ${c.name}`, () => {
      const r = load(head + c.rules);
      assert.deepEqual(r.problems.map(formatProblem), c.want);
      assert.equal(r.resources.length, 0);
    });
  }

  it("rejects an IP as hostname and two parentRefs to one parent without sectionName", () => {
    const r = load(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: web, namespace: shop }
spec:
  parentRefs:
  - { name: ingress, namespace: infra }
  - { name: ingress, namespace: infra, sectionName: http }
  hostnames: [10.0.0.1]
`);
    assert.deepEqual(r.problems.map(formatProblem), [
      "route.yaml:6:5 HTTPRoute shop/web: spec.parentRefs[0] needs sectionName or port: spec.parentRefs[1] refers to the same parent ingress",
      "route.yaml:8:15 HTTPRoute shop/web: spec.hostnames[0] must be a host name, not an IP address (10.0.0.1)",
    ]);
  });

  it("warns that a Service parentRef without group: \"\" attaches to nothing, and still loads", () => {
    const r = load(`apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: reviews, namespace: bookinfo }
spec:
  parentRefs:
  - kind: Service
    name: reviews
  rules: [{ backendRefs: [{ name: reviews-v1, port: 9080 }] }]
`);
    assert.equal(r.resources.length, 1);
    assert.deepEqual(r.problems.map(formatProblem), [
      'route.yaml:6:5 warning: HTTPRoute bookinfo/reviews: spec.parentRefs[0].group is not set, so it defaults to "gateway.networking.k8s.io", where there is no Service; set group: "" to attach to the Service reviews',
    ]);
  });
});
