/**
 * Command-line options: parsing and validation, with one clear error per mistake.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { isLogLevel, type LogLevel } from "../log.ts";

/** A mistake on the command line (exit code 2). */
export class UsageError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The parsed command line. */
export interface CliOptions {
  input: string;
  /** Whether INPUT was given (absent means standard input). */
  inputGiven: boolean;
  port: number;
  host: string;
  loop: boolean;
  logLevel: LogLevel;
  help: boolean;
  version: boolean;
}

/** The text of `mkserver --help`. */
export const USAGE = `Usage: mkserver [options] [INPUT]

Serves one live Matroska/WebM stream over HTTP to many viewers. Every viewer gets the
stream header, then media starting on a video keyframe, so players can join at any time.

INPUT
  FILE                 a Matroska/WebM file, played at real-time speed
  -                    standard input, taken as it arrives (the default)
  http(s)://URL        a Matroska/WebM stream pulled from another server, as it arrives

Options
  --port N             HTTP port (default 8080; 0 picks a free port)
  --host ADDR          address to listen on (default 0.0.0.0)
  --loop               replay a FILE forever, timestamps increasing across loops
  --log-level LEVEL    error, warn, info or debug (default info)
  -q, --quiet          log errors only (same as --log-level error)
  -h, --help           show this help
  -V, --version        show the version

Endpoints
  GET /stream          the live stream (also /stream.mkv, /stream.webm); HEAD gives headers
  GET /                the stream for players; a player page for browsers (Accept: text/html)
  GET /status          JSON: tracks, viewers, bytes, GOPs in the buffer

Exit codes: 0 when the input ended and every viewer got it all; 1 on a runtime failure
(bad input, port in use), with one log line; 2 on bad usage.

Examples
  mkserver --port 8080 input.webm
  cat input.mkv | mkserver -
  ffmpeg -re -f lavfi -i testsrc2 -c:v libvpx -f webm - | mkserver -
`;

function parsePort(value: unknown): number {
  const s = String(value);
  if (!/^\d+$/.test(s) || Number(s) > 65535) {
    throw new UsageError(
      `Invalid --port: '${s}' (expected an integer from 0 to 65535)`,
    );
  }
  return Number(s);
}

/** Parses `args`. Throws `UsageError` for unknown options, bad values and extra arguments. */
export function parseCliOptions(args: readonly string[]): CliOptions {
  const unknown: string[] = [];
  const parsed = parseArgs(args, {
    boolean: ["loop", "quiet", "help", "version"],
    string: ["port", "host", "log-level"],
    alias: { q: "quiet", h: "help", V: "version" },
    "--": false,
    unknown: (arg: string) => {
      if (arg.startsWith("-") && arg !== "-") {
        unknown.push(arg);
        return false;
      }
      return true;
    },
  });
  if (unknown.length > 0) throw new UsageError(`Unknown option: ${unknown[0]}`);
  for (const key of ["port", "host", "log-level"]) {
    const value = parsed[key];
    if (Array.isArray(value)) {
      throw new UsageError(`--${key} given more than once`);
    }
    if (value === "") throw new UsageError(`--${key} needs a value`);
  }
  const positional = parsed._.map(String);
  if (positional.length > 1) {
    throw new UsageError(
      `Expected one INPUT, got ${positional.length}: ${positional.join(" ")}`,
    );
  }
  let logLevel: LogLevel = "info";
  if (parsed["log-level"] !== undefined) {
    const level = String(parsed["log-level"]);
    if (!isLogLevel(level)) {
      throw new UsageError(
        `Invalid --log-level: '${level}' (expected error, warn, info or debug)`,
      );
    }
    logLevel = level;
  }
  if (parsed.quiet) logLevel = "error";
  const input = positional[0] ?? "-";
  const loop = Boolean(parsed.loop);
  if (loop && (input === "-" || /^[a-z][a-z0-9+.-]*:\/\//i.test(input))) {
    throw new UsageError("--loop needs a FILE input");
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input) && !/^https?:\/\//i.test(input)) {
    throw new UsageError(
      `Unsupported input URL scheme: ${input} (expected http:// or https://)`,
    );
  }
  return {
    input,
    inputGiven: positional.length === 1,
    port: parsed.port === undefined ? 8080 : parsePort(parsed.port),
    host: parsed.host === undefined ? "0.0.0.0" : String(parsed.host),
    loop,
    logLevel,
    help: Boolean(parsed.help),
    version: Boolean(parsed.version),
  };
}
