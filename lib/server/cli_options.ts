/**
 * Command-line options: parsing and validation, with one clear error per mistake.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { isLogLevel, type LogLevel } from "../log.ts";
import { type ConfigFlag, configToArgs, loadConfigFile } from "./config_file.ts";

/** A mistake on the command line (exit code 2). */
export class UsageError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Flags that take a value, in the order `--help` lists them. */
export const STRING_FLAGS: readonly string[] = [
  "port",
  "host",
  "log-level",
  "burst",
  "buffer",
  "slow-policy",
  "max-clients",
  "stall-timeout",
  "admin-token",
  "cert",
  "key",
  "source-token",
  "source-grace",
  "source-timeout",
];

/** Flags that are on or off. */
export const BOOLEAN_FLAGS: readonly string[] = [
  "loop",
  "reconnect",
  "relay-all",
  "low-latency",
  "quiet",
  "help",
  "version",
];

/** Short options. */
const ALIASES: Record<string, string> = { q: "quiet", h: "help", V: "version" };

/** The parsed command line. */
export interface CliOptions {
  input: string;
  /** Whether INPUT was given (absent means standard input). */
  inputGiven: boolean;
  port: number;
  host: string;
  loop: boolean;
  logLevel: LogLevel;
  /** Where a new viewer starts: a count of GOPs back from the newest, or a duration in ms. */
  burst: Burst;
  /** Send every block as it arrives (a Cluster of unknown size, flushed per block). */
  lowLatency: boolean;
  /** The ring's bounds: seconds of media and bytes. */
  bufferMs: number;
  bufferBytes: number;
  /** What happens to a viewer that falls behind the ring. */
  slowPolicy: "skip" | "drop";
  /** Most viewers at once (0: no limit). */
  maxClients: number;
  /** Milliseconds a viewer may accept no bytes before it is disconnected (0: never). */
  stallTimeout: number;
  /** Bearer token of the admin API (absent: no admin API). */
  adminToken?: string;
  /** Token that sources pushing to `/live/NAME` must send (absent: pushing is off). */
  sourceToken?: string;
  /** Milliseconds a mount whose source ended keeps its viewers for a returning source. */
  sourceGrace: number;
  /** Milliseconds an http(s) or tcp:// source may send nothing before it counts as dropped. */
  sourceTimeout: number;
  /** Reconnect to an http(s) INPUT when it drops (default true). */
  reconnect: boolean;
  /** Mirror every mount the origin (an http(s) INPUT) lists in its /status. */
  relayAll: boolean;
  /** PEM certificate and key files, to serve HTTPS. */
  cert?: string;
  key?: string;
  help: boolean;
  version: boolean;
}

/** Where a new viewer starts: `gops` back from the newest (1 = the newest), or `ms` of media. */
export type Burst = { gops: number } | { ms: number };

/** The text of `mkserver --help`. */
export const USAGE = `Usage: mkserver [options] [INPUT]

Serves one live Matroska/WebM stream over HTTP to many viewers. Every viewer gets the
stream header, then media starting on a video keyframe, so players can join at any time.

INPUT
  FILE                 a Matroska/WebM file, played at real-time speed (other containers,
                       e.g. MP4 or MPEG-TS, are remuxed with ffmpeg when it is installed)
  -                    standard input, taken as it arrives (the default)
  http(s)://URL        a stream pulled from another server, as it arrives; reconnects with
                       capped backoff when it drops, while viewers stay connected
  tcp://HOST:PORT      listen there for one pushed source at a time, e.g.
                       ffmpeg ... -f matroska tcp://HOST:PORT
  With --source-token and no INPUT, mkserver serves pushed sources only.

Options
  --port N             HTTP port (default 8080; 0 picks a free port)
  --host ADDR          address to listen on (default 0.0.0.0)
  --loop               replay a FILE forever, timestamps increasing across loops
  --no-reconnect       end when an http(s) INPUT drops instead of reconnecting
  --source-timeout S   an http(s) or tcp:// source that sends nothing for S seconds counts as
                       dropped (reconnect, or let the next TCP source in) (default 30)
  --relay-all          with INPUT http://ORIGIN/...: an edge mirroring every mount the origin
                       (another mkserver) lists in /status, following mounts as they come and go

Pushed sources
  --source-token TOKEN accept sources pushed with PUT or POST to /live/NAME (ffmpeg -method PUT,
                       curl -T) that send Authorization: Bearer TOKEN (or Basic, TOKEN as the
                       password); also MKSERVER_SOURCE_TOKEN in the environment
  --source-grace S     seconds a mount whose source ended keeps its viewers for a source with
                       the same tracks to continue it (default 10)

Delivery
  --burst N|Ds         where a new viewer starts: N GOPs back from the newest keyframe, or the
                       newest keyframe at least D seconds back (e.g. 2s); sent as fast as the
                       viewer takes it, then live (default 1: the newest keyframe)
  --low-latency        send each block as it arrives (Clusters of unknown size) instead of
                       whole Clusters of up to a second
  --buffer SPEC        the shared buffer's bounds, seconds and/or bytes, e.g. 20s, 64MiB or
                       20s,64MiB (default 20s,64MiB); the GOP in progress is always kept
  --slow-policy P      a viewer that falls behind the buffer: skip (jump to the newest
                       keyframe, the default) or drop (disconnect it)
  --max-clients N      most viewers at once; more get 503 with Retry-After (default 0: no limit)
  --stall-timeout S    disconnect a viewer that accepts no bytes for S seconds while data waits
                       for it, and close its socket (default 30; 0: never)
Operation
  --admin-token TOKEN  enable the admin API under /admin/ (Authorization: Bearer TOKEN); the
                       MKSERVER_ADMIN_TOKEN environment variable works too and keeps the token
                       out of the process list
  --cert FILE          PEM certificate: serve HTTPS (with --key)
  --key FILE           PEM private key of --cert
  --config FILE        read settings from a JSON or JSONC file whose keys are the long
                       options (e.g. {"port": 8080, "low-latency": true, "input": "a.webm"});
                       options on the command line win
  --log-level LEVEL    error, warn, info or debug (default info); a summary line every 30 s
  -q, --quiet          log errors only (same as --log-level error)
  -h, --help           show this help
  -V, --version        show the version

Endpoints
  GET /stream          the live stream (also /stream.mkv, /stream.webm); HEAD gives headers
  GET /                the stream for players; a player page for browsers (Accept: text/html)
  GET /status          JSON: tracks, viewers, bytes, GOPs in the buffer
  GET /metrics         Prometheus text: viewers, bytes in/out, skips, buffer

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

function parseSeconds(s: string, flag: string): number {
  const ms = /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : parseDuration(s);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new UsageError(
      `Invalid ${flag}: '${s}' (expected seconds, e.g. 30 or 30s)`,
    );
  }
  return ms;
}

function parseCount(s: string, flag: string): number {
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected a whole number)`);
  }
  return Number(s);
}

/** Parses a duration such as `2s`, `1.5s` or `500ms` into milliseconds; undefined if it is not one. */
function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s);
  if (!m) return undefined;
  const scale = m[2] === "ms" ? 1 : m[2] === "s" ? 1000 : 60_000;
  return Number(m[1]) * scale;
}

/** Parses a size such as `64MiB`, `500KB`, `1GB` or `1000000` into bytes; undefined if it is not one. */
function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(|B|KB|KiB|MB|MiB|GB|GiB)$/i.exec(s);
  if (!m) return undefined;
  const unit = m[2].toLowerCase();
  const scale: Record<string, number> = {
    "": 1,
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
  };
  return Math.round(Number(m[1]) * scale[unit]);
}

function parseBurst(s: string): Burst {
  if (/^\d+$/.test(s) && Number(s) >= 1) return { gops: Number(s) };
  const ms = parseDuration(s);
  if (ms !== undefined) return { ms };
  throw new UsageError(
    `Invalid --burst: '${s}' (expected a GOP count such as 2, or a duration such as 2s)`,
  );
}

function parseBuffer(spec: string): { ms: number; bytes: number } {
  let ms = 20_000;
  let bytes = 64 * 1024 * 1024;
  for (const part of spec.split(",")) {
    const duration = parseDuration(part);
    const size = duration === undefined ? parseSize(part) : undefined;
    if (duration !== undefined && duration > 0) ms = duration;
    else if (size !== undefined && size > 0) bytes = size;
    else {
      throw new UsageError(
        `Invalid --buffer: '${spec}' (expected seconds and/or bytes, e.g. 20s, 64MiB or 20s,64MiB)`,
      );
    }
  }
  return { ms, bytes };
}

/** Settings that are one setting under two names: the command line's overrides the file's. */
const SAME_SETTING: Record<string, string> = { quiet: "log-level", "log-level": "quiet" };

function givenOnCli(given: Record<string, unknown>, key: string): boolean {
  const set = (k: string) => given[k] !== undefined && given[k] !== false;
  return set(key) || (key in SAME_SETTING && set(SAME_SETTING[key]));
}

/**
 * Applies `--config FILE`: the file's settings (JSON or JSONC, keys named like the long flags)
 * come first and the command line overrides them, so precedence is CLI > file > defaults.
 * Returns the arguments to parse. Throws `UsageError` for a bad `--config` and
 * `ConfigFileError` (a `TypeError` naming the key) for a bad file.
 */
export async function applyConfigFile(
  args: readonly string[],
): Promise<string[]> {
  let path: string | undefined;
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === "--config" || arg.startsWith("--config=")) {
      if (path !== undefined) {
        throw new UsageError("--config given more than once");
      }
      path = arg === "--config" ? args[++i] : arg.slice("--config=".length);
      if (!path) throw new UsageError("--config needs a file");
      continue;
    }
    rest.push(arg);
  }
  if (path === undefined) return rest;
  const flags: ConfigFlag[] = [
    ...STRING_FLAGS.map((name) => ({ name, type: "string" as const })),
    ...BOOLEAN_FLAGS.filter((name) => name !== "help" && name !== "version")
      .map((name) => ({ name, type: "boolean" as const })),
    { name: "input", type: "string" },
  ];
  const values = await loadConfigFile(path, flags);
  // Settings given on the command line win: leave them out of the file's part.
  const given = parseArgs(rest, {
    boolean: [...BOOLEAN_FLAGS],
    negatable: ["reconnect"],
    string: [...STRING_FLAGS],
    alias: ALIASES,
  });
  const fromFile: Record<string, string | boolean> = {};
  let input: string | undefined;
  for (const [key, value] of Object.entries(values)) {
    if (key === "input") input = String(value);
    else if (!givenOnCli(given, key)) fromFile[key] = value;
  }
  const merged = [...configToArgs(fromFile), ...rest];
  if (input !== undefined && given._.length === 0) merged.push(input);
  return merged;
}

/** Parses `args`. Throws `UsageError` for unknown options, bad values and extra arguments. */
export function parseCliOptions(args: readonly string[]): CliOptions {
  const unknown: string[] = [];
  const parsed = parseArgs(args, {
    boolean: [...BOOLEAN_FLAGS],
    negatable: ["reconnect"],
    default: { reconnect: true },
    string: [...STRING_FLAGS],
    alias: ALIASES,
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
  for (const key of STRING_FLAGS) {
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
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input) && !/^(https?|tcp):\/\//i.test(input)) {
    throw new UsageError(
      `Unsupported input URL scheme: ${input} (expected http://, https:// or tcp://)`,
    );
  }
  if (/^tcp:\/\//i.test(input) && !/^tcp:\/\/(\[[^\]]+\]|[^:/]+):\d{1,5}\/?$/i.test(input)) {
    throw new UsageError(`Invalid tcp:// input: ${input} (expected tcp://HOST:PORT)`);
  }
  if (parsed["relay-all"] && !/^https?:\/\//i.test(input)) {
    throw new UsageError("--relay-all needs an http(s):// INPUT (the origin)");
  }
  if ((parsed.cert === undefined) !== (parsed.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const slowPolicy = parsed["slow-policy"] === undefined ? "skip" : String(parsed["slow-policy"]);
  if (slowPolicy !== "skip" && slowPolicy !== "drop") {
    throw new UsageError(
      `Invalid --slow-policy: '${slowPolicy}' (expected skip or drop)`,
    );
  }
  const buffer = parsed.buffer === undefined
    ? { ms: 20_000, bytes: 64 * 1024 * 1024 }
    : parseBuffer(String(parsed.buffer));
  return {
    input,
    inputGiven: positional.length === 1,
    port: parsed.port === undefined ? 8080 : parsePort(parsed.port),
    host: parsed.host === undefined ? "0.0.0.0" : String(parsed.host),
    loop,
    logLevel,
    burst: parsed.burst === undefined ? { gops: 1 } : parseBurst(String(parsed.burst)),
    lowLatency: Boolean(parsed["low-latency"]),
    bufferMs: buffer.ms,
    bufferBytes: buffer.bytes,
    slowPolicy,
    maxClients: parsed["max-clients"] === undefined
      ? 0
      : parseCount(String(parsed["max-clients"]), "--max-clients"),
    stallTimeout: parsed["stall-timeout"] === undefined
      ? 30_000
      : parseSeconds(String(parsed["stall-timeout"]), "--stall-timeout"),
    sourceToken: parsed["source-token"] === undefined ? undefined : String(parsed["source-token"]),
    sourceGrace: parsed["source-grace"] === undefined
      ? 10_000
      : parseSeconds(String(parsed["source-grace"]), "--source-grace"),
    reconnect: parsed.reconnect !== false,
    sourceTimeout: parsed["source-timeout"] === undefined
      ? 30_000
      : parseSeconds(String(parsed["source-timeout"]), "--source-timeout"),
    relayAll: Boolean(parsed["relay-all"]),
    adminToken: parsed["admin-token"] === undefined ? undefined : String(parsed["admin-token"]),
    cert: parsed.cert === undefined ? undefined : String(parsed.cert),
    key: parsed.key === undefined ? undefined : String(parsed.key),
    help: Boolean(parsed.help),
    version: Boolean(parsed.version),
  };
}
