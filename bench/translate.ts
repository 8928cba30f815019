/**
 * Translation cost (issue 4) on one core, in this process, on a synthetic mesh (bench/lib/mesh.ts):
 *
 *   (a) full build for N services: buildModel, translateWaypoint, validateSnapshot, buildSnapshot
 *       (encoding + content hashes); ms per service and how far from linear it is;
 *   (b) one VirtualService edit at 1,000 services: the full path the control plane takes today
 *       against an incremental path that rebuilds only that service's route and clusters;
 *   (c) 5,000 AuthorizationPolicies (10 rules each) targeting the waypoint: authorizationFor.
 *
 * Figures are medians of several runs after a warm-up, with a forced GC before every run (fewer
 * runs when one run takes seconds). A step whose single run would exceed --budget-s is not run;
 * its projection is printed instead, marked "~" (see bench/README.md for how it is projected).
 *
 *   npm run bench -- translate [--sizes 100,1000,10000] [--edit-services 1000] [--policies 5000]
 *                              [--rules 10] [--slice 20] [--budget-s 60] [--only a,b,c]
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { LoadedResource } from "@waystation/api";
import { buildModel, type MeshModel, type MeshService, type Waypoint } from "@waystation/model";
import { findDestinationRule, inboundVipName, translateWaypoint, type XdsResources } from "@waystation/translator";
import { validateResource, validateSnapshot } from "@waystation/translator/validate";
import { PUSH_ORDER, buildSnapshot, type Snapshot } from "@waystation/xds";
import { ClusterSchema } from "@waystation/proto/envoy/config/cluster/v3/cluster_pb.js";
import { RouteConfigurationSchema } from "@waystation/proto/envoy/config/route/v3/route_pb.js";
import { HttpFilterSchema } from "@waystation/proto/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
// Internal entry points, for the incremental estimate and the authz figure (not package exports).
import { routeConfigForPort } from "../packages/translator/src/routing/index.js";
import { serviceCluster } from "../packages/translator/src/waypoint/serviceCluster.js";
import { authorizationFor } from "../packages/translator/src/authz/index.js";
import { bytes, gc, intList, ms, option, printTable, repeat, timed, type Runs } from "./lib/measure.js";
import { serviceHost, syntheticMesh, withVirtualServiceEdit } from "./lib/mesh.js";
import { stitchedTranslation } from "./lib/stitch.js";

export const description = "translation cost: full build vs N services, one-edit re-translation, 5k AuthorizationPolicies";

const external = { external: { secrets: ["default", "ROOTCA"] } };

interface Options {
  sizes: number[];
  editServices: number;
  policies: number;
  rules: number;
  slice: number;
  budgetMs: number;
  only: Set<string>;
}

export async function run(args: string[]): Promise<void> {
  const sizes = intList(option(args, "sizes", "100,1000,10000")).sort((a, b) => a - b);
  const o: Options = {
    // Projections need a measured size below each big one.
    sizes: sizes[0] !== undefined && sizes[0] > 1000 ? [100, ...sizes] : sizes,
    editServices: Number(option(args, "edit-services", "1000")),
    policies: Number(option(args, "policies", "5000")),
    rules: Number(option(args, "rules", "10")),
    slice: Number(option(args, "slice", "20")),
    budgetMs: Number(option(args, "budget-s", "60")) * 1000,
    only: new Set(option(args, "only", "a,b,c").split(",")),
  };
  console.log(`translate bench: node ${process.version}, one thread; budget ${o.budgetMs / 1000} s per single run (over it: projected, marked ~)`);
  const warm = timed(() => warmUp(o.slice));
  process.stderr.write(`  translate bench: warm-up ${(warm.ms / 1000).toFixed(1)} s\n`);
  const sized = new Sizes(o);
  // Sizes up to the edit size first, then (b) and (c), then the big sizes: after a 10,000-service
  // run the heap is large and GC-heavy code measured in the same process runs several times slower.
  if (o.only.has("a")) for (const n of o.sizes.filter((x) => x <= o.editServices)) sized.get(n);
  const printB = o.only.has("b") ? oneEdit(o, sized) : undefined;
  const printC = o.only.has("c") ? authz(o) : undefined;
  const printA = o.only.has("a") ? fullBuild(o, sized) : undefined;
  for (const print of [printA, printB, printC]) print?.();
}

// ---------------------------------------------------------------------------------------------
// Measuring and projecting.

/** A figure: measured, or projected (not run). */
interface Cell { ms: number; projected: boolean }
const measured = (x: number): Cell => ({ ms: x, projected: false });
const fmt = (c: Cell | undefined, div = 1) => (c === undefined ? "-" : `${c.projected ? "~" : ""}${ms(c.ms / div)}`);
const sum = (...cs: (Cell | undefined)[]): Cell | undefined =>
  cs.some((c) => c === undefined) ? undefined : { ms: cs.reduce((a, c) => a + c!.ms, 0), projected: cs.some((c) => c!.projected) };

/**
 * Warm-up and run counts scaled to the cost of one run, so big sizes stay within minutes: the
 * first (timed) run is the warm-up; a run over 10 s is measured once, cold.
 */
function measure<T>(fn: () => T): Runs<T> {
  gc();
  const c = process.cpuUsage();
  const first = timed(fn);
  if (first.ms > 10_000) {
    const d = process.cpuUsage(c);
    return { samples: [first.ms], cpu: [(d.user + d.system) / 1000], last: first.value, median: first.ms, min: first.ms };
  }
  if (first.ms > 2_000) return repeat(fn, { warmup: 0, runs: 2 });
  if (first.ms > 300) return repeat(fn, { warmup: 0, runs: 3 });
  return repeat(fn, { warmup: 2, runs: 7 });
}

/** Runs the whole pipeline on a small mesh a few times, so the first size is not measured cold. */
function warmUp(slice: number): void {
  for (let i = 0; i < 3; i++) {
    const m = buildModel(syntheticMesh({ services: slice }));
    const t = translateWaypoint(m, theWaypoint(m));
    validateSnapshot(t.resources, external);
    toSnapshot(t.resources);
    stitchedTranslation(slice * 3, slice);
  }
}

/** Growth of a step between two measured sizes: t(n) = t(n0) * (n / n0)^k. */
function growth(points: readonly [number, number][]): { k: number; project(n: number): number } | undefined {
  if (points.length === 0) return undefined;
  const p = [...points].sort((a, b) => a[0] - b[0]);
  const last = p[p.length - 1]!;
  const prev = p[p.length - 2];
  // With one point, assume quadratic: projections decide what to skip, so err towards skipping.
  const k = prev ? Math.min(4, Math.max(0.8, Math.log(last[1] / prev[1]) / Math.log(last[0] / prev[0]))) : 2;
  return { k, project: (n) => last[1] * Math.pow(n / last[0], k) };
}

interface SizeResult {
  n: number;
  model?: Cell;
  /** routeConfigForPort for one service (median over a few services). */
  route?: Cell;
  translate?: Cell;
  /** Summed translateWaypoint of slices of the mesh (one pass). */
  sliced?: Cell;
  validate?: Cell;
  encode?: Cell;
  /** validate/encode ran on the stitched translation, not on translateWaypoint's own output. */
  stitched?: boolean;
  resources?: number;
  snapshotBytes?: number;
  validationErrors?: number;
}

/** Per-size results, computed once and shared by (a) and (b). */
class Sizes {
  private readonly results = new Map<number, SizeResult>();
  constructor(private readonly o: Options) {}

  private points(step: "model" | "route" | "validate" | "encode"): [number, number][] {
    return [...this.results.values()].filter((r) => r[step] && !r[step]!.projected).map((r) => [r.n, r[step]!.ms]);
  }

  /** translateWaypoint / (n x routeConfigForPort) at the largest size where both ran: how much of it the routes are. */
  private routeShare(): number | undefined {
    const both = [...this.results.values()].filter((r) => r.translate && !r.translate.projected && r.route && !r.route.projected).sort((a, b) => a.n - b.n).pop();
    return both ? both.translate!.ms / (both.n * both.route!.ms) : undefined;
  }

  private over(step: "model" | "route" | "validate" | "encode", n: number): Cell | undefined {
    const g = growth(this.points(step));
    const p = g?.project(n);
    return p !== undefined && p > this.o.budgetMs ? { ms: p, projected: true } : undefined;
  }

  get(n: number): SizeResult {
    const known = this.results.get(n);
    if (known) return known;
    const started = performance.now();
    const r = this.compute(n);
    this.results.set(n, r);
    process.stderr.write(`  translate bench: ${n} services measured in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return r;
  }

  /** Growth exponents between the two largest measured sizes, for the summary line. */
  exponents(): string {
    return (["model", "route", "validate", "encode"] as const).map((s) => `${s} n^${growth(this.points(s))?.k.toFixed(2) ?? "?"}`).join(", ");
  }

  private compute(n: number): SizeResult {
    const r: SizeResult = { n };
    const resources = syntheticMesh({ services: n });
    const model = this.over("model", n) ?? measured(measure(() => buildModel(resources)).median);
    r.model = model;
    if (model.projected) return r;
    const m = buildModel(resources);
    const w = theWaypoint(m);

    // One service's routes; its cost times n is what translateWaypoint spends on routes.
    r.route = this.over("route", n);
    if (!r.route) {
      const picks = [0, Math.floor(n / 2), n - 1].map((i) => m.services.find((s) => s.hostname === serviceHost(i))!);
      const runs = picks.map((s) => measure(() => routeConfigForPort(m, w, s, s.ports[0]!, inboundVipName(s, s.ports[0]!))).median);
      r.route = measured(runs.sort((a, b) => a - b)[1]!);
    }
    const share = this.routeShare();
    const projected = share === undefined ? undefined : share * n * r.route.ms;
    let translation: XdsResources | undefined;
    if (projected !== undefined && projected > this.o.budgetMs) {
      r.translate = { ms: projected, projected: true };
    } else {
      const t = measure(() => translateWaypoint(m, w));
      r.translate = measured(t.median);
      translation = t.last.resources;
    }

    // The slices: what a translator whose per-service cost does not grow with the mesh would take.
    timed(() => stitchedTranslation(Math.min(n, this.o.slice * 3), this.o.slice)); // warm-up
    gc();
    const stitched = stitchedTranslation(n, this.o.slice);
    r.sliced = measured(stitched.translateMs);
    if (!translation) {
      translation = stitched.resources;
      r.stitched = true;
    }
    const res = translation;
    r.resources = res.clusters.length + res.endpoints.length + res.listeners.length + res.routes.length;

    r.validate = this.over("validate", n);
    if (!r.validate) {
      const v = measure(() => validateSnapshot(res, external));
      r.validate = measured(v.median);
      r.validationErrors = v.last.length;
    }
    r.encode = this.over("encode", n);
    if (!r.encode) {
      const e = measure(() => toSnapshot(res));
      r.encode = measured(e.median);
      r.snapshotBytes = snapshotBytes(e.last);
    }
    return r;
  }
}

function toSnapshot(r: XdsResources): Snapshot {
  return buildSnapshot([...r.clusters, ...r.endpoints, ...r.listeners, ...r.routes, ...r.secrets]);
}

function snapshotBytes(s: Snapshot): number {
  let b = 0;
  for (const u of PUSH_ORDER) for (const item of s.get(u)?.items ?? []) b += item.bytes.length;
  return b;
}

function theWaypoint(model: MeshModel): Waypoint {
  const w = model.waypoints[0];
  if (!w) throw new Error("the synthetic mesh has no waypoint");
  return w;
}

// ---------------------------------------------------------------------------------------------
// (a) Full build.

function fullBuild(o: Options, sized: Sizes): () => void {
  const results = o.sizes.map((n) => sized.get(n));
  return () => {
    const rows = results.map((r) => {
      const mt = sum(r.model, r.translate);
      const all = sum(r.model, r.translate, r.validate, r.encode);
      const mark = r.stitched ? "*" : "";
      return [
        String(r.n), fmt(r.model), fmt(r.translate), fmt(mt), fmt(mt, r.n),
        `${fmt(r.validate)}${mark}`, `${fmt(r.encode)}${mark}`, fmt(all), fmt(all, r.n),
        fmt(r.route), fmt(r.sliced), fmt(r.sliced, r.n),
        r.resources === undefined ? "-" : `${r.resources}${mark}`, r.snapshotBytes === undefined ? "-" : `${bytes(r.snapshotBytes)}${mark}`,
        r.validationErrors === undefined ? "-" : String(r.validationErrors),
      ];
    });
    printTable("(a) full build, one waypoint fronting N services (median wall ms; ~ = projected, not run; * = on the stitched snapshot)",
      ["services", "buildModel", "translate", "model+transl", "per svc", "+validate", "+encode", "full", "per svc",
        "1 route", "sliced transl", "per svc", "resources", "snapshot", "val.errors"],
      rows);
    const base = results[0];
    const top = results[results.length - 1];
    if (base && top && top !== base) {
      const ratio = (a: Cell | undefined, b: Cell | undefined) => (a && b ? `${a.projected || b.projected ? "~" : ""}${((a.ms / top.n) / (b.ms / base.n)).toFixed(1)}x` : "-");
      console.log(`linearity, per-service cost at ${top.n} vs ${base.n} services (1.0x = linear): `
        + `model+translate ${ratio(sum(top.model, top.translate), sum(base.model, base.translate))}, `
        + `full ${ratio(sum(top.model, top.translate, top.validate, top.encode), sum(base.model, base.translate, base.validate, base.encode))}, `
        + `buildModel ${ratio(top.model, base.model)}, validate ${ratio(top.validate, base.validate)}, encode ${ratio(top.encode, base.encode)}, sliced translate ${ratio(top.sliced, base.sliced)}`);
    }
    console.log(`growth between the two largest measured sizes: ${sized.exponents()}`);
  };
}

// ---------------------------------------------------------------------------------------------
// (b) One VirtualService edit.

function oneEdit(o: Options, sized: Sizes): () => void {
  const n = o.editServices;
  // The full path after an edit is the full build: today nothing is reused.
  if (!o.sizes.includes(n) || !o.only.has("a")) for (const s of [Math.max(10, Math.floor(n / 10)), n]) sized.get(s);
  const size = sized.get(n);
  const resources = syntheticMesh({ services: n });
  const target = Math.floor(n / 2);
  // Edited copies prepared up front, so the timed region holds only what the control plane does.
  const variants = Array.from({ length: 12 }, (_, k) => withVirtualServiceEdit(resources, target, k + 1));
  let edit = 0;
  const edited = (): LoadedResource[] => variants[edit++ % variants.length]!;
  const model = measure(() => buildModel(edited()));
  const m = model.last;
  const w = theWaypoint(m);
  const svc = m.services.find((s) => s.hostname === serviceHost(target)) as MeshService;
  const port = svc.ports[0]!;
  const full = sum(measured(model.median), size.translate, size.validate, size.encode);

  // Incremental: only this service's RouteConfiguration and clusters, validated and encoded.
  const name = inboundVipName(svc, port);
  const route = measure(() => routeConfigForPort(m, w, svc, port, name));
  const clustersOf = () => {
    const dr = findDestinationRule(m, svc, w.namespace);
    const opts = { connectTimeoutSeconds: 10, ...(dr ? { destinationRule: dr } : {}) };
    return [serviceCluster(name, svc, port, opts),
      ...(dr?.object.spec.subsets ?? []).map((s) => serviceCluster(inboundVipName(svc, port, s.name), svc, port, { ...opts, subset: s.name }))];
  };
  const clusters = measure(clustersOf);
  const validateOne = () => [validateResource(RouteConfigurationSchema, route.last.routeConfig), ...clusters.last.map((c) => validateResource(ClusterSchema, c))];
  const validate = measure(validateOne);
  const encodeOne = () => [toBinary(RouteConfigurationSchema, route.last.routeConfig), ...clusters.last.map((c) => toBinary(ClusterSchema, c))]
    .map((b) => createHash("sha256").update(b).digest("hex").slice(0, 16));
  const encode = measure(encodeOne);
  const incremental = route.median + clusters.median + validate.median + encode.median;

  // The same route at slice size: what it costs when it does not scan the whole mesh.
  const small = buildModel(syntheticMesh({ services: o.slice, first: target }));
  const ws = theWaypoint(small);
  const ss = small.services.find((s) => s.hostname === serviceHost(target))!;
  const routeSmall = measure(() => routeConfigForPort(small, ws, ss, ss.ports[0]!, name));

  return () => {
    printTable(`(b) one VirtualService edit at ${n} services (median wall ms; ~ = projected, not run)`, ["path", "ms"], [
      ["full: buildModel", ms(model.median)],
      ["full: translateWaypoint", fmt(size.translate)],
      [`full: validateSnapshot${size.stitched ? " (stitched snapshot)" : ""}`, fmt(size.validate)],
      [`full: buildSnapshot${size.stitched ? " (stitched snapshot)" : ""}`, fmt(size.encode)],
      ["full path total", fmt(full)],
      ["incremental: routeConfigForPort, the edited service", ms(route.median)],
      [`incremental: its ${clusters.last.length} clusters (findDestinationRule + serviceCluster)`, ms(clusters.median)],
      ["incremental: validate those resources", ms(validate.median)],
      ["incremental: encode + hash those resources", ms(encode.median)],
      ["incremental total (model rebuild excluded)", ms(incremental)],
      ["incremental total + buildModel as today", ms(incremental + model.median)],
      [`same route in a ${o.slice}-service mesh (no whole-mesh scans)`, ms(routeSmall.median)],
    ]);
    if (full) console.log(`full / incremental: ${full.projected ? "~" : ""}${(full.ms / (incremental + model.median)).toFixed(0)}x with buildModel on both sides, `
      + `${full.projected ? "~" : ""}${((full.ms - model.median) / incremental).toFixed(0)}x without`);
  };
}

// ---------------------------------------------------------------------------------------------
// (c) AuthorizationPolicies.

function authz(o: Options): () => void {
  const services = 10;
  const resources = syntheticMesh({ services, authorizationPolicies: o.policies, rulesPerPolicy: o.rules });
  const model = measure(() => buildModel(resources));
  const m = model.last;
  const w = theWaypoint(m);
  const svc = m.services[0]!;
  const one = measure(() => authorizationFor(m, w, svc));
  const filters = one.last.httpFilters;
  const filterBytes = filters.reduce((a, f) => a + toBinary(HttpFilterSchema, create(HttpFilterSchema, f)).length, 0);
  const validate = measure(() => filters.map((f) => validateResource(HttpFilterSchema, f)));
  const errors = validate.last.reduce((a, v) => a + v.errors.length, 0);
  const attached = m.attachments.filter((a) => a.waypoints.length > 0).length;
  return () => printTable(`(c) ${o.policies} AuthorizationPolicies x ${o.rules} rules targeting the waypoint (${attached} attached; median wall ms)`, ["step", "ms", "note"], [
    [`buildModel (${services} services + the policies)`, ms(model.median), "includes policy attachment"],
    ["authorizationFor, one service", ms(one.median), `${filters.length} HTTP filter(s), ${bytes(filterBytes)} encoded, ${one.last.conditions.length} conditions`],
    [`authorizationFor x ${services} services`, `~${ms(one.median * services)}`, "one call per service chain; the result is not shared between chains"],
    ["validateResource on those filter(s)", ms(validate.median), `${errors} validation errors`],
  ], [0, 2]);
}
