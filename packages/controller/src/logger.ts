// The shared logger (packages/log); re-exported so the controller keeps one import path.
export { jsonLogger, silentLogger, type Logger } from "@waystation/log";
