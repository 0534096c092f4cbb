/**
 * The one table of mkserver's flags: it drives `parseArgs` (which names take a value), the text
 * of `--help` and the keys a config file may set. Every default is written once, here or in the
 * library (`DEFAULT_MAX_BYTES`, `DEFAULT_GRACE`, …), and `--help` prints it from the table.
 *
 * @module
 */

import { DEFAULT_IDLE_TIMEOUT } from "../ingest/_timing.ts";
import { DEFAULT_LOG_LEVEL, type LogLevel } from "../log.ts";
import { DEFAULT_LATENCY, type Latency } from "../stream/delivery_clock.ts";
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_DURATION } from "../stream/gop_ring.ts";
import { DEFAULT_HEADER_TIMEOUT, DEFAULT_KEEP_ALIVE_TIMEOUT } from "./http/http_server_options.ts";
import { DEFAULT_GRACE } from "../stream/mount_registry.ts";
import { ACCESS_WEBHOOK_FLAGS } from "./access_webhook_flags.ts";
import { type Flag, toggle, value, type ValueFlag } from "./flag_kinds.ts";
import {
  type BufferSpec,
  type Burst,
  formatBuffer,
  formatSeconds,
  type Limits,
  parseBuffer,
  parseBurst,
  parseCount,
  parseLatency,
  parseLimits,
  parseLogLevel,
  parsePartTarget,
  parsePort,
  parseSeconds,
  parseSlowPolicy,
  parseText,
  type SlowPolicy,
} from "./flag_parsers.ts";

export type { Flag, FlagSection, SwitchFlag, ValueFlag } from "./flag_kinds.ts";

/** Milliseconds between the summary lines the CLI logs at `info`. */
export const SUMMARY_INTERVAL = 30_000;

const RING_DEFAULTS: BufferSpec = { ms: DEFAULT_MAX_DURATION, bytes: DEFAULT_MAX_BYTES };

/** The flags, by the name the code uses; `FLAGS` lists them in `--help` order. */
export const FLAG = {
  port: value<number>({
    name: "port",
    arg: "N",
    section: "Options",
    default: "8080",
    parse: parsePort,
    help: ["HTTP port (default {default}; 0 picks a free port)"],
  }),
  host: value<string>({
    name: "host",
    arg: "ADDR",
    section: "Options",
    default: "0.0.0.0",
    parse: parseText,
    help: ["address to listen on (default {default})"],
  }),
  loop: toggle({
    name: "loop",
    section: "Options",
    help: ["replay a FILE forever, timestamps increasing across loops"],
  }),
  reconnect: toggle({
    name: "reconnect",
    section: "Options",
    default: true,
    help: ["end when an http(s) INPUT drops instead of reconnecting"],
  }),
  sourceTimeout: value<number>({
    name: "source-timeout",
    arg: "S",
    section: "Options",
    default: formatSeconds(DEFAULT_IDLE_TIMEOUT),
    parse: parseSeconds,
    help: [
      "an http(s) or tcp:// source that sends nothing for S seconds counts as",
      "dropped (reconnect, or let the next TCP source in) (default {default})",
    ],
  }),
  relayAll: toggle({
    name: "relay-all",
    section: "Options",
    help: [
      "with INPUT http://ORIGIN/...: an edge mirroring every mount the origin",
      "(another mkserver) lists in /status, following mounts as they come and go",
    ],
  }),
  sourceToken: value<string>({
    name: "source-token",
    arg: "TOKEN",
    section: "Pushed sources",
    parse: parseText,
    help: [
      "accept sources pushed with PUT or POST to /live/NAME (ffmpeg -method PUT,",
      "curl -T) that send Authorization: Bearer TOKEN (or Basic, TOKEN as the",
      "password); also MKSERVER_SOURCE_TOKEN in the environment",
    ],
  }),
  sourceGrace: value<number>({
    name: "source-grace",
    arg: "S",
    section: "Pushed sources",
    default: formatSeconds(DEFAULT_GRACE),
    parse: parseSeconds,
    help: [
      "seconds a mount whose source ended keeps its viewers for a source with",
      "the same tracks to continue it (default {default})",
    ],
  }),
  burst: value<Burst>({
    name: "burst",
    arg: "N|Ds",
    section: "Delivery",
    default: "1",
    parse: parseBurst,
    help: [
      "where a new viewer starts: N GOPs back from the newest keyframe, or the",
      "newest keyframe at least D seconds back (e.g. 2s); sent as fast as the",
      "viewer takes it, then live (default {default}: the newest keyframe)",
    ],
  }),
  latency: value<Latency>({
    name: "latency",
    arg: "D",
    section: "Delivery",
    default: `${DEFAULT_LATENCY}ms`,
    parse: parseLatency,
    help: [
      "how often viewers at the live edge get a write: every D (5ms to 10s, e.g.",
      "250ms), or frame (with each video frame); each write holds every block",
      "that came since the last, in whole Clusters (default {default})",
    ],
  }),
  lowLatency: toggle({
    name: "low-latency",
    section: "Delivery",
    help: ["the same as --latency frame"],
  }),
  buffer: value<BufferSpec>({
    name: "buffer",
    arg: "SPEC",
    section: "Delivery",
    default: formatBuffer(RING_DEFAULTS),
    parse: (text, flag) => parseBuffer(text, flag, RING_DEFAULTS),
    help: [
      "the shared buffer's bounds, seconds and/or bytes, e.g. 20s, 64MiB or",
      "20s,64MiB (default {default}); the GOP in progress is always kept",
    ],
  }),
  slowPolicy: value<SlowPolicy>({
    name: "slow-policy",
    arg: "P",
    section: "Delivery",
    default: "skip",
    parse: parseSlowPolicy,
    help: [
      "a viewer that falls behind the buffer: skip (jump to the newest",
      "keyframe, the default) or drop (disconnect it)",
    ],
  }),
  maxClients: value<number>({
    name: "max-clients",
    arg: "N",
    section: "Delivery",
    default: "0",
    parse: parseCount,
    help: ["most viewers at once; more get 503 with Retry-After (default {default}: no limit)"],
  }),
  stallTimeout: value<number>({
    name: "stall-timeout",
    arg: "S",
    section: "Delivery",
    default: "30",
    parse: parseSeconds,
    help: [
      "disconnect a viewer that accepts no bytes for S seconds while data waits",
      "for it, and close its socket (default {default}; 0: never)",
    ],
  }),
  segments: toggle({
    name: "segments",
    section: "Delivery",
    default: true,
    help: [
      "serve the progressive stream only: no HLS/LL-HLS (/live/NAME/index.m3u8)",
      "or DASH (/live/NAME/manifest.mpd) of every mount",
    ],
  }),
  partTarget: value<number>({
    name: "part-target",
    arg: "S",
    section: "Delivery",
    default: "0.5",
    parse: parsePartTarget,
    help: ["LL-HLS part length in seconds, 0.1 to 2 (default {default})"],
  }),
  record: value<string>({
    name: "record",
    arg: "DIR",
    section: "Recording",
    parse: parseText,
    help: [
      "record every mount into DIR/NAME/ as seekable Matroska files named by",
      "their UTC start (20261201T113239.123Z.mkv); files a crash left open are",
      "repaired at start-up",
    ],
  }),
  recordSegment: value<Limits>({
    name: "record-segment",
    arg: "LIM",
    section: "Recording",
    default: "1h",
    parse: parseLimits,
    help: [
      "start a new file at the first keyframe after this much media and/or",
      "this size, e.g. 10m, 1GiB or 1h,2GiB (default {default})",
    ],
  }),
  recordKeep: value<Limits>({
    name: "record-keep",
    arg: "LIM",
    section: "Recording",
    parse: parseLimits,
    help: [
      "delete the oldest recordings (of every mount in DIR) that ended longer",
      "ago than this and/or while they take more, e.g. 7d, 50GiB or 7d,50GiB",
      "(default: keep everything)",
    ],
  }),
  ...ACCESS_WEBHOOK_FLAGS,
  headerTimeout: value<number>({
    name: "header-timeout",
    arg: "S",
    section: "Connections",
    default: formatSeconds(DEFAULT_HEADER_TIMEOUT),
    parse: parseSeconds,
    help: [
      "a request head must arrive whole within S seconds of the connection's",
      "start (or of its first byte, kept alive): then 408 and close (default",
      "{default}; 0: never)",
    ],
  }),
  keepAliveTimeout: value<number>({
    name: "keep-alive-timeout",
    arg: "S",
    section: "Connections",
    default: formatSeconds(DEFAULT_KEEP_ALIVE_TIMEOUT),
    parse: parseSeconds,
    help: ["close a kept-alive connection idle for S seconds (default {default}; 0: never)"],
  }),
  maxConnectionsPerIp: value<number>({
    name: "max-connections-per-ip",
    arg: "N",
    section: "Connections",
    default: "0",
    parse: parseCount,
    help: [
      "most open connections from one address; a request on one more gets 429",
      "with Retry-After, and its connection is closed (default {default}: no limit)",
    ],
  }),
  adminToken: value<string>({
    name: "admin-token",
    arg: "TOKEN",
    section: "Operation",
    parse: parseText,
    help: [
      "enable the admin API under /admin/ (Authorization: Bearer TOKEN); the",
      "MKSERVER_ADMIN_TOKEN environment variable works too and keeps the token",
      "out of the process list",
    ],
  }),
  cert: value<string>({
    name: "cert",
    arg: "FILE",
    section: "Operation",
    parse: parseText,
    help: ["PEM certificate: serve HTTPS (with --key)"],
  }),
  key: value<string>({
    name: "key",
    arg: "FILE",
    section: "Operation",
    parse: parseText,
    help: ["PEM private key of --cert"],
  }),
  config: value<string>({
    name: "config",
    arg: "FILE",
    section: "Operation",
    parse: parseText,
    inFile: false,
    help: [
      "read settings from a JSON or JSONC file whose keys are the long",
      'options (e.g. {"port": 8080, "low-latency": true, "input": "a.webm"});',
      "options on the command line win",
    ],
  }),
  logLevel: value<LogLevel>({
    name: "log-level",
    arg: "LEVEL",
    section: "Operation",
    default: DEFAULT_LOG_LEVEL,
    parse: parseLogLevel,
    help: [
      `error, warn, info or debug (default {default}); a summary line every ${
        formatSeconds(SUMMARY_INTERVAL)
      } s`,
    ],
  }),
  quiet: toggle({
    name: "quiet",
    short: "q",
    section: "Operation",
    help: ["log errors only (same as --log-level error)"],
  }),
  help: toggle({
    name: "help",
    short: "h",
    section: "Operation",
    inFile: false,
    help: ["show this help"],
  }),
  version: toggle({
    name: "version",
    short: "V",
    section: "Operation",
    inFile: false,
    help: ["show the version"],
  }),
} as const;

/** Every flag, in the order `--help` lists them. */
export const FLAGS: readonly Flag[] = Object.values(FLAG);

/** The flag `applyConfigFile` takes out before parsing (it names the file the rest come from). */
export const CONFIG_FLAG: ValueFlag<string> = FLAG.config;
