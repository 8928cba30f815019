/** The logger every process component takes; library code never writes to the console itself. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Discards everything; the default in tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
