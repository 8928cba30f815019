/**
 * Istio PeerAuthentication (security.istio.io/v1, v1beta1): whether workloads accept plaintext
 * or only mutual TLS. In ambient mode ztunnel enforces it: STRICT rejects plaintext, PERMISSIVE
 * accepts it from clients outside the mesh. DISABLE cannot be honoured, because traffic between
 * ztunnels and waypoints is always HBONE (mutual TLS); it is rejected rather than silently ignored.
 */
import { error, type FieldIssue } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { obj, oneOfStrings, opt, Type, type Static } from "../../schema.js";
import { WorkloadSelectorSchema } from "../common.js";

/** Mutual TLS mode; UNSET inherits from the namespace, then the mesh (root namespace) policy. */
export const MtlsModeSchema = oneOfStrings("UNSET", "DISABLE", "PERMISSIVE", "STRICT");
/** {@link MtlsModeSchema} as a type. */
export type MtlsMode = Static<typeof MtlsModeSchema>;

/** `{ mode }`, the shape of both `mtls` and each `portLevelMtls` value. */
export const MtlsSchema = obj({ mode: opt(MtlsModeSchema) });

/** Spec of PeerAuthentication. */
export const PeerAuthenticationSpecSchema = obj({
  selector: opt(WorkloadSelectorSchema),
  mtls: opt(MtlsSchema),
  /** Keyed by the workload's (target) port number, as a string. */
  portLevelMtls: opt(Type.Record(Type.String(), MtlsSchema)),
});
/** {@link PeerAuthenticationSpecSchema} as a type. */
export type PeerAuthenticationSpec = Static<typeof PeerAuthenticationSpecSchema>;

const disableMessage = "is DISABLE, which ambient mode cannot honour: traffic between ztunnels and waypoints is always HBONE mutual TLS. "
  + "Use PERMISSIVE to also accept plaintext from clients outside the mesh";

/** The PeerAuthentication kind. */
export const PeerAuthenticationKind = defineKind<PeerAuthenticationSpec>({
  group: "security.istio.io", kind: "PeerAuthentication", versions: ["v1", "v1beta1"], namespaced: true,
  spec: PeerAuthenticationSpecSchema,
  check(pa) {
    const spec = pa.spec;
    const issues: FieldIssue[] = [];
    if (spec.mtls?.mode === "DISABLE") issues.push(error(["spec", "mtls", "mode"], disableMessage));
    const ports = Object.entries(spec.portLevelMtls ?? {});
    if (ports.length > 0 && !spec.selector) {
      issues.push(error(["spec", "portLevelMtls"], "requires selector: port-level settings apply only to the workloads a selector picks"));
    }
    for (const [port, mtls] of ports) {
      if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
        issues.push({ ...error(["spec", "portLevelMtls", port], "must be a port number from 1 to 65535"), at: "key" });
      }
      if (mtls.mode === "DISABLE") issues.push(error(["spec", "portLevelMtls", port, "mode"], disableMessage));
    }
    return issues;
  },
});
