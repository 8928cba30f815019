// The logger every component takes lives in packages/log; re-exported here for this package's modules.
export { silentLogger, type Logger } from "@waystation/log";
