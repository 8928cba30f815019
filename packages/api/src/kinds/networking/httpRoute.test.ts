import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadManifests } from "../../load.js";
import { formatProblem } from "../../problem.js";
import { defaultValidator } from "../../registry.js";

const load = (text: string) => loadManifests([{ path: "t.yaml", text }], defaultValidator());

/** Wraps an indented spec body in a 4-line header, so the spec's first line is line 5 of t.yaml. */
function problems(spec: string): string[] {
  const lines = spec.replace(/^\n/, "").split("\n");
  const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length));
  const body = lines.map((l) => `  ${l.slice(indent)}`).join("\n");
  return load(`apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: { name: r, namespace: ns }\nspec:\n${body}\n`).problems.map(formatProblem);
}

/** Table tests of the HTTP rule checks (httpRoute.ts); each case is one VirtualService spec. */
describe("VirtualService HTTP routes", () => {
  const cases: { name: string; spec: string; want: string[] }[] = [
    {
      name: "StringMatch with both exact and prefix",
      spec: `
        hosts: [reviews]
        http:
        - match:
          - uri: { exact: /a, prefix: /b }
          route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:8:12 VirtualService ns/r: spec.http[0].match[0].uri sets exact and prefix; a string match takes exactly one of exact, prefix or regex",
      ],
    },
    {
      name: "StringMatch with none of exact, prefix, regex",
      spec: `
        hosts: [reviews]
        http:
        - match:
          - method: {}
          route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:8:15 VirtualService ns/r: spec.http[0].match[0].method must set one of exact, prefix or regex",
      ],
    },
    {
      name: "regex RE2 rejects (lookahead)",
      spec: `
        hosts: [reviews]
        http:
        - match:
          - uri: { regex: "^/(?!admin)" }
          route: [{ destination: { host: reviews } }]`,
      want: [
        "t.yaml:8:21 VirtualService ns/r: spec.http[0].match[0].uri.regex is not a valid RE2 regular expression (Envoy uses RE2): error parsing regexp: invalid or unsupported Perl syntax: `(?!`",
      ],
    },
    {
      name: "fractional weights",
      spec: `
        hosts: [reviews]
        http:
        - route:
          - destination: { host: reviews, subset: v1 }
            weight: 50.5
          - destination: { host: reviews, subset: v2 }
            weight: 49.5`,
      want: [
        "t.yaml:9:15 VirtualService ns/r: spec.http[0].route[0].weight must be an integer",
        "t.yaml:11:15 VirtualService ns/r: spec.http[0].route[1].weight must be an integer",
      ],
    },
    {
      name: "several destinations, every weight 0",
      spec: `
        hosts: [reviews]
        http:
        - route:
          - destination: { host: reviews, subset: v1 }
          - destination: { host: reviews, subset: v2 }`,
      want: [
        "t.yaml:8:5 VirtualService ns/r: spec.http[0].route has more than one destination but every weight is 0 (or unset), so no destination gets traffic",
      ],
    },
    {
      name: "weights summing to 120 only warn (Istio splits weight/sum)",
      spec: `
        hosts: [reviews]
        http:
        - route:
          - destination: { host: reviews, subset: v1 }
            weight: 60
          - destination: { host: reviews, subset: v2 }
            weight: 60`,
      want: [
        "t.yaml:8:5 warning: VirtualService ns/r: spec.http[0].route weights sum to 120, not 100; each destination gets weight/120 of the traffic",
      ],
    },
    {
      name: "negative weight",
      spec: `
        hosts: [reviews]
        http:
        - route:
          - destination: { host: reviews, subset: v1 }
            weight: -1`,
      want: [
        "t.yaml:9:15 VirtualService ns/r: spec.http[0].route[0].weight must be a whole number from 0 to 2147483647",
      ],
    },
    {
      name: "redirect together with route",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          redirect: { uri: /x }`,
      want: [
        "t.yaml:8:15 VirtualService ns/r: spec.http[0].redirect cannot be set together with route: a rule either routes, redirects, responds directly or delegates",
      ],
    },
    {
      name: "rewrite together with redirect",
      spec: `
        hosts: [reviews]
        http:
        - redirect: { uri: /x }
          rewrite: { uri: /y }`,
      want: [
        "t.yaml:8:14 VirtualService ns/r: spec.http[0].rewrite cannot be used with redirect: the request is never forwarded",
      ],
    },
    {
      name: "rewrite.uri together with uriRegexRewrite",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          rewrite: { uri: /y, uriRegexRewrite: { match: "^/a", rewrite: /b } }`,
      want: [
        "t.yaml:8:42 VirtualService ns/r: spec.http[0].rewrite.uriRegexRewrite cannot be set together with uri",
      ],
    },
    {
      name: "abort with httpStatus and grpcStatus",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          fault: { abort: { httpStatus: 503, grpcStatus: UNAVAILABLE } }`,
      want: [
        "t.yaml:8:52 VirtualService ns/r: spec.http[0].fault.abort.grpcStatus cannot be set together with httpStatus",
      ],
    },
    {
      name: "abort without an error type",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          fault: { abort: { percentage: { value: 5 } } }`,
      want: [
        "t.yaml:8:21 VirtualService ns/r: spec.http[0].fault.abort must set one of httpStatus, grpcStatus or http2Error",
      ],
    },
    {
      name: "abort httpStatus out of range",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          fault: { abort: { httpStatus: 700 } }`,
      want: [
        "t.yaml:8:35 VirtualService ns/r: spec.http[0].fault.abort.httpStatus must be an HTTP status from 200 to 599, not 700",
      ],
    },
    {
      name: "delay without fixedDelay",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          fault: { delay: { percentage: { value: 5 } } }`,
      want: [
        "t.yaml:8:21 VirtualService ns/r: spec.http[0].fault.delay.fixedDelay is required",
      ],
    },
    {
      name: "timeout that is not a duration",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          timeout: 10 seconds`,
      want: [
        "t.yaml:8:14 VirtualService ns/r: spec.http[0].timeout must be a duration such as \"10s\", \"1m30s\" or \"250ms\", not \"10 seconds\"",
      ],
    },
    {
      name: "timeout 0s (the CRD requires at least 1ms)",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          timeout: 0s`,
      want: [
        "t.yaml:8:14 VirtualService ns/r: spec.http[0].timeout must be a duration of at least 1ms, such as \"10s\", \"1m30s\" or \"250ms\"",
      ],
    },
    {
      name: "mirror together with mirrors",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          mirror: { host: shadow }
          mirrors: [{ destination: { host: shadow2 } }]`,
      want: [
        "t.yaml:9:14 VirtualService ns/r: spec.http[0].mirrors cannot be set together with mirror; list every mirror under mirrors",
      ],
    },
    {
      name: "mirror percentage over 100",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          mirrors: [{ destination: { host: s }, percentage: { value: 150 } }]`,
      want: [
        "t.yaml:8:64 VirtualService ns/r: spec.http[0].mirrors[0].percentage.value must be a percentage from 0 to 100",
      ],
    },
    {
      name: "retryOn with a space after the comma",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          retries: { attempts: 2, retryOn: "5xx, reset" }`,
      want: [
        "t.yaml:8:38 VirtualService ns/r: spec.http[0].retries.retryOn has \" reset\", which is not a retry policy (e.g. \"5xx\", \"connect-failure\", \"503\"; no spaces)",
      ],
    },
    {
      name: "CORS lower-case method and empty origin",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          corsPolicy: { allowMethods: [get], allowOrigins: [{}] }`,
      want: [
        "t.yaml:8:34 VirtualService ns/r: spec.http[0].corsPolicy.allowMethods[0] must be an HTTP method such as \"GET\" or \"POST\" (upper case), not \"get\"",
        "t.yaml:8:55 VirtualService ns/r: spec.http[0].corsPolicy.allowOrigins[0] must set one of exact, prefix or regex",
      ],
    },
    {
      name: "directResponse status and body",
      spec: `
        hosts: [reviews]
        http:
        - directResponse: { status: 99, body: { string: hi, bytes: aGk= } }`,
      want: [
        "t.yaml:7:31 VirtualService ns/r: spec.http[0].directResponse.status must be an HTTP status from 200 to 599, not 99",
        "t.yaml:7:62 VirtualService ns/r: spec.http[0].directResponse.body.bytes cannot be set together with string",
      ],
    },
    {
      name: "header edits on pseudo-headers and bad names",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          headers: { request: { set: { ":path": /x, "x ok": y }, remove: [host] } }`,
      want: [
        "t.yaml:8:34 VirtualService ns/r: spec.http[0].headers.request.set[\":path\"] is a pseudo-header or Host, which cannot be edited here",
        "t.yaml:8:47 VirtualService ns/r: spec.http[0].headers.request.set[\"x ok\"] is not a valid header name (letters, digits, '-' and '_')",
        "t.yaml:8:69 VirtualService ns/r: spec.http[0].headers.request.remove[0] \"host\" is a pseudo-header or Host, which cannot be edited here",
      ],
    },
    {
      name: "destination host * and bad subset name",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: "*", subset: v1_x } }]`,
      want: [
        "t.yaml:7:36 VirtualService ns/r: spec.http[0].route[0].destination.host must not be \"*\": name the service to send traffic to",
        "t.yaml:7:49 VirtualService ns/r: spec.http[0].route[0].destination.subset must be a DNS label (letters, digits and '-'), not \"v1_x\"",
      ],
    },
    {
      name: "directResponse with route",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          directResponse: { status: 404 }`,
      want: [
        "t.yaml:8:21 VirtualService ns/r: spec.http[0].directResponse cannot be set together with route: a rule either routes, redirects, responds directly or delegates",
      ],
    },
    {
      name: "uriRegexRewrite bad regex",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          rewrite: { uriRegexRewrite: { match: "(a", rewrite: /b } }`,
      want: [
        "t.yaml:8:42 VirtualService ns/r: spec.http[0].rewrite.uriRegexRewrite.match is not a valid RE2 regular expression (Envoy uses RE2): error parsing regexp: missing closing ): `(a`",
      ],
    },
    {
      name: "no action",
      spec: `
        hosts: [reviews]
        http:
        - name: empty
          timeout: 5s`,
      want: [
        "t.yaml:7:5 VirtualService ns/r: spec.http[0] must set one of route, redirect, directResponse or delegate",
      ],
    },
    {
      name: "retries without attempts",
      spec: `
        hosts: [reviews]
        http:
        - route: [{ destination: { host: reviews } }]
          retries: { perTryTimeout: 2s }`,
      want: [
        "t.yaml:8:14 VirtualService ns/r: spec.http[0].retries.attempts is 0 (retries disabled) but a retry policy is configured; set attempts or drop the policy",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(problems(c.spec), c.want));
  }
});
