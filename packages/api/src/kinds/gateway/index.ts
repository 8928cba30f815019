/** The gateway kinds (gateway.networking.k8s.io), registered in ../../registry.ts, and their spec types. */
import type { KindDef } from "../../kind.js";
import { GatewayKind } from "./gateway.js";
import { GRPCRouteKind } from "./grpcRoute.js";
import { HTTPRouteKind } from "./httpRoute.js";
import { ReferenceGrantKind } from "./referenceGrant.js";
import { TCPRouteKind } from "./tcpRoute.js";

/** Gateway, HTTPRoute, GRPCRoute, TCPRoute and ReferenceGrant. */
export const gatewayKinds: readonly KindDef[] = [
  GatewayKind as KindDef,
  HTTPRouteKind as KindDef,
  GRPCRouteKind as KindDef,
  TCPRouteKind as KindDef,
  ReferenceGrantKind as KindDef,
];

export {
  GATEWAY_GROUP, type BackendObjectReference, type BackendRef, type HeaderFilter, type HeaderMatch, type LabelSelector,
  type ParentReference, type RequestMirror, type SessionPersistence,
} from "./common.js";
export * from "./gateway.js";
export * from "./httpFilters.js";
export * from "./httpRoute.js";
export * from "./grpcRoute.js";
export * from "./tcpRoute.js";
export * from "./referenceGrant.js";
