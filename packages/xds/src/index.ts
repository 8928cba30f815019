// @waystation/xds: snapshot cache and ADS server (State-of-the-World and Delta), NACK records.
export { PUSH_ORDER, TypeUrl, XDS_TYPES, shortType, silentLogger, xdsType, xdsTypeOf } from "./types.js";
export type { Logger, TypeName, XdsType } from "./types.js";
export { Snapshot, SnapshotError, buildSnapshot, changedTypes } from "./snapshot.js";
export type { SnapshotEntry, TypeResources, XdsResource } from "./snapshot.js";
export { SnapshotCache } from "./cache.js";
export type { NodeKey, Refusal, SetSnapshotResult, SnapshotCacheOptions, SnapshotWatcher } from "./cache.js";
export { XdsStatus } from "./status.js";
export type { AckEvent, NackRecord, PushEvent, StreamRecord, SynczEntry, TypeSync, XdsHooks, XdsStatusOptions } from "./status.js";
export { AdsServer, adsServiceDefinition } from "./server.js";
export type { AdsImplementation, AdsServerOptions, ConfigDump } from "./server.js";
export { grpcServiceDefinition } from "./grpcService.js";
export type { GrpcHandler, GrpcImplementation, GrpcServiceDefinition } from "./grpcService.js";
