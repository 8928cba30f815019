// Builds the ztunnel's optional native addon (packages/ztunnel/native: SO_ORIGINAL_DST for
// transparent capture) with npm's own node-gyp against the headers of the running Node, offline.
// It never fails an install: whatever goes wrong, it prints one line saying what and exits 0; the
// ztunnel then runs without --capture. Called from the root `prepare` script; also by hand:
//   node scripts/build-native.mjs            (WAYSTATION_SKIP_NATIVE=1 skips it)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const nativeDir = join(root, "packages/ztunnel/native");
const addon = join(nativeDir, "build/Release/waystation_capture.node");
const log = join(nativeDir, "build/build-native.log");
const say = (msg) => console.log(`build-native: ${msg}`);

/** npm's bundled node-gyp: the one npm names to scripts, else the one beside the running npm/Node. */
function findNodeGyp() {
  const inNpm = (npmRoot) => join(npmRoot, "node_modules/node-gyp/bin/node-gyp.js");
  const candidates = [
    () => process.env.npm_config_node_gyp,
    // Node's installers put npm in <prefix>/lib/node_modules/npm beside <prefix>/bin/node.
    () => inNpm(join(dirname(dirname(process.execPath)), "lib/node_modules/npm")),
    () => process.env.npm_execpath && inNpm(join(dirname(process.env.npm_execpath), "..")),
    () => {
      const prefix = spawnSync("npm", ["prefix", "-g"], { encoding: "utf8" }).stdout?.trim();
      return prefix && inNpm(join(prefix, "lib/node_modules/npm"));
    },
  ];
  for (const c of candidates) {
    const path = c();
    if (path && existsSync(path)) return path;
  }
  return undefined;
}

/** The headers of the running Node (<prefix>/include/node), so node-gyp downloads nothing. */
function findNodeDir() {
  for (const dir of [process.env.npm_config_nodedir, dirname(dirname(process.execPath))]) {
    if (dir && existsSync(join(dir, "include/node/node_api.h"))) return dir;
  }
  return undefined;
}

function main() {
  if (process.env.WAYSTATION_SKIP_NATIVE) return say("skipped (WAYSTATION_SKIP_NATIVE is set); transparent capture unavailable");
  if (process.platform !== "linux") return say(`skipped: transparent capture is Linux only (this is ${process.platform})`);
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return say("addon not built: npm's node-gyp not found; transparent capture (--capture) unavailable");
  const nodeDir = findNodeDir();
  const args = [nodeGyp, "rebuild", ...(nodeDir ? [`--nodedir=${nodeDir}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: nativeDir, encoding: "utf8", timeout: 300_000, env: { ...process.env, npm_config_loglevel: "warn" } });
  const output = `$ node ${args.join(" ")}\n${r.stdout ?? ""}${r.stderr ?? ""}${r.error ? `\n${r.error.message}\n` : ""}`;
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, output);
  if (r.status === 0 && existsSync(addon)) return say(`built ${addon.slice(root.length)}`);
  const why = r.error ? r.error.message
    : /python/i.test(output) && /not found|can't find|could not find/i.test(output) ? "python3 missing"
      : /(make|g\+\+|cc|gcc): (not found|No such file)/i.test(output) ? "make or a C compiler missing"
        : !nodeDir ? "no Node headers found locally (node-gyp tried to download them)"
          : `node-gyp exited with ${r.status ?? r.signal}`;
  say(`addon not built (${why}; details in ${log.slice(root.length)}); transparent capture (--capture) unavailable`);
}

try {
  main();
} catch (err) {
  say(`addon not built (${err.message}); transparent capture (--capture) unavailable`);
}
