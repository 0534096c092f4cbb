/**
 * Pulling a live stream from an http(s) URL (another mkserver, an Icecast mount, any server that
 * streams Matroska/WebM), reconnecting when it drops.
 *
 * @module
 */

import { type Logger, SILENT } from "../log.ts";
import {
  DEFAULT_IDLE_TIMEOUT,
  durationOption,
  formatDelay,
  readWithin,
  reasonOf,
  sleep,
} from "./_timing.ts";

/** Options of `openUrlSource`. */
export interface UrlSourceOptions {
  /** Fetch again when the body ends or fails (default true). Off: the stream ends with the body. */
  reconnect?: boolean;
  /** First delay before reconnecting, in ms (default 500); doubles after each failed attempt. */
  minDelay?: number;
  /** Cap on the delay between attempts, in ms (default 10000). */
  maxDelay?: number;
  /**
   * How long the source may stay away, in ms, before the stream ends instead of retrying
   * (default `Infinity`: retry forever). Counted from the drop.
   */
  grace?: number;
  /**
   * A connection that delivers nothing for this long, in ms, counts as dropped, and so does a
   * server that takes this long to answer (default 30000; 0 waits forever). Only time spent
   * waiting for data counts, not time the consumer is slow.
   */
  idleTimeout?: number;
  /** Ends the stream (cleanly) and aborts whatever is in flight. */
  signal?: AbortSignal;
  /** Where drops (warn) and recoveries (info) are reported. */
  log?: Logger;
  /**
   * Called with the connection's number (1 for the first) just before its first bytes are
   * enqueued; a consumer that reads in a loop has handled every byte of the previous connection
   * by then. A dropped connection may have stopped inside an element: restart the EBML parser
   * here (keeping the demuxer, which continues the stream across the new EBML header).
   */
  onConnect?: (connection: number) => void;
  /** The `fetch` to use (for tests). */
  fetch?: typeof fetch;
}

/** The first connection to a URL source failed (a network error, or a non-2xx answer). */
export class UrlSourceError extends Error {
  /** The HTTP status of the answer, or undefined when there was no answer. */
  readonly status: number | undefined;

  constructor(message: string, status?: number, options?: ErrorOptions) {
    super(message, options);
    this.name = "UrlSourceError";
    this.status = status;
  }
}

interface Connection {
  reader: ReadableStreamDefaultReader<Uint8Array>;
  abort: AbortController;
}

type Attempt = Connection | {
  failure: string;
  status?: number;
  cause?: unknown;
};

/**
 * Fetches `url` and returns its body as a stream, read only as fast as it is consumed (never
 * buffered whole). When the body ends or fails, it is fetched again after a delay that starts at
 * `minDelay`, doubles with every failed attempt (an error, a non-2xx answer, a body without
 * data) up to `maxDelay`, and starts over once a connection delivers data. Each reconnection's
 * bytes follow the previous ones in the same stream: a Matroska source starts them with a new
 * EBML header, which the demuxer continues across.
 *
 * The first attempt is made before this resolves, so a URL that cannot be fetched fails here.
 * `cancel()` on the stream (or `signal`) aborts the fetch in flight and any pending delay.
 *
 * @throws {TypeError} for a URL that is not http(s) or a bad option
 * @throws {UrlSourceError} when the first attempt fails (with `status` for a non-2xx answer)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { openUrlSource } from "./url_source.ts";
 * // An upstream whose every answer is a short body: each end is followed by a reconnection.
 * let answers = 0;
 * const upstream = Deno.serve(
 *   { hostname: "127.0.0.1", port: 0, onListen() {} },
 *   () => new Response(`body ${++answers};`),
 * );
 * const source = await openUrlSource(`http://127.0.0.1:${upstream.addr.port}/stream`, {
 *   minDelay: 10,
 * });
 * const reader = source.getReader();
 * let text = "";
 * while (!text.includes("body 2;")) {
 *   const { value, done } = await reader.read();
 *   if (done) break;
 *   text += new TextDecoder().decode(value);
 * }
 * await reader.cancel(); // aborts the fetch in flight
 * assertEquals(text, "body 1;body 2;");
 * await upstream.shutdown();
 * ```
 */
export async function openUrlSource(
  url: string | URL,
  options: UrlSourceOptions = {},
): Promise<ReadableStream<Uint8Array>> {
  const target = new URL(url);
  if (target.protocol !== "http:" && target.protocol !== "https:") {
    throw new TypeError(`Not an http(s) URL: ${redact(target)}`);
  }
  const reconnect = options.reconnect ?? true;
  const minDelay = durationOption("minDelay", options.minDelay, 500);
  const maxDelay = Math.max(
    minDelay,
    durationOption("maxDelay", options.maxDelay, 10_000),
  );
  const grace = durationOption("grace", options.grace, Infinity);
  const idleTimeout = durationOption(
    "idleTimeout",
    options.idleTimeout,
    DEFAULT_IDLE_TIMEOUT,
  );
  const log = options.log ?? SILENT;
  const fetchFn = options.fetch ?? fetch;
  const name = `Source ${redact(target)}`;

  // One controller for the whole source; each connection also gets its own, so that an idle
  // connection can be dropped without stopping the source.
  const stop = new AbortController();
  let current: Connection | undefined;
  const onAbort = () => {
    stop.abort(options.signal?.reason);
    close(current); // a body read may not heed the fetch signal (a custom `fetch`)
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const release = () => options.signal?.removeEventListener("abort", onAbort);

  async function attempt(): Promise<Attempt> {
    const abort = new AbortController();
    const signal = AbortSignal.any([stop.signal, abort.signal]);
    // A server that accepts but never answers counts as down, like one that goes silent.
    let silent = false;
    const timer = idleTimeout > 0 && idleTimeout !== Infinity
      ? setTimeout(() => {
        silent = true;
        abort.abort();
      }, idleTimeout)
      : undefined;
    let response: Response;
    try {
      response = await fetchFn(target, { signal });
    } catch (cause) {
      const failure = silent ? `no answer for ${formatDelay(idleTimeout)}` : reasonOf(cause);
      return { failure, cause };
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      const text = `${response.status} ${response.statusText}`.trim();
      return { failure: `HTTP ${text}`, status: response.status };
    }
    const body = response.body ?? ReadableStream.from<Uint8Array>([]);
    return { reader: body.getReader(), abort };
  }

  if (options.signal?.aborted) {
    release();
    throw options.signal.reason;
  }
  const first = await attempt();
  if (!("reader" in first)) {
    release();
    if (stop.signal.aborted) throw stop.signal.reason;
    throw new UrlSourceError(
      `Cannot open ${redact(target)}: ${first.failure}`,
      first.status,
      { cause: first.cause },
    );
  }

  current = first;
  let delivered = false; // by the current connection
  let connections = 0; // that delivered data
  let failures = 0; // consecutive attempts that delivered no data
  let delay = 0; // before the next attempt
  let droppedAt = 0;

  const backoff = () => Math.min(maxDelay, minDelay * 2 ** failures);

  /** Waits and fetches until connected (true), stopped or out of grace (false). */
  async function reconnectLoop(): Promise<boolean> {
    for (;;) {
      const left = grace - (performance.now() - droppedAt);
      await sleep(Math.min(delay, Math.max(0, left)), stop.signal);
      if (stop.signal.aborted) return false;
      const next = await attempt();
      if (stop.signal.aborted) {
        if ("reader" in next) close(next);
        return false;
      }
      if ("reader" in next) {
        log.info(`${name} is back`);
        current = next;
        delivered = false;
        return true;
      }
      failures++;
      delay = backoff();
      if (performance.now() - droppedAt >= grace) {
        log.warn(
          `${name} unavailable: ${next.failure}; gave up after ${formatDelay(grace)}`,
        );
        return false;
      }
      log.warn(
        `${name} unavailable: ${next.failure}; retrying in ${formatDelay(delay)}`,
      );
    }
  }

  let cancelled = false;
  let pulling: Promise<void> | undefined;

  async function pull(
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    for (;;) {
      if (current === undefined) {
        if (stop.signal.aborted || !(await reconnectLoop())) {
          release();
          if (!cancelled) controller.close();
          return;
        }
      }
      const connection: Connection = current!;
      let reason = "end of stream";
      let failed = false;
      try {
        const result = await readWithin(connection.reader, idleTimeout);
        if (result === undefined) {
          reason = `no data for ${formatDelay(idleTimeout)}`;
          failed = true;
        } else if (!result.done) {
          if (cancelled) return;
          if (!delivered) {
            delivered = true;
            failures = 0;
            options.onConnect?.(++connections);
          }
          controller.enqueue(result.value);
          return;
        }
      } catch (error) {
        reason = reasonOf(error);
        failed = true;
      }
      close(connection);
      current = undefined;
      if (stop.signal.aborted) continue; // cancelled or signalled: end quietly
      if (!reconnect) {
        release();
        if (failed) controller.error(new Error(`${name} failed: ${reason}`));
        else controller.close();
        return;
      }
      if (!delivered) failures++;
      delay = backoff();
      droppedAt = performance.now();
      log.warn(
        `${name} dropped: ${reason}; reconnecting in ${formatDelay(delay)}`,
      );
    }
  }

  return new ReadableStream<Uint8Array>({
    pull(controller) {
      pulling = pull(controller);
      return pulling;
    },
    async cancel(reason) {
      cancelled = true;
      stop.abort(reason);
      release();
      close(current);
      current = undefined;
      // Settle the fetch or read in flight, so nothing outlives the stream.
      await pulling?.catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/** Drops a connection: aborts its fetch and cancels its body. */
function close(connection: Connection | undefined): void {
  connection?.abort.abort();
  connection?.reader.cancel().catch(() => {});
}

/** The URL as logged: without user name and password. */
function redact(url: URL): string {
  if (url.username === "" && url.password === "") return url.href;
  const copy = new URL(url);
  copy.username = "";
  copy.password = "";
  return copy.href;
}
