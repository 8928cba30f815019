/** The networking.istio.io kinds, registered in ../../registry.ts. */
import type { KindDef } from "../../kind.js";
import { DestinationRuleKind } from "./destinationRule.js";
import { ServiceEntryKind } from "./serviceEntry.js";
import { VirtualServiceKind } from "./virtualService.js";
import { WorkloadEntryKind } from "./workloadEntry.js";

export * from "./common.js";
export * from "./destinationRule.js";
export * from "./httpRoute.js";
export * from "./serviceEntry.js";
export * from "./trafficPolicy.js";
export * from "./virtualService.js";
export * from "./workloadEntry.js";
export { hostSubsetOf, hostsOverlap, wildcardDomainError, fqdnError } from "./rules.js";

/** VirtualService, DestinationRule, ServiceEntry and WorkloadEntry. */
export const networkingKinds: readonly KindDef[] = [
  VirtualServiceKind as KindDef,
  DestinationRuleKind as KindDef,
  ServiceEntryKind as KindDef,
  WorkloadEntryKind as KindDef,
];
