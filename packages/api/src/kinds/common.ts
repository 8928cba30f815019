/** Schemas shared by several kinds: workload selectors and policy target references. */
import { list, nonEmpty, obj, opt, str, stringMap, type Static } from "../schema.js";

/** Istio WorkloadSelector (`selector.matchLabels`). */
export const WorkloadSelectorSchema = obj({ matchLabels: opt(stringMap()) });
export type WorkloadSelector = Static<typeof WorkloadSelectorSchema>;

/**
 * A reference from a policy to what it attaches to (Istio `targetRef`/`targetRefs`, Gateway API
 * PolicyTargetReference). `group` is "" for core (Service), "gateway.networking.k8s.io" for Gateway,
 * "networking.istio.io" for ServiceEntry.
 */
export const PolicyTargetReferenceSchema = obj({
  group: opt(str()),
  kind: nonEmpty(),
  name: nonEmpty(),
  namespace: opt(str()),
  sectionName: opt(str()),
});
export type PolicyTargetReference = Static<typeof PolicyTargetReferenceSchema>;

export const targetRefs = () => opt(list(PolicyTargetReferenceSchema));
