/**
 * Gateway API rule pieces -> IR pieces, shared by HTTPRoute and GRPCRoute: header modifiers,
 * redirect, URL rewrite, mirror, CORS, extensionRef, and backendRefs. What cannot be honoured
 * becomes a RouteProblem (a condition on the route) and, where traffic is affected, a 500.
 */
import type { FieldPath, HeaderFilter, LoadedResource, RequestMirror } from "@waystation/api";
import type { MeshModel } from "@waystation/model";
import { resolveBackendRef } from "./gatewayRefs.js";
import type { ActionIR, BackendIR, ClusterResolver, CorsIR, HeaderMutationIR, MirrorIR, RewriteIR } from "./ir.js";

/** Something wrong with a route, for its conditions: `type` is the condition it turns False (or True, for PartiallyInvalid). */
export interface RouteProblem {
  type: "ResolvedRefs" | "PartiallyInvalid";
  reason: string;
  path: FieldPath;
  message: string;
}

/** The context of one route's translation. */
export interface GatewayContext {
  model: MeshModel;
  route: LoadedResource;
  /** The waypoint's resolver: a backend it cannot reach is reported on the route too. */
  resolve: ClusterResolver;
  problems: RouteProblem[];
}

export function headerMutation(f: HeaderFilter | undefined): HeaderMutationIR | undefined {
  if (!f) return undefined;
  return { set: (f.set ?? []).map((h) => ({ ...h })), add: (f.add ?? []).map((h) => ({ ...h })), remove: [...(f.remove ?? [])] };
}

/** The loose union of HTTPRoute and GRPCRoute filters this file reads. */
export interface AnyFilter {
  type: string;
  requestHeaderModifier?: HeaderFilter;
  responseHeaderModifier?: HeaderFilter;
  requestMirror?: RequestMirror;
  requestRedirect?: { scheme?: string; hostname?: string; port?: number; statusCode?: number; path?: { type: string; replaceFullPath?: string; replacePrefixMatch?: string } };
  urlRewrite?: { hostname?: string; path?: { type: string; replaceFullPath?: string; replacePrefixMatch?: string } };
  cors?: { allowOrigins?: string[]; allowMethods?: string[]; allowHeaders?: string[]; exposeHeaders?: string[]; maxAge?: number; allowCredentials?: boolean };
  extensionRef?: { group: string; kind: string; name: string };
}

/** What a rule's filters add to its routes. */
export interface RuleFilters {
  requestHeaders?: HeaderMutationIR;
  responseHeaders?: HeaderMutationIR;
  redirect?: Extract<ActionIR, { kind: "redirect" }>;
  rewrite?: RewriteIR;
  mirrors: MirrorIR[];
  cors?: CorsIR;
  /** An extensionRef: the rule must answer 500 rather than skip the filter (HTTPRouteFilter spec). */
  unresolved?: string;
}

/** Filters of a rule, in order (header modifiers, redirect and rewrite appear at most once, CEL). */
export function ruleFilters(ctx: GatewayContext, filters: readonly AnyFilter[] | undefined, path: FieldPath): RuleFilters {
  const out: RuleFilters = { mirrors: [] };
  (filters ?? []).forEach((f, i) => {
    const at = [...path, i];
    switch (f.type) {
      case "RequestHeaderModifier": out.requestHeaders = headerMutation(f.requestHeaderModifier); break;
      case "ResponseHeaderModifier": out.responseHeaders = headerMutation(f.responseHeaderModifier); break;
      case "RequestRedirect": if (f.requestRedirect) out.redirect = redirect(f.requestRedirect); break;
      case "URLRewrite": if (f.urlRewrite) out.rewrite = rewrite(f.urlRewrite); break;
      case "RequestMirror": if (f.requestMirror) {
        const m = mirror(ctx, f.requestMirror, [...at, "requestMirror", "backendRef"]);
        if (m) out.mirrors.push(m);
      } break;
      case "CORS": if (f.cors) out.cors = cors(f.cors); break;
      case "ExtensionRef": {
        const ref = f.extensionRef;
        const what = ref ? `${ref.kind} ${ref.name} (group ${JSON.stringify(ref.group)})` : "an extension";
        ctx.problems.push({ type: "ResolvedRefs", reason: "InvalidKind", path: [...at, "extensionRef"], message: `filter ${what} is not supported by Waystation; the rule answers 500 instead of skipping it` });
        out.unresolved ??= "filter extensionRef not supported";
        break;
      }
    }
  });
  return out;
}

/**
 * RequestRedirect. Without a port but with a scheme, the port is the scheme's well-known one
 * (Gateway API; Envoy then leaves 80/443 out of Location). The status defaults to 302.
 */
function redirect(r: NonNullable<AnyFilter["requestRedirect"]>): Extract<ActionIR, { kind: "redirect" }> {
  const port = r.port ?? (r.scheme === "https" ? 443 : r.scheme === "http" ? 80 : undefined);
  const path = r.path?.type === "ReplaceFullPath" && r.path.replaceFullPath !== undefined ? { full: r.path.replaceFullPath }
    : r.path?.type === "ReplacePrefixMatch" && r.path.replacePrefixMatch !== undefined ? { prefix: r.path.replacePrefixMatch } : undefined;
  return {
    kind: "redirect",
    ...(r.scheme !== undefined ? { scheme: r.scheme } : {}),
    ...(r.hostname !== undefined ? { host: r.hostname } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(path ? { path } : {}),
    status: (r.statusCode ?? 302) as 301 | 302 | 303 | 307 | 308,
  };
}

function rewrite(r: NonNullable<AnyFilter["urlRewrite"]>): RewriteIR {
  return {
    ...(r.hostname !== undefined ? { authority: r.hostname } : {}),
    ...(r.path?.type === "ReplaceFullPath" && r.path.replaceFullPath !== undefined ? { fullPath: r.path.replaceFullPath } : {}),
    ...(r.path?.type === "ReplacePrefixMatch" && r.path.replacePrefixMatch !== undefined ? { prefix: r.path.replacePrefixMatch } : {}),
  };
}

/** A mirror whose backend does not resolve is dropped (mirroring never fails the request) and reported. */
function mirror(ctx: GatewayContext, m: RequestMirror, path: FieldPath): MirrorIR | undefined {
  const b = backend(ctx, m.backendRef, 1, path);
  if (b.error !== undefined) return undefined;
  const percent = m.percent ?? (m.fraction ? (m.fraction.numerator / (m.fraction.denominator ?? 100)) * 100 : undefined);
  const { weight: _w, ...rest } = b;
  return { backend: rest, ...(percent !== undefined ? { percent } : {}) };
}

/**
 * HTTPCORSFilter. Origins are "*", exact origins, or origins with "*" wildcards
 * ("https://*.example.com"), which become RE2 regexes. maxAge defaults to 5 s as in the spec.
 */
function cors(c: NonNullable<AnyFilter["cors"]>): CorsIR {
  const origin = (o: string) => (o === "*" ? { regex: ".*" } : o.includes("*") ? { regex: o.split("*").map(quote).join("[^/]*") } : { exact: o });
  return {
    allowOrigins: (c.allowOrigins ?? []).map(origin),
    allowMethods: [...(c.allowMethods ?? [])],
    allowHeaders: [...(c.allowHeaders ?? [])],
    exposeHeaders: [...(c.exposeHeaders ?? [])],
    maxAgeSeconds: c.maxAge ?? 5,
    ...(c.allowCredentials !== undefined ? { allowCredentials: c.allowCredentials } : {}),
  };
}

function quote(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, "\\$&");
}

/**
 * One backendRef -> BackendIR. A reference that does not resolve (unknown, not permitted, wrong
 * kind, or a host this waypoint cannot reach) keeps its place and weight with `error` set, so its
 * share of the traffic gets a 500; the problem is recorded for ResolvedRefs.
 */
export function backend(ctx: GatewayContext, ref: { group?: string; kind?: string; name: string; namespace?: string; port?: number; weight?: number }, weight: number, path: FieldPath): BackendIR {
  const t = resolveBackendRef(ctx.model, ctx.route, ref);
  if ("reason" in t) {
    ctx.problems.push({ type: "ResolvedRefs", reason: t.reason, path, message: t.message });
    return { host: ref.name, ...(ref.port !== undefined ? { port: ref.port } : {}), weight, path, error: reasonBody(t.reason) };
  }
  const b: BackendIR = { host: t.host, ...(t.port !== undefined ? { port: t.port } : {}), weight, path };
  const r = ctx.resolve(b);
  if ("error" in r) {
    ctx.problems.push({ type: "ResolvedRefs", reason: "BackendNotServed", path, message: r.error });
    return { ...b, error: "backend not served by this waypoint" };
  }
  return b;
}

/** The short text a client sees in the 500 body. */
function reasonBody(reason: string): string {
  switch (reason) {
    case "RefNotPermitted": return "backend reference not permitted";
    case "InvalidKind": return "backend kind not supported";
    default: return "backend not found";
  }
}
