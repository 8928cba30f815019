/**
 * A proxyless gRPC mesh for tests: real gRPC servers on free ports (one per version), the
 * examples/grpc mesh copied to a temp dir with those ports written into the Pods, the real
 * control plane serving it, and @grpc/grpc-js-xds clients dialling xds:/// targets with a
 * per-channel bootstrap. Everything started here is closed by `close()`.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { register } from "@grpc/grpc-js-xds";
import { parseAllDocuments } from "yaml";
import { ControlPlane } from "@waystation/controller";

const root = new URL("../..", import.meta.url).pathname;

const unary = (path: string) => ({
  path, requestStream: false, responseStream: false,
  requestSerialize: (s: string) => Buffer.from(s), requestDeserialize: (b: Buffer) => b.toString(),
  responseSerialize: (s: string) => Buffer.from(s), responseDeserialize: (b: Buffer) => b.toString(),
});

/** A hand-written service: WhoAmI answers the backend's name; Flaky fails its first attempts. */
export const echoService = {
  whoAmI: unary("/waystation.test.Echo/WhoAmI"),
  flaky: unary("/waystation.test.Echo/Flaky"),
} satisfies grpc.ServiceDefinition;
const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

/** How many attempts Flaky fails (UNAVAILABLE) before it answers, counted by grpc-previous-rpc-attempts. */
export const FLAKY_FAILURES = 3;

export interface Backend {
  readonly name: string;
  readonly port: number;
  /** Attempts of Flaky seen, by the x-call-id of the call. */
  readonly flakyAttempts: Map<string, number>;
  close(): void;
}

export async function startBackend(name: string): Promise<Backend> {
  const server = new grpc.Server();
  const flakyAttempts = new Map<string, number>();
  server.addService(echoService, {
    whoAmI: (_call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => cb(null, name),
    flaky: (call: grpc.ServerUnaryCall<string, string>, cb: grpc.sendUnaryData<string>) => {
      const id = String(call.metadata.get("x-call-id")[0] ?? "");
      flakyAttempts.set(id, (flakyAttempts.get(id) ?? 0) + 1);
      // grpc-js numbers retries in this header; the first attempt has none.
      const previous = Number(call.metadata.get("grpc-previous-rpc-attempts")[0] ?? 0);
      if (previous < FLAKY_FAILURES) cb({ code: grpc.status.UNAVAILABLE, details: `${name}: attempt ${previous + 1} fails` });
      else cb(null, name);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  return { name, port, flakyAttempts, close: () => server.forceShutdown() };
}

/** The outcome of one call: the backend's answer, or the gRPC status code and details. */
export type Outcome = { ok: true; value: string; ms: number } | { ok: false; code: grpc.status; details: string; ms: number };

export class XdsClient {
  private readonly client: grpc.Client;
  constructor(readonly target: string, xdsAddress: string, nodeId: string) {
    const bootstrap = {
      xds_servers: [{ server_uri: xdsAddress, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
      node: { id: nodeId, locality: {} }, // grpc-js-xds requires node.locality
    };
    this.client = new EchoClient(`xds:///${target}`, grpc.credentials.createInsecure(),
      { "grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config": JSON.stringify(bootstrap) });
  }

  call(method: "whoAmI" | "flaky", headers: Record<string, string> = {}, deadlineMs = 5000): Promise<Outcome> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) md.set(k, v);
    const start = performance.now();
    return new Promise((resolve) => {
      const fn = (this.client as unknown as Record<string, (r: string, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, v?: string) => void) => void>)[method]!;
      fn.call(this.client, "hi", md, { deadline: Date.now() + deadlineMs }, (e, v) => {
        const ms = performance.now() - start;
        resolve(e ? { ok: false, code: e.code, details: e.details, ms } : { ok: true, value: v!, ms });
      });
    });
  }

  /** `n` WhoAmI calls, `parallel` at a time; counts answers by backend (or "error:<code>"). */
  async tally(n: number, headers: Record<string, string> = {}, parallel = 50): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (let done = 0; done < n; done += parallel) {
      const batch = await Promise.all(Array.from({ length: Math.min(parallel, n - done) }, () => this.call("whoAmI", headers)));
      for (const o of batch) {
        const k = o.ok ? o.value : `error:${grpc.status[o.code]}`;
        counts[k] = (counts[k] ?? 0) + 1;
      }
    }
    return counts;
  }

  close(): void {
    this.client.close();
  }
}

/** The control plane on a temp copy of examples/grpc, Pods pointed at the given backends. */
export class GrpcMesh {
  private clients: XdsClient[] = [];
  private constructor(readonly dir: string, readonly cp: ControlPlane) {}

  /** `ports`: Pod name -> port of the server that plays it. */
  static async start(ports: Record<string, number>): Promise<GrpcMesh> {
    register();
    const dir = await mkdtemp(join(tmpdir(), "waystation-grpc-"));
    await cp(join(root, "examples/grpc"), dir, { recursive: true });
    for (const file of ["mesh.yaml", "legacy.yaml"]) await writeFile(join(dir, file), withPorts(await readFile(join(dir, file), "utf8"), ports));
    const cpl = new ControlPlane({ config: [dir], xdsPort: 0, secureXdsPort: -1, monitorPort: 0, rateLimit: { port: 0 }, host: "127.0.0.1", debounceMs: 20 });
    await cpl.start();
    return new GrpcMesh(dir, cpl);
  }

  client(target: string, nodeId: string): XdsClient {
    const c = new XdsClient(target, `127.0.0.1:${this.cp.xdsPort}`, nodeId);
    this.clients.push(c);
    return c;
  }

  async monitor<T>(path: string): Promise<T> {
    return (await fetch(`http://127.0.0.1:${this.cp.monitorPort}${path}`)).json() as Promise<T>;
  }

  async edit(file: string, f: (text: string) => string): Promise<void> {
    const p = join(this.dir, file);
    const before = await readFile(p, "utf8");
    const after = f(before);
    if (after === before) throw new Error(`edit of ${file} changed nothing`);
    await writeFile(p, after);
  }

  async remove(file: string): Promise<void> {
    await rm(join(this.dir, file));
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.close();
    await this.cp.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Sets the containerPort of each named Pod's "grpc" port. */
function withPorts(text: string, ports: Record<string, number>): string {
  return parseAllDocuments(text).map((doc) => {
    const name = doc.getIn(["metadata", "name"]);
    if (doc.get("kind") === "Pod" && typeof name === "string" && ports[name] !== undefined) {
      doc.setIn(["spec", "containers", 0, "ports", 0, "containerPort"], ports[name]);
    }
    return doc.toString();
  }).join("---\n");
}

/** Polls `f` until it returns a value, or fails after `ms`. */
export async function eventually<T>(f: () => Promise<T | undefined>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
