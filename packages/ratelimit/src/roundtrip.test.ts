// Both sides of the shared descriptor module, end to end: the translator's route rate limits for
// the example mesh (examples/*.yaml), evaluated as Envoy 1.31 evaluates rate limit actions, must
// produce descriptors the service recognises and counts.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { defaultValidator, loadManifests } from "@waystation/api";
import { buildModel } from "../../model/src/build.js";
import type { RateLimit_Action } from "@waystation/proto/envoy/config/route/v3/route_components_pb.js";
import type { StringMatcher } from "@waystation/proto/envoy/type/matcher/v3/string_pb.js";
import { RateLimitResponse_Code as Code } from "@waystation/proto/envoy/service/ratelimit/v3/rls_pb.js";
import { rateLimitFor, rateLimitStages } from "../../translator/src/ratelimit/index.js";
import { RateLimiter } from "./limiter.js";
import { MemoryStore } from "./memoryStore.js";
import { request } from "./testing.js";

/** A request as the rate limit actions see it. */
interface Req { headers: Record<string, string>; remote: string }

function stringMatch(m: StringMatcher, v: string): boolean {
  const p = m.matchPattern;
  switch (p.case) {
    case "exact": return v === p.value;
    case "prefix": return v.startsWith(p.value);
    case "safeRegex": return new RegExp(`^(?:${p.value.regex})$`).test(v);
    default: throw new Error(`matcher ${p.case} not modelled`);
  }
}

/** One action's entry, or undefined when Envoy would skip the whole descriptor. */
function evaluate(a: RateLimit_Action, r: Req): { key: string; value: string } | undefined {
  const s = a.actionSpecifier;
  switch (s.case) {
    case "genericKey": return { key: s.value.descriptorKey || "generic_key", value: s.value.descriptorValue };
    case "requestHeaders": {
      const v = r.headers[s.value.headerName];
      return v === undefined ? undefined : { key: s.value.descriptorKey, value: v };
    }
    case "remoteAddress": return { key: "remote_address", value: r.remote };
    case "headerValueMatch": {
      const all = s.value.headers.every((h) => {
        const v = r.headers[h.name];
        return v !== undefined && h.headerMatchSpecifier.case === "stringMatch" && stringMatch(h.headerMatchSpecifier.value, v);
      });
      return all === (s.value.expectMatch ?? true) ? { key: s.value.descriptorKey || "header_match", value: s.value.descriptorValue } : undefined;
    }
    default: throw new Error(`action ${s.case} not modelled`);
  }
}

function examples() {
  const dir = fileURLToPath(new URL("../../../examples", import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith(".yaml")).map((f) => ({ path: f, text: readFileSync(`${dir}/${f}`, "utf8") }));
  const loaded = loadManifests(files, defaultValidator());
  return { model: buildModel(loaded.resources), resources: loaded.resources };
}

describe("translator and service agree on descriptors", () => {
  it("counts the example mesh's per-user rule the way Envoy would ask", async () => {
    const { model, resources } = examples();
    const waypoint = model.waypoints.find((w) => w.namespace === "bookinfo" && w.name === "waypoint")!;
    const reviews = model.services.find((s) => s.namespace === "bookinfo" && s.name === "reviews")!;
    const rl = rateLimitFor(model, waypoint, reviews);
    assert.deepEqual(rl.conditions, []);
    const global = rl.routeRateLimits.filter((x) => x.stage === rateLimitStages.globalFailOpen);
    assert.equal(global.length, 1);

    const limiter = new RateLimiter({ store: new MemoryStore() });
    assert.deepEqual(limiter.setPolicies(resources), { rules: 1 });
    /** What Envoy's global filter would send for `r`, and what the service answers. */
    const ask = async (r: Req) => {
      const descriptors = global.map((x) => x.actions.map((a) => evaluate(a, r))).filter((d) => d.every((e) => e !== undefined)) as { key: string; value: string }[][];
      if (descriptors.length === 0) return "not sent";
      return Code[(await limiter.shouldRateLimit(request(descriptors))).overallCode]!;
    };
    const get = (user?: string): Req => ({ headers: { ":method": "GET", ":path": "/reviews/1", ...(user ? { "x-user-id": user } : {}) }, remote: "10.0.0.1" });
    const answers: string[] = [];
    for (let i = 0; i < 61; i++) answers.push(await ask(get("alice")));
    assert.deepEqual([answers.slice(0, 60).every((a) => a === "OK"), answers[60]], [true, "OVER_LIMIT"], "60 review reads a minute per user");
    assert.equal(await ask(get("bob")), "OK");
    assert.equal(await ask(get()), "not sent", "no x-user-id: the rule does not count the request");
    assert.equal(await ask({ headers: { ":method": "POST", ":path": "/reviews/1", "x-user-id": "alice" }, remote: "10.0.0.1" }), "not sent", "match: GET only");
    assert.deepEqual(limiter.stats().rules, { "bookinfo/reviews-per-user/per-user": { hits: 62, overLimit: 1, shadowOverLimit: 0 } });
  });
});
