// The logger and clock every part of the package takes: library code never prints and never reads
// the wall clock directly, so tests can drive time (rotation, expiry) and capture logs.

/** The logger every component takes (same shape as `@waystation/xds`'s and the controller's). */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Discards everything; the default when no logger is injected. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Milliseconds since the epoch, like `Date.now`. Injected so tests can move time. */
export type Clock = () => number;

/** The wall clock. */
export const systemClock: Clock = () => Date.now();
