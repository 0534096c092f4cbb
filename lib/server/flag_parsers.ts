/**
 * The values command-line flags take (ports, seconds, sizes, burst and buffer specs), each
 * parsed with one message that shows the expected form when it is wrong.
 *
 * @module
 */

import { isLogLevel, type LogLevel } from "../log.ts";
import type { Latency } from "../stream/delivery_clock.ts";

/** A mistake on the command line (exit code 2). */
export class UsageError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Where a new viewer starts: `gops` back from the newest (1 = the newest), or `ms` of media. */
export type Burst = { gops: number } | { ms: number };

/** What happens to a viewer that falls behind the buffer. */
export type SlowPolicy = "skip" | "drop";

/** Parses a TCP port, 0 (pick a free one) to 65535. */
export function parsePort(s: string, flag: string): number {
  if (!/^\d+$/.test(s) || Number(s) > 65535) {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected an integer from 0 to 65535)`);
  }
  return Number(s);
}

/** Parses seconds (`30`, `1.5`) or a duration (`30s`, `500ms`, `2m`) into milliseconds. */
export function parseSeconds(s: string, flag: string): number {
  const ms = /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : parseDuration(s);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected seconds, e.g. 30 or 30s)`);
  }
  return ms;
}

/**
 * Parses the delivery clock's period: `frame` (one write per video frame), or 5 ms to 10 s
 * (`1s`, `250ms`, `0.25`), in milliseconds.
 */
export function parseLatency(s: string, flag: string): Latency {
  if (s === "frame") return "frame";
  const ms = /^\d+(\.\d+)?$/.test(s) ? Number(s) * 1000 : parseDuration(s);
  if (ms === undefined || !(ms >= 5 && ms <= 10_000)) {
    throw new UsageError(
      `Invalid ${flag}: '${s}' (expected frame, or 5 ms to 10 s, e.g. 1s or 250ms)`,
    );
  }
  return ms;
}

/** Parses an LL-HLS part target: seconds from 0.1 to 2 (`0.5`, `200ms`), in milliseconds. */
export function parsePartTarget(s: string, flag: string): number {
  const ms = parseSeconds(s, flag);
  if (ms < 100 || ms > 2000) {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected 0.1 to 2 seconds, e.g. 0.5 or 200ms)`);
  }
  return ms;
}

/** Parses a whole number. */
export function parseCount(s: string, flag: string): number {
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected a whole number)`);
  }
  return Number(s);
}

/** Parses an http(s) URL (a webhook receiver's), giving it back normalized. */
export function parseHttpUrl(s: string, flag: string): string {
  let url: URL | undefined;
  try {
    url = new URL(s);
  } catch { /* not a URL: said below */ }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected an http:// or https:// URL)`);
  }
  return url.href;
}

/** Takes a value as it is (an address, a token, a file name). */
export function parseText(s: string): string {
  return s;
}

/** Parses a log level. */
export function parseLogLevel(s: string, flag: string): LogLevel {
  if (!isLogLevel(s)) {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected error, warn, info or debug)`);
  }
  return s;
}

/** Parses `skip` or `drop`. */
export function parseSlowPolicy(s: string, flag: string): SlowPolicy {
  if (s !== "skip" && s !== "drop") {
    throw new UsageError(`Invalid ${flag}: '${s}' (expected skip or drop)`);
  }
  return s;
}

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * Parses a duration such as `2s`, `1.5s`, `500ms`, `1h` or `7d` into milliseconds; undefined if
 * it is not one.
 */
function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * DURATION_UNITS[m[2]];
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  kib: 1024,
  mb: 1e6,
  mib: 1024 ** 2,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** Parses a size such as `64MiB`, `500KB`, `1GB` or `1000000` into bytes; undefined if it is not one. */
function parseSize(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(|B|KB|KiB|MB|MiB|GB|GiB)$/i.exec(s);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
}

/** Parses `--burst`: a GOP count (at least 1) or a duration. */
export function parseBurst(s: string, flag: string): Burst {
  if (/^\d+$/.test(s) && Number(s) >= 1) return { gops: Number(s) };
  const ms = parseDuration(s);
  if (ms !== undefined) return { ms };
  throw new UsageError(
    `Invalid ${flag}: '${s}' (expected a GOP count such as 2, or a duration such as 2s)`,
  );
}

/** The buffer's bounds: milliseconds of media and bytes. */
export interface BufferSpec {
  ms: number;
  bytes: number;
}

/**
 * Parses `--buffer`: a duration, a size, or both separated by a comma. A bound left out keeps
 * its value in `defaults` (the default spec, parsed first).
 */
export function parseBuffer(spec: string, flag: string, defaults?: BufferSpec): BufferSpec {
  let { ms, bytes } = defaults ?? { ms: NaN, bytes: NaN };
  for (const part of spec.split(",")) {
    const duration = parseDuration(part);
    const size = duration === undefined ? parseSize(part) : undefined;
    if (duration !== undefined && duration > 0) ms = duration;
    else if (size !== undefined && size > 0) bytes = size;
    else {
      throw new UsageError(
        `Invalid ${flag}: '${spec}' (expected seconds and/or bytes, e.g. 20s, 64MiB or 20s,64MiB)`,
      );
    }
  }
  return { ms, bytes };
}

/** Writes milliseconds the way `parseSeconds` reads them back: `30`, `1.5`. */
export function formatSeconds(ms: number): string {
  return String(ms / 1000);
}

/** Writes a buffer spec the way `parseBuffer` reads it back: `20s,64MiB`. */
export function formatBuffer(spec: BufferSpec): string {
  const bytes = spec.bytes % 1024 ** 2 === 0 ? `${spec.bytes / 1024 ** 2}MiB` : String(spec.bytes);
  return `${spec.ms / 1000}s,${bytes}`;
}

/** A duration and/or a size, either absent (`--record-segment`, `--record-keep`). */
export interface Limits {
  ms?: number;
  bytes?: number;
}

/** Parses a duration, a size, or both separated by a comma: `1h`, `2GiB`, `7d,50GiB`. */
export function parseLimits(spec: string, flag: string): Limits {
  const limits: Limits = {};
  for (const part of spec.split(",")) {
    const duration = parseDuration(part);
    const size = duration === undefined ? parseSize(part) : undefined;
    if (duration !== undefined && duration > 0 && limits.ms === undefined) limits.ms = duration;
    else if (size !== undefined && size > 0 && limits.bytes === undefined) limits.bytes = size;
    else {
      throw new UsageError(
        `Invalid ${flag}: '${spec}' (expected a duration and/or a size, e.g. 1h, 2GiB or 7d,50GiB)`,
      );
    }
  }
  return limits;
}
