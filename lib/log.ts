/**
 * A small leveled logger: one line per event on standard error.
 *
 * @module
 */

/** Log levels, most severe first. */
export type LogLevel = "error" | "warn" | "info" | "debug";

/** The level a logger writes at when not told: `--log-level`'s default too. */
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

/** Where mkserver writes its log lines. */
export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

/** Whether `value` names a log level. */
export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(RANK, value);
}

/**
 * A logger that writes `TIME LEVEL message` lines at `level` and above through `write`
 * (default: `console.error`).
 */
export function createLogger(
  level: LogLevel = DEFAULT_LOG_LEVEL,
  write: (line: string) => void = (line) => console.error(line),
): Logger {
  const at = RANK[level];
  const line = (l: LogLevel) => (message: string) => {
    if (RANK[l] <= at) {
      write(`${new Date().toISOString()} ${l.toUpperCase()} ${message}`);
    }
  };
  return {
    error: line("error"),
    warn: line("warn"),
    info: line("info"),
    debug: line("debug"),
  };
}

/**
 * The message of a thrown value, for a log line: an `Error`'s message, else the value as text
 * (a rejected promise may carry anything, and `undefined.message` would print "undefined").
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { errorMessage } from "./log.ts";
 * assertEquals(errorMessage(new RangeError("Too big")), "Too big");
 * assertEquals(errorMessage("refused"), "refused");
 * assertEquals(errorMessage(undefined), "undefined");
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A logger that writes nothing (for tests and library use). */
export const SILENT: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
};
