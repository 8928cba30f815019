export * from "./resources.js";
export * from "./proxy.js";
export * from "./names.js";
export { translateWaypoint, servicesOf, waypointForPod, type WaypointTranslateOptions } from "./waypoint/index.js";
export { findDestinationRule, type DestinationRuleSpec } from "./destinationRule.js";
export { translateFor, type TranslateOptions, type ProxyTranslation } from "./translate.js";
export { toEnvoyJson } from "./output.js";
export { translateGrpc, grpcListenerName, type GrpcRouteBuilder } from "./grpc/index.js";
export { envoyBootstrap, type BootstrapOptions } from "./bootstrap.js";
