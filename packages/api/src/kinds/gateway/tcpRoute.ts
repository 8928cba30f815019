/**
 * TCPRoute (gateway.networking.k8s.io/v1alpha2): forwards TCP connections to weighted backends.
 * Istio 1.26+ waypoints honour it with a Service or ServiceEntry parentRef (reference §5.5).
 */
import type { FieldIssue } from "../../issues.js";
import { defineKind } from "../../kind.js";
import { obj, opt, type Static } from "../../schema.js";
import {
  BackendRefSchema, capped, checkBackendPort, checkParentRefs, checkRuleNamesAndMatchTotal, GATEWAY_GROUP,
  ParentReferenceSchema, sectionName,
} from "./common.js";

/** TCPRouteRule: a name and the backends; TCP has nothing to match on. */
export const TCPRouteRuleSchema = obj({ name: opt(sectionName()), backendRefs: capped(BackendRefSchema, 16, "backendRefs", 1) });

/** TCPRoute.spec. */
export const TCPRouteSpecSchema = obj({
  parentRefs: opt(capped(ParentReferenceSchema, 32, "parentRefs")),
  rules: capped(TCPRouteRuleSchema, 16, "rules", 1),
});
/** Typed TCPRoute spec for translators. */
export type TCPRouteSpec = Static<typeof TCPRouteSpecSchema>;

/** TCPRoute: parentRefs distinct, rule names unique, Service backends with a port. */
export const TCPRouteKind = defineKind<TCPRouteSpec>({
  group: GATEWAY_GROUP, kind: "TCPRoute", versions: ["v1alpha2"], namespaced: true,
  spec: TCPRouteSpecSchema, specRequired: true,
  check(route) {
    const issues: FieldIssue[] = [];
    checkParentRefs(route.spec.parentRefs, ["spec", "parentRefs"], issues);
    checkRuleNamesAndMatchTotal(route.spec.rules, ["spec", "rules"], issues);
    route.spec.rules.forEach((r, i) => r.backendRefs.forEach((b, j) => checkBackendPort(b, ["spec", "rules", i, "backendRefs", j], issues)));
    return issues;
  },
});
