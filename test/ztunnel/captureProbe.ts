// Runs inside a network namespace for capture.test.ts. For each case [listen-host, host, port] of
// the JSON array in argv[2]: listens on <listen-host>:15001, connects to <host>:<port> (which the
// namespace's iptables REDIRECT may send to that listener), and records what readOriginalDst says
// about the accepted connection. Prints the results as one JSON array.
import * as net from "node:net";
import { readOriginalDst } from "@waystation/ztunnel/capture";

type Case = [listen: string, host: string, port: number];

function probe([listen, host, port]: Case): Promise<unknown> {
  return new Promise((resolve) => {
    let client: net.Socket | undefined;
    const server = net.createServer((s) => finish({ result: readOriginalDst(s) }, s));
    const timer = setTimeout(() => finish({ error: "no connection arrived within 10 s" }), 10_000);
    function finish(out: unknown, s?: net.Socket): void {
      clearTimeout(timer);
      s?.destroy();
      client?.destroy();
      server.close(() => resolve(out));
    }
    server.listen(15001, listen, () => {
      client = net.connect(port, host);
      client.on("error", (e) => finish({ error: e.message }));
    });
  });
}

const results: unknown[] = [];
for (const c of JSON.parse(process.argv[2] ?? "[]") as Case[]) results.push(await probe(c));
process.stdout.write(`${JSON.stringify(results)}\n`);
