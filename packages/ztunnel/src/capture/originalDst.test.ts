// The addon and the capture listener on connections that were NOT redirected (no privileges
// needed). Redirected connections are checked in network namespaces by test/ztunnel/capture.test.ts.
import assert from "node:assert/strict";
import * as net from "node:net";
import { describe, it } from "node:test";
import { AccessLog, type AccessRecord } from "../accessLog.js";
import { captureListener } from "./captureListener.js";
import { captureSupport, readOriginalDst, socketFd } from "./originalDst.js";

const support = captureSupport();
const skipWhy = support.available ? undefined
  : `native addon unavailable (${support.why}); with it built this checks that a direct connection is not taken for a redirected one`;

/** Accepts one connection on 127.0.0.1 and resolves with both ends. */
async function pair(): Promise<{ server: net.Socket; client: net.Socket; close(): Promise<void> }> {
  const srv = net.createServer();
  const accepted = new Promise<net.Socket>((r) => srv.once("connection", r));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const client = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
  const server = await accepted;
  return { server, client, close: () => { client.destroy(); server.destroy(); return new Promise((r) => srv.close(() => r())); } };
}

describe("readOriginalDst", () => {
  it("reports a connection made straight to the listener as not redirected", async (t) => {
    if (skipWhy) return t.skip(skipWhy);
    const p = await pair();
    try {
      assert.equal(typeof socketFd(p.server), "number");
      const r = readOriginalDst(p.server);
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.kind, "not-redirected", JSON.stringify(r));
    } finally {
      await p.close();
    }
  });

  it("reports a closed socket as having no file descriptor", async (t) => {
    if (skipWhy) return t.skip(skipWhy);
    const p = await pair();
    p.server.destroy();
    await new Promise((r) => p.server.once("close", r));
    assert.equal(socketFd(p.server), undefined);
    const r = readOriginalDst(p.server);
    assert.equal(!r.ok && r.kind, "no-fd");
    await p.close();
  });
});

describe("captureListener", () => {
  it("closes a connection that was not redirected, logs why, and runs no flow", async (t) => {
    if (skipWhy) return t.skip(skipWhy);
    const records: { message: string; record: AccessRecord }[] = [];
    const flows: unknown[] = [];
    const l = await captureListener({ host: "127.0.0.1", port: 0 }, () => undefined, async (...args) => { flows.push(args); },
      new AccessLog((_level, message, record) => records.push({ message, record })));
    try {
      const c = net.connect(l.address.port, "127.0.0.1");
      c.on("error", () => {});
      await new Promise((r) => c.once("close", r));
      assert.equal(flows.length, 0);
      assert.equal(records.length, 1);
      assert.equal(records[0]!.message, "connection failed");
      assert.equal(records[0]!.record["dst.addr"], `127.0.0.1:${l.address.port}`);
      assert.match(String(records[0]!.record.error), /no NAT record|directly/);
    } finally {
      await l.close();
    }
  });
});
