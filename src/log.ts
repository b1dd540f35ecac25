/** The process logger: pino, JSON lines on stdout, asynchronous so logging never blocks a request. */
import { pino } from "pino";

export type Logger = pino.Logger;
export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "silent";

/** Creates the logger; `silent` for tests and library use. */
export function createLogger(level: LogLevel = "info"): Logger {
  if (level === "silent") return pino({ level: "silent" });
  return pino({ level, base: undefined }, pino.destination({ sync: false }));
}

/** A logger that drops everything. */
export const silentLogger: Logger = pino({ level: "silent" });
