/**
 * Command-line options: parsing and validation, with one clear error per mistake. Which flags
 * exist, what they take and their defaults come from the table in `flags.ts`.
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { assert } from "../_assert.ts";
import { type InputAddress, parseInputAddress } from "../ingest/input_address.ts";
import { errorMessage, type LogLevel } from "../log.ts";
import { type ConfigFlag, configToArgs, type ConfigValues, loadConfigFile } from "./config_file.ts";
import type { Latency } from "../stream/delivery_clock.ts";
import { type Burst, type Limits, type SlowPolicy, UsageError } from "./flag_parsers.ts";
import { CONFIG_FLAG, FLAG, FLAGS, type ValueFlag } from "./flags.ts";
import type { IpList } from "./access/ip_list.ts";

export { type Burst, UsageError } from "./flag_parsers.ts";
export { USAGE } from "./usage.ts";

/** Flags that take a value (`--config` is taken out before, by `applyConfigFile`). */
export const STRING_FLAGS: readonly string[] = FLAGS
  .filter((f) => f.kind === "string" && f !== CONFIG_FLAG).map((f) => f.name);

/** Flags that may be given several times, every value kept. */
export const REPEATABLE_FLAGS: readonly string[] = FLAGS
  .filter((f) => f.kind === "string" && f.repeatable).map((f) => f.name);

/** Flags that are on or off. */
export const BOOLEAN_FLAGS: readonly string[] = FLAGS
  .filter((f) => f.kind === "boolean").map((f) => f.name);

/** The keys a config file may set: the flags it may set, and the INPUT. */
export const CONFIG_KEYS: readonly ConfigFlag[] = [
  ...FLAGS.filter((f) => f.inFile !== false).map((f) => ({
    name: f.name,
    type: f.kind === "string" && f.repeatable ? "strings" as const : f.kind,
    map: f.kind === "string" && f.mapInFile === true,
  })),
  { name: "input", type: "string" },
];

/** What `parseArgs` needs to know of the table: kinds, `--no-` forms and one-letter aliases. */
const PARSE_ARGS = {
  string: [...STRING_FLAGS],
  boolean: [...BOOLEAN_FLAGS],
  // Every string flag is collected, so that one given twice is refused (parseArgs would keep the
  // last one silently); the ones that are not repeatable are unwrapped after the checks.
  collect: [...STRING_FLAGS],
  negatable: FLAGS.filter((f) => f.kind === "boolean" && f.default === true).map((f) => f.name),
  alias: Object.fromEntries(
    FLAGS.flatMap((f) => f.short === undefined ? [] : [[f.short, f.name]]),
  ) as Record<string, string>,
};

/** The parsed command line. */
export interface CliOptions {
  input: string;
  /** Whether INPUT was given (absent means standard input). */
  inputGiven: boolean;
  /** What INPUT names: standard input, a file, an http(s) URL or a tcp:// address. */
  address: InputAddress;
  port: number;
  host: string;
  loop: boolean;
  logLevel: LogLevel;
  /** Where a new viewer starts: a count of GOPs back from the newest, or a duration in ms. */
  burst: Burst;
  /** `--low-latency` was given: the same as `--latency frame`. */
  lowLatency: boolean;
  /** The delivery clock: ms between a live viewer's writes, or `"frame"` (per video frame). */
  latency: Latency;
  /** The ring's bounds: seconds of media and bytes. */
  bufferMs: number;
  bufferBytes: number;
  /** What happens to a viewer that falls behind the ring. */
  slowPolicy: SlowPolicy;
  /** Most viewers at once (0: no limit). */
  maxClients: number;
  /** Milliseconds a viewer may accept no bytes before it is disconnected (0: never). */
  stallTimeout: number;
  /** Milliseconds a request head may take (0: no limit). */
  headerTimeout: number;
  /** Milliseconds a kept-alive connection may wait for its next request (0: no limit). */
  keepAliveTimeout: number;
  /** Most open connections from one address (0: no limit). */
  maxConnectionsPerIp: number;
  /** Serve HLS and DASH from every mount (default true). */
  segments: boolean;
  /** LL-HLS part target, milliseconds. */
  partTarget: number;
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
  /** Record every mount into this directory (absent: no recording). */
  record?: string;
  /** A recording's longest file: ms of media and/or bytes. */
  recordSegment: Limits;
  /** Retention of recordings: age in ms and/or total bytes (absent: keep everything). */
  recordKeep?: Limits;
  /** Webhook receivers' URLs (`--webhook`, repeatable). */
  webhooks: string[];
  /** Signs webhook bodies (HMAC-SHA256) when set. */
  webhookSecret?: string;
  /** Most events waiting per webhook receiver. */
  webhookQueue: number;
  /** Token viewers must send (absent: viewing needs none, unless another access flag says so). */
  viewToken?: string;
  /** Secret of signed URLs (`/s/EXPIRY/SIG/…`). */
  urlSecret?: string;
  /** HS256 secret of JWTs. */
  jwtSecret?: string;
  /** JWKS file of the RS256/ES256 keys of JWTs. */
  jwks?: string;
  /** Service asked about each viewer and source. */
  authUrl?: string;
  /** Source tokens per mount. */
  publishTokens?: ReadonlyMap<string, string>;
  /** Addresses that may (only they) and may not watch, and publish. */
  viewAllow?: IpList;
  viewDeny?: IpList;
  publishAllow?: IpList;
  publishDeny?: IpList;
  /** PEM certificate and key files, to serve HTTPS. */
  cert?: string;
  key?: string;
  help: boolean;
  version: boolean;
}

/** The flag naming the config file, as written on the command line. */
const CONFIG = `--${CONFIG_FLAG.name}`;

/** Settings that are one setting under two names: the command line's overrides the file's. */
const SAME_SETTING: Record<string, string> = {
  quiet: "log-level",
  "log-level": "quiet",
  latency: "low-latency",
  "low-latency": "latency",
};

function givenOnCli(given: Record<string, unknown>, key: string): boolean {
  const set = (k: string) => {
    const value = given[k];
    return value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0);
  };
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
    if (arg === CONFIG || arg.startsWith(`${CONFIG}=`)) {
      if (path !== undefined) throw new UsageError(`${CONFIG} given more than once`);
      path = arg === CONFIG ? args[++i] : arg.slice(CONFIG.length + 1);
      if (!path) throw new UsageError(`${CONFIG} needs a file`);
      continue;
    }
    rest.push(arg);
  }
  if (path === undefined) return rest;
  const values = await loadConfigFile(path, CONFIG_KEYS);
  // Settings given on the command line win: leave them out of the file's part.
  const given = parseArgs(rest, PARSE_ARGS);
  const fromFile: ConfigValues = {};
  let input: string | undefined;
  for (const [key, value] of Object.entries(values)) {
    if (key === "input") input = String(value);
    else if (!givenOnCli(given, key)) fromFile[key] = value;
  }
  const merged = [...configToArgs(fromFile), ...rest];
  if (input !== undefined && given._.length === 0) merged.push(input);
  return merged;
}

/** The value of a flag that takes one: as given, else its default, parsed. */
function valueOf<T>(parsed: Record<string, unknown>, flag: ValueFlag<T>): T | undefined {
  const text = parsed[flag.name] === undefined ? flag.default : String(parsed[flag.name]);
  return text === undefined ? undefined : flag.parse(text, `--${flag.name}`);
}

/** Every value of a repeatable flag, parsed, in the order given. */
function valuesOf<T>(parsed: Record<string, unknown>, flag: ValueFlag<T>): T[] {
  const given = parsed[flag.name];
  const texts = Array.isArray(given) ? given : given === undefined ? [] : [given];
  return texts.map((text) => flag.parse(String(text), `--${flag.name}`));
}

/** The value of a flag the table gives a default: never undefined. */
function withDefault<T>(parsed: Record<string, unknown>, flag: ValueFlag<T>): T {
  const value = valueOf(parsed, flag);
  assert(value !== undefined, `--${flag.name} has a default in the flag table`);
  return value;
}

/** Parses INPUT, and checks the flags that only fit some kinds of it. */
function parseInput(
  input: string,
  parsed: Record<string, unknown>,
): InputAddress {
  let address: InputAddress;
  try {
    address = parseInputAddress(input);
  } catch (error) {
    if (parsed.loop) throw new UsageError("--loop needs a FILE input");
    throw new UsageError(errorMessage(error));
  }
  if (parsed.loop && address.kind !== "file") throw new UsageError("--loop needs a FILE input");
  if (parsed["relay-all"] && address.kind !== "http") {
    throw new UsageError("--relay-all needs an http(s):// INPUT (the origin)");
  }
  return address;
}

/** Parses `args`. Throws `UsageError` for unknown options, bad values and extra arguments. */
export function parseCliOptions(args: readonly string[]): CliOptions {
  const unknown: string[] = [];
  const parsed = parseArgs(args, {
    ...PARSE_ARGS,
    default: Object.fromEntries(
      FLAGS.flatMap((f) => f.kind === "boolean" && f.default ? [[f.name, f.default]] : []),
    ),
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
    const repeatable = REPEATABLE_FLAGS.includes(key);
    const values = value as string[];
    if (!repeatable && values.length > 1) throw new UsageError(`--${key} given more than once`);
    if (values.includes("")) throw new UsageError(`--${key} needs a value`);
    if (!repeatable) parsed[key] = values[0];
  }
  const positional = parsed._.map(String);
  if (positional.length > 1) {
    throw new UsageError(`Expected one INPUT, got ${positional.length}: ${positional.join(" ")}`);
  }
  const logLevel = withDefault(parsed, FLAG.logLevel);
  const input = positional[0] ?? "-";
  const address = parseInput(input, parsed);
  if ((parsed.cert === undefined) !== (parsed.key === undefined)) {
    throw new UsageError("--cert and --key go together");
  }
  const webhooks = valuesOf(parsed, FLAG.webhook);
  if (parsed["webhook-secret"] !== undefined && webhooks.length === 0) {
    throw new UsageError("--webhook-secret needs --webhook");
  }
  const slowPolicy = withDefault(parsed, FLAG.slowPolicy);
  const buffer = withDefault(parsed, FLAG.buffer);
  const lowLatency = Boolean(parsed["low-latency"]);
  if (lowLatency && parsed.latency !== undefined) {
    throw new UsageError("--low-latency is --latency frame: give one of them");
  }
  return {
    input,
    inputGiven: positional.length === 1,
    address,
    port: withDefault(parsed, FLAG.port),
    host: withDefault(parsed, FLAG.host),
    loop: Boolean(parsed.loop),
    logLevel: parsed.quiet ? "error" : logLevel,
    burst: withDefault(parsed, FLAG.burst),
    lowLatency,
    latency: lowLatency ? "frame" : withDefault(parsed, FLAG.latency),
    bufferMs: buffer.ms,
    bufferBytes: buffer.bytes,
    slowPolicy,
    maxClients: withDefault(parsed, FLAG.maxClients),
    stallTimeout: withDefault(parsed, FLAG.stallTimeout),
    headerTimeout: withDefault(parsed, FLAG.headerTimeout),
    keepAliveTimeout: withDefault(parsed, FLAG.keepAliveTimeout),
    maxConnectionsPerIp: withDefault(parsed, FLAG.maxConnectionsPerIp),
    segments: parsed.segments !== false,
    partTarget: withDefault(parsed, FLAG.partTarget),
    sourceToken: valueOf(parsed, FLAG.sourceToken),
    sourceGrace: withDefault(parsed, FLAG.sourceGrace),
    reconnect: parsed.reconnect !== false,
    sourceTimeout: withDefault(parsed, FLAG.sourceTimeout),
    relayAll: Boolean(parsed["relay-all"]),
    record: valueOf(parsed, FLAG.record),
    recordSegment: withDefault(parsed, FLAG.recordSegment),
    recordKeep: valueOf(parsed, FLAG.recordKeep),
    webhooks,
    webhookSecret: valueOf(parsed, FLAG.webhookSecret),
    webhookQueue: withDefault(parsed, FLAG.webhookQueue),
    adminToken: valueOf(parsed, FLAG.adminToken),
    viewToken: valueOf(parsed, FLAG.viewToken),
    urlSecret: valueOf(parsed, FLAG.urlSecret),
    jwtSecret: valueOf(parsed, FLAG.jwtSecret),
    jwks: valueOf(parsed, FLAG.jwks),
    authUrl: valueOf(parsed, FLAG.authUrl),
    publishTokens: valueOf(parsed, FLAG.publishTokens),
    viewAllow: valueOf(parsed, FLAG.viewAllow),
    viewDeny: valueOf(parsed, FLAG.viewDeny),
    publishAllow: valueOf(parsed, FLAG.publishAllow),
    publishDeny: valueOf(parsed, FLAG.publishDeny),
    cert: valueOf(parsed, FLAG.cert),
    key: valueOf(parsed, FLAG.key),
    help: Boolean(parsed.help),
    version: Boolean(parsed.version),
  };
}
