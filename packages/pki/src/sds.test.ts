import { test } from "node:test";
import assert from "node:assert/strict";
import { toJson } from "@bufbuild/protobuf";
import { SecretSchema } from "@waystation/proto/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { validateResource } from "@waystation/translator/validate";
import { CertificateAuthority } from "./ca.js";
import { issueForWaypoint, proxySecrets, rotationDue, rotationTime, SdsNames, tlsCertificateSecret, validationContextSecret } from "./sds.js";

const WAYPOINT = "spiffe://cluster.local/ns/default/sa/waypoint";
const T0 = Date.parse("2030-01-01T00:00:00Z");

test("SDS secrets named as Istio's agent names them pass the strict validator", async () => {
  const ca = await CertificateAuthority.start({ clock: () => T0 });
  const cert = await issueForWaypoint(ca, WAYPOINT);
  const secrets = proxySecrets(cert, ca.trustBundle());
  assert.deepEqual(secrets.map((s) => s.name), [SdsNames.rootCa, SdsNames.default]);
  for (const s of secrets) assert.deepEqual(validateResource(SecretSchema, s).errors, []);

  const def = toJson(SecretSchema, tlsCertificateSecret(cert)) as { name: string; tlsCertificate: { certificateChain: { inlineString: string }; privateKey: { inlineString: string } } };
  assert.equal(def.name, "default");
  assert.equal(def.tlsCertificate.certificateChain.inlineString, cert.certChain.join(""));
  assert.match(def.tlsCertificate.privateKey.inlineString, /^-----BEGIN PRIVATE KEY-----\n/);
  const root = toJson(SecretSchema, validationContextSecret(ca.trustBundle())) as { name: string; validationContext: { trustedCa: { inlineString: string } } };
  assert.equal(root.name, "ROOTCA");
  assert.equal(root.validationContext.trustedCa.inlineString, ca.trustBundle().pem());
});

test("during a rotation ROOTCA carries both roots", async () => {
  const ca = await CertificateAuthority.start({ clock: () => T0 });
  const bundle = await ca.rotateRoot();
  const secret = validationContextSecret(bundle);
  assert.deepEqual(validateResource(SecretSchema, secret).errors, []);
  const text = secret.type.case === "validationContext" && secret.type.value.trustedCa?.specifier.case === "inlineString" ? secret.type.value.trustedCa.specifier.value : "";
  assert.equal(text.match(/BEGIN CERTIFICATE/g)?.length, 2);
});

test("waypoint certificates are due for renewal at half-life", async () => {
  let now = T0;
  const ca = await CertificateAuthority.start({ clock: () => now });
  const cert = await issueForWaypoint(ca, WAYPOINT, { ttlSeconds: 3600 });
  assert.equal(rotationTime(cert), T0 + 1_800_000);
  assert.equal(rotationDue(cert, T0 + 1_799_000), false);
  assert.equal(rotationDue(cert, new Date(T0 + 1_800_000)), true);
  assert.equal(rotationDue(cert.certChain[0]!, T0 + 1_800_000), true, "also from the PEM");
  now = T0 + 1_800_000;
  const renewed = await issueForWaypoint(ca, WAYPOINT, { ttlSeconds: 3600 });
  assert.equal(rotationDue(renewed, now), false);
  await assert.rejects(issueForWaypoint(ca, "waypoint"), /invalid SPIFFE identity/);
});
