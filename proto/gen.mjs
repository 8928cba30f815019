// Generates TypeScript (protobuf-es v2) for the Envoy/xDS protos that @grpc/grpc-js-xds ships and
// for our own Istio wire protos under src/. Runs offline: buf and protoc-gen-es come from npm.
//
// Two fixes are applied to the bundled protos before buf sees them (see
// shared/reference/toolchain.md §1.1):
//  - the bundled PGV validate.proto predates `ignore_empty`, which Envoy's annotations use, so a
//    patched copy is written to .build/validate/validate.proto;
//  - the deps directory is linked in as ./deps, because buf refuses module paths outside the
//    directory that holds buf.yaml.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, readdirSync, symlinkSync, writeFileSync, lstatSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { roots } from "./roots.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const xdsPkg = dirname(require.resolve("@grpc/grpc-js-xds/package.json"));
const started = Date.now();

// 1. ./deps -> node_modules/@grpc/grpc-js-xds/deps
const depsLink = join(here, "deps");
const depsTarget = relative(here, join(xdsPkg, "deps"));
if (existsSync(depsLink) || isLink(depsLink)) rmSync(depsLink, { force: true, recursive: false });
symlinkSync(depsTarget, depsLink, "dir");

// 2. patched validate.proto: upstream PGV field numbers for ignore_empty.
const validateSrc = readFileSync(join(xdsPkg, "deps/protoc-gen-validate/validate/validate.proto"), "utf8");
const numeric = ["Float", "Double", "Int32", "Int64", "UInt32", "UInt64", "SInt32", "SInt64",
  "Fixed32", "Fixed64", "SFixed32", "SFixed64"];
const ignoreEmpty = new Map([...numeric.map((n) => [`${n}Rules`, 8]),
  ["StringRules", 26], ["BytesRules", 14], ["RepeatedRules", 5], ["MapRules", 6]]);
let patched = validateSrc;
for (const [msg, num] of ignoreEmpty) {
  const open = `message ${msg} {`;
  if (!patched.includes(open)) throw new Error(`validate.proto: ${open} not found`);
  if (new RegExp(`message ${msg} \\{[^}]*ignore_empty`).test(patched)) continue;
  patched = patched.replace(open, `${open}\n    optional bool ignore_empty = ${num};`);
}
mkdirSync(join(here, ".build/validate"), { recursive: true });
writeFileSync(join(here, ".build/validate/validate.proto"), patched);

// 3. buf generate, restricted to the roots and their import closure.
const buf = join(dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");
const binDir = join(here, "..", "node_modules", ".bin");
const args = ["generate", "--template", "buf.gen.yaml"];
// buf v2 workspaces want --path relative to buf.yaml, i.e. with the module directory in front.
const modules = ["deps/envoy-api", "deps/xds", "deps/googleapis", ".build", "src"];
for (const r of roots) {
  const mod = modules.find((m) => existsSync(join(here, m, r)));
  if (!mod) throw new Error(`proto root ${r} is in none of ${modules.join(", ")}`);
  args.push("--path", join(mod, r));
}
execFileSync(buf, args, {
  cwd: here,
  stdio: "inherit",
  env: { ...process.env, PATH: `${binDir}:${join(here, "node_modules", ".bin")}:${process.env.PATH}` },
});

const { files, bytes } = sizeOf(join(here, "gen"));
console.log(`proto: generated ${files} files (${(bytes / 1e6).toFixed(1)} MB) from ${roots.length} roots in ${((Date.now() - started) / 1000).toFixed(1)} s`);

function isLink(p) {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}

function sizeOf(dir) {
  let files = 0, bytes = 0;
  const walk = (d) => {
    for (const name of readdirSyncSafe(d)) {
      const p = join(d, name);
      const s = statSync(p);
      if (s.isDirectory()) walk(p); else { files++; bytes += s.size; }
    }
  };
  walk(dir);
  return { files, bytes };
}

function readdirSyncSafe(d) {
  try { return readdirSync(d); } catch { return []; }
}
