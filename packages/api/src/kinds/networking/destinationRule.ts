/**
 * Istio DestinationRule (networking.istio.io): the traffic policy for a host and its subsets.
 * The policy schema and its checks are in trafficPolicy.ts.
 */
import { list, nonEmpty, obj, opt, stringMap, type Static } from "../../schema.js";
import { error, type FieldIssue } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { WorkloadSelectorSchema } from "../common.js";
import { NETWORKING_GROUP, NETWORKING_VERSIONS, exportTo } from "./common.js";
import { TrafficPolicySchema, trafficPolicyIssues } from "./trafficPolicy.js";
import { exportToIssues, isIstioLabel, labelIssues, selectorIssues, wildcardDomainError } from "./rules.js";

/** A named version of the service, selected by endpoint labels, with its own policy. */
export const SubsetSchema = obj({ name: nonEmpty(), labels: opt(stringMap()), trafficPolicy: opt(TrafficPolicySchema) });
/** Typed form of {@link SubsetSchema}. */
export type Subset = Static<typeof SubsetSchema>;

/** Istio DestinationRule spec. */
export const DestinationRuleSpecSchema = obj({
  host: nonEmpty(),
  trafficPolicy: opt(TrafficPolicySchema),
  subsets: opt(list(SubsetSchema)),
  exportTo: exportTo(),
  workloadSelector: opt(WorkloadSelectorSchema),
});
/** Typed form of {@link DestinationRuleSpecSchema}. */
export type DestinationRuleSpec = Static<typeof DestinationRuleSpecSchema>;

/** The DestinationRule kind. */
export const DestinationRuleKind = defineKind<DestinationRuleSpec>({
  group: NETWORKING_GROUP, kind: "DestinationRule", versions: NETWORKING_VERSIONS, namespaced: true,
  spec: DestinationRuleSpecSchema, specRequired: true,
  check(dr) {
    const spec = dr.spec;
    const out: FieldIssue[] = [];
    const bad = wildcardDomainError(spec.host);
    if (bad) out.push(error(["spec", "host"], bad));
    out.push(...trafficPolicyIssues(spec.trafficPolicy, ["spec", "trafficPolicy"]));

    const names = new Map<string, number>();
    (spec.subsets ?? []).forEach((s, i) => {
      const p = ["spec", "subsets", i];
      const prev = names.get(s.name);
      if (prev !== undefined) out.push(error([...p, "name"], `duplicates spec.subsets[${prev}].name ${JSON.stringify(s.name)}`));
      names.set(s.name, i);
      if (!isIstioLabel(s.name)) out.push(error([...p, "name"], `must be a DNS label (letters, digits and '-', at most 63 characters), not ${JSON.stringify(s.name)}`));
      out.push(...labelIssues(s.labels, [...p, "labels"]));
      out.push(...trafficPolicyIssues(s.trafficPolicy, [...p, "trafficPolicy"]));
    });

    const ns = dr.metadata.namespace ?? "default";
    out.push(...exportToIssues(spec.exportTo, ns, ["spec", "exportTo"], false));
    const sel = spec.workloadSelector;
    if (sel) {
      out.push(...selectorIssues(sel.matchLabels, ["spec", "workloadSelector", "matchLabels"], "matchLabels"));
      // A DestinationRule with a workload selector configures those workloads' own sidecars only.
      const others = (spec.exportTo ?? []).filter((e) => e !== "." && e !== ns);
      if (others.length > 0) out.push(error(["spec", "exportTo"], `must only name this namespace (".") when workloadSelector is set, not ${others.map((e) => JSON.stringify(e)).join(", ")}`));
    }
    return out;
  },
});
