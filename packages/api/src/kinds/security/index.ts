/** The security, telemetry and rate-limit kinds, registered in ../../registry.ts. */
import type { KindDef } from "../../kind.js";
import { AuthorizationPolicyKind } from "./authorizationPolicy.js";
import { PeerAuthenticationKind } from "./peerAuthentication.js";
import { RateLimitPolicyKind } from "./rateLimitPolicy.js";
import { RequestAuthenticationKind } from "./requestAuthentication.js";
import { TelemetryKind } from "./telemetry.js";

export * from "./authorizationPolicy.js";
export * from "./peerAuthentication.js";
export * from "./rateLimitPolicy.js";
export * from "./requestAuthentication.js";
export * from "./telemetry.js";

/** AuthorizationPolicy, RequestAuthentication, PeerAuthentication, Telemetry and RateLimitPolicy. */
export const securityKinds: readonly KindDef[] = [
  AuthorizationPolicyKind as KindDef,
  RequestAuthenticationKind as KindDef,
  PeerAuthenticationKind as KindDef,
  TelemetryKind as KindDef,
  RateLimitPolicyKind as KindDef,
];
