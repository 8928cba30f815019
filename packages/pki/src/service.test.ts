import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { IstioCertificateRequestSchema } from "@waystation/proto/istio/ca/ca_pb.js";
import { NodeCredentials } from "./auth.js";
import { CertificateAuthority } from "./ca.js";
import { CaClient } from "./client.js";
import { createCsr } from "./csr.js";
import { startCaServer, type CaServer } from "./service.js";
import { verifyChain } from "./verify.js";

const ZT_A = "ztunnel-node-a-token-0001";
const REVIEWS_TOKEN = "reviews-workload-token-03";
const REVIEWS = "spiffe://cluster.local/ns/default/sa/reviews";
const RATINGS = "spiffe://cluster.local/ns/default/sa/ratings";
const PRODUCTPAGE = "spiffe://cluster.local/ns/default/sa/productpage";
const credentials = NodeCredentials.parse(`
tokens:
  ${ZT_A}: { kind: ztunnel, node: node-a }
  ${REVIEWS_TOKEN}: { kind: workload, identity: ${REVIEWS} }
`);
const workloadsOnNode = (node: string) => (node === "node-a" ? [REVIEWS, PRODUCTPAGE] : [RATINGS]);

function code(e: unknown): string {
  return grpc.status[(e as grpc.ServiceError).code] ?? String(e);
}

async function withServer(t: { after: (fn: () => Promise<void> | void) => void }, tls: boolean): Promise<{ server: CaServer; client: (token?: string) => CaClient }> {
  const server = await startCaServer({ tls, credentials, workloadsOnNode });
  t.after(() => server.close());
  const client = (token?: string) => {
    const c = new CaClient({
      address: tls ? `localhost:${server.port}` : server.address,
      ...(token ? { token } : {}),
      ...(tls ? { rootCertPem: server.ca.trustBundle().pem() } : {}),
    });
    t.after(() => c.close());
    return c;
  };
  return { server, client };
}

for (const tls of [false, true]) {
  const mode = tls ? "TLS (15012)" : "plaintext (15010)";

  test(`CreateCertificate over ${mode}: workloads, ztunnels and refusals`, async (t) => {
    const { server, client } = await withServer(t, tls);
    const bundle = server.ca.trustBundle().pem();

    const own = await client(REVIEWS_TOKEN).fetchCertificate({ identity: REVIEWS }, bundle);
    assert.equal(new X509Certificate(own.certChain[0]!).subjectAltName, `URI:${REVIEWS}`);
    assert.equal(own.notAfter.getTime() - own.notBefore.getTime(), 86_400_000);

    const zt = client(ZT_A);
    const imp = await zt.fetchCertificate({ identity: PRODUCTPAGE, impersonate: true, ttlSeconds: 7200 }, bundle);
    assert.equal(imp.notAfter.getTime() - imp.notBefore.getTime(), 7_200_000);
    assert.ok(verifyChain(imp.certChain, bundle, new Date()).ok);
    const self = await zt.fetchCertificate({ identity: "spiffe://cluster.local/ns/istio-system/sa/ztunnel" }, bundle);
    assert.equal(self.identity, "spiffe://cluster.local/ns/istio-system/sa/ztunnel");

    await assert.rejects(zt.fetchCertificate({ identity: RATINGS, impersonate: true }), (e) =>
      code(e) === "PERMISSION_DENIED" && /ztunnel on node "node-a" may not impersonate spiffe:\/\/cluster.local\/ns\/default\/sa\/ratings/.test((e as Error).message));
    await assert.rejects(client(REVIEWS_TOKEN).fetchCertificate({ identity: RATINGS, impersonate: true }), (e) =>
      code(e) === "PERMISSION_DENIED" && /sa\/reviews may not ask for a certificate of spiffe:\/\/cluster.local\/ns\/default\/sa\/ratings/.test((e as Error).message));
    await assert.rejects(client(REVIEWS_TOKEN).fetchCertificate({ identity: RATINGS }), (e) =>
      code(e) === "PERMISSION_DENIED" && /certificate SAN is spiffe:\/\/cluster.local\/ns\/default\/sa\/ratings, expected spiffe:\/\/cluster.local\/ns\/default\/sa\/reviews/.test((e as Error).message));
    await assert.rejects(client().fetchCertificate({ identity: REVIEWS }), (e) => code(e) === "UNAUTHENTICATED" && /no `authorization: Bearer <token>` metadata/.test((e as Error).message));
    await assert.rejects(client("some-unknown-token-123").fetchCertificate({ identity: REVIEWS }), (e) => code(e) === "UNAUTHENTICATED" && /unknown bearer token/.test((e as Error).message));
    await assert.rejects(client(REVIEWS_TOKEN).createCertificate(create(IstioCertificateRequestSchema, { csr: "not a csr" })), (e) => code(e) === "INVALID_ARGUMENT");
    const { csrPem } = await createCsr(REVIEWS);
    await assert.rejects(client(ZT_A).createCertificate(create(IstioCertificateRequestSchema, { csr: csrPem, metadata: { ImpersonatedIdentity: 7 } })), (e) =>
      code(e) === "INVALID_ARGUMENT" && /metadata.ImpersonatedIdentity must be a string/.test((e as Error).message));
  });
}

test("TLS: the serving certificate is the control plane's identity with DNS names", async (t) => {
  const { server } = await withServer(t, true);
  const leaf = new X509Certificate(server.servingCertificate!.current.certChain[0]!);
  assert.equal(leaf.subjectAltName, "URI:spiffe://cluster.local/ns/istio-system/sa/waystation, DNS:waystation.istio-system.svc, DNS:localhost");
});

test("TLS: a client certificate from the CA authenticates its workload (renewal without a token)", async (t) => {
  const { server, client } = await withServer(t, true);
  const first = await client(REVIEWS_TOKEN).fetchCertificate({ identity: REVIEWS });
  const mtls = new CaClient({ address: `localhost:${server.port}`, rootCertPem: server.ca.trustBundle().pem(), clientCertificate: first });
  t.after(() => mtls.close());
  const renewed = await mtls.fetchCertificate({ identity: REVIEWS });
  assert.notEqual(renewed.serial, first.serial);
  await assert.rejects(mtls.fetchCertificate({ identity: RATINGS }), (e) => code(e) === "PERMISSION_DENIED");

  // A certificate from another CA is not verified by the TLS layer, so it authenticates nobody.
  const stranger = await (await CertificateAuthority.start()).issueKeyPair({ identity: REVIEWS });
  const bad = new CaClient({ address: `localhost:${server.port}`, rootCertPem: server.ca.trustBundle().pem(), clientCertificate: stranger });
  t.after(() => bad.close());
  await assert.rejects(bad.fetchCertificate({ identity: REVIEWS }), (e) => code(e) === "UNAUTHENTICATED" && /no verified client certificate/.test((e as Error).message));
});

test("TLS: after a root rotation the server presents a certificate from the new root", async (t) => {
  const { server } = await withServer(t, true);
  const before = server.servingCertificate!.current.serial;
  const bundle = await server.ca.rotateRoot();
  for (let i = 0; i < 100 && server.servingCertificate!.current.serial === before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.notEqual(server.servingCertificate!.current.serial, before, "renewed on the bundle change");
  const newRootOnly = new CaClient({ address: `localhost:${server.port}`, token: REVIEWS_TOKEN, rootCertPem: bundle.active[0]! });
  t.after(() => newRootOnly.close());
  const issued = await newRootOnly.fetchCertificate({ identity: REVIEWS }, bundle.pem());
  assert.equal(issued.certChain[issued.certChain.length - 1], bundle.active[0]);
});
