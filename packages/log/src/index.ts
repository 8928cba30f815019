/** The logger every process component takes; library code never writes to the console itself. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Discards everything; the default in tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** One JSON object per line on stderr, as a process writes logs; `level` sets the threshold. */
export function jsonLogger(level: "debug" | "info" | "warn" | "error" = "info", out: NodeJS.WritableStream = process.stderr, component = "waystation"): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3 } as const;
  const write = (l: keyof typeof order) => (msg: string, fields?: Record<string, unknown>) => {
    if (order[l] < order[level]) return;
    out.write(`${JSON.stringify({ time: new Date().toISOString(), level: l, component, msg, ...fields })}\n`);
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}
