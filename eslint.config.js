// Lint rules. The one that matters most: pure packages (api, model, translator) stay free of
// sockets, gRPC, the Kubernetes client, the file system and the process environment, so that
// translation is a deterministic function of its input (DESIGN.md, STYLE.md §1 and §10).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Bare module names go under `paths` (exact names); `patterns` match path segments too, which
// would flag generated proto paths such as .../filters/http/... or .../transport_sockets/tls/...
const socketModules = ["net", "tls", "http", "http2", "https", "dgram", "dns"];
const ioModules = ["fs", "fs/promises", "child_process"];
const impurePaths = [
  ...socketModules.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: "pure packages open no sockets" })),
  ...ioModules.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: "pure packages do no I/O: read files in controller/cli and pass text in" })),
  ...["@waystation/xds", "@waystation/controller", "@waystation/cli", "@waystation/ztunnel", "@waystation/pki", "@waystation/ratelimit"]
    .map((name) => ({ name, message: "dependencies point one way: pure packages import only pure packages" })),
];
const impurePatterns = [
  { group: ["@grpc/*"], message: "pure packages do not speak gRPC" },
  { group: ["@kubernetes/*"], message: "pure packages do not talk to Kubernetes" },
];

export default tseslint.config(
  { ignores: ["**/node_modules/**", "proto/gen/**", "proto/deps", "proto/.build/**", "**/testdata/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", URL: "readonly",
      setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly",
      setImmediate: "readonly", queueMicrotask: "readonly", AbortController: "readonly", TextEncoder: "readonly", TextDecoder: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "warn",
    },
  },
  {
    files: ["packages/api/src/**/*.ts", "packages/model/src/**/*.ts", "packages/translator/src/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: impurePaths, patterns: impurePatterns }],
      "no-restricted-globals": ["error", { name: "process", message: "pure packages read no environment" }],
      "no-console": "error",
      "no-restricted-properties": ["error",
        { object: "Date", property: "now", message: "translators use no clock" },
        { object: "Math", property: "random", message: "translators use no randomness" }],
    },
  },
);
