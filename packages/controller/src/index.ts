export { FileSource, type FileSourceOptions, type MeshSnapshot } from "./fileSource.js";
export { listManifestFiles, readManifestFiles } from "./readTree.js";
export { jsonLogger, silentLogger, type Logger } from "./logger.js";
export { ControlPlane, type ControlPlaneOptions } from "./controlPlane.js";
export { publishModel, nodeGroupOf, toSnapshot, externalNames, waypointGroup, grpcGroup } from "./publish.js";
