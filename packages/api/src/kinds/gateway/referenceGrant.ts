/**
 * ReferenceGrant: lets kinds in other namespaces refer to objects in this one (a route in
 * namespace a sending to a Service in b needs a grant in b). Gateway API v1.5 promoted it to v1;
 * v1beta1 and v1alpha2 manifests load and are normalised to v1.
 */
import { error, formatPath, type FieldIssue } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { obj, opt, type Static } from "../../schema.js";
import { capped, GATEWAY_GROUP, group, kind, namespaceName, objectName } from "./common.js";

/** ReferenceGrant.spec: `from` (who may refer) and `to` (what they may refer to), each ORed. */
export const ReferenceGrantSpecSchema = obj({
  from: capped(obj({ group: group(), kind: kind(), namespace: namespaceName() }), 16, "entries", 1),
  to: capped(obj({ group: group(), kind: kind(), name: opt(objectName()) }), 16, "entries", 1),
});
/** Typed ReferenceGrant spec for the reference checks of the model. */
export type ReferenceGrantSpec = Static<typeof ReferenceGrantSpecSchema>;

/** ReferenceGrant: entries must not repeat (a repeat grants nothing and usually hides a typo). */
export const ReferenceGrantKind = defineKind<ReferenceGrantSpec>({
  group: GATEWAY_GROUP, kind: "ReferenceGrant", versions: ["v1", "v1beta1", "v1alpha2"], namespaced: true,
  spec: ReferenceGrantSpecSchema, specRequired: true,
  check(grant) {
    const issues: FieldIssue[] = [];
    for (const field of ["from", "to"] as const) {
      const seen = new Map<string, number>();
      grant.spec[field].forEach((e, i) => {
        const k = JSON.stringify([e.group, e.kind, "namespace" in e ? e.namespace : e.name ?? ""]);
        const prev = seen.get(k);
        if (prev !== undefined) issues.push(error(["spec", field, i], `duplicates ${formatPath(["spec", field, prev])}`));
        else seen.set(k, i);
      });
    }
    return issues;
  },
});
