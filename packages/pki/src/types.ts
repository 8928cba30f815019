// The logger and clock every part of the package takes: library code never prints and never reads
// the wall clock directly, so tests can drive time (rotation, expiry) and capture logs.

// The logger every component takes lives in packages/log; re-exported here for this package's modules.
export { silentLogger, type Logger } from "@waystation/log";

/** Milliseconds since the epoch, like `Date.now`. Injected so tests can move time. */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();
