/** Every kind Waystation reads, and the shared validator built from them. */
import type { KindDef } from "./kind.js";
import { NamespaceKind, PodKind, ServiceAccountKind, ServiceKind } from "./kinds/core.js";
import { gatewayKinds } from "./kinds/gateway/index.js";
import { ConfigMapKind } from "./kinds/meshConfig.js";
import { networkingKinds } from "./kinds/networking/index.js";
import { securityKinds } from "./kinds/security/index.js";
import { Validator } from "./validate.js";

export const allKinds: readonly KindDef[] = [
  NamespaceKind as KindDef,
  ServiceKind as KindDef,
  PodKind as KindDef,
  ServiceAccountKind as KindDef,
  ConfigMapKind as KindDef,
  ...networkingKinds,
  ...securityKinds,
  ...gatewayKinds,
];

let shared: Validator | undefined;

/** The validator for all kinds, compiled on first use (ajv compilation takes a moment). */
export function defaultValidator(): Validator {
  shared ??= new Validator(allKinds);
  return shared;
}
