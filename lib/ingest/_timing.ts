/**
 * Small timing helpers shared by the network sources: abortable sleeps, reads with an idle
 * timeout, and delays written for log lines.
 *
 * @module
 */

import { errorMessage } from "../log.ts";

/**
 * Milliseconds a network source (an http(s) pull, a tcp:// listener) may send nothing before it
 * counts as dropped, unless told otherwise: the CLI's `--source-timeout` default too.
 */
export const DEFAULT_IDLE_TIMEOUT = 30_000;

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted || !(ms > 0)) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Reads from `reader`, giving up after `ms` without data (`undefined`; the read stays pending and
 * the caller must cancel the reader or abort its source). `ms` of 0 or `Infinity` waits forever.
 */
export async function readWithin<T>(
  reader: ReadableStreamDefaultReader<T>,
  ms: number,
): Promise<ReadableStreamReadResult<T> | undefined> {
  if (!(ms > 0) || ms === Infinity) return await reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([reader.read(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Writes a delay for a log line: `500 ms`, `2 s`, `1.5 s`. */
export function formatDelay(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** Checks an optional non-negative duration option, returning it or `fallback`. */
export function durationOption(
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new TypeError(`Invalid ${name}: ${value}`);
  }
  return value;
}

/** The message of an error-like value, for a log line: `errorMessage` under its older name. */
export function reasonOf(error: unknown): string {
  return errorMessage(error);
}
