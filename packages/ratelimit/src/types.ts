/** The logger the process injects (the same shape as @waystation/xds's; pino fits). */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Discards everything; the default when no logger is injected. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
