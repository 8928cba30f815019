export { FileSource, type FileSourceOptions, type MeshSnapshot } from "./fileSource.js";
export { listManifestFiles, readManifestFiles } from "./readTree.js";
export { silentLogger, type Logger } from "./logger.js";
