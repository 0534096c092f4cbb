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
  const source = new UrlSource(target, options);
  await source.open();
  return source.readable;
}

/** The state of `openUrlSource`: the connection being read, the backoff, and the stream. */
class UrlSource {
  readonly readable: ReadableStream<Uint8Array>;
  readonly #target: URL;
  readonly #options: UrlSourceOptions;
  readonly #reconnect: boolean;
  readonly #minDelay: number;
  readonly #maxDelay: number;
  readonly #grace: number;
  readonly #idleTimeout: number;
  readonly #log: Logger;
  readonly #fetch: typeof fetch;
  readonly #name: string;
  // One controller for the whole source; each connection also gets its own, so that an idle
  // connection can be dropped without stopping the source.
  readonly #stop = new AbortController();
  #current: Connection | undefined;
  #delivered = false; // by the current connection
  #connections = 0; // that delivered data
  #failures = 0; // consecutive attempts that delivered no data
  #delay = 0; // before the next attempt
  #droppedAt = 0;
  #cancelled = false;
  #pulling: Promise<void> | undefined;
  readonly #onAbort = () => {
    this.#stop.abort(this.#options.signal?.reason);
    close(this.#current); // a body read may not heed the fetch signal (a custom `fetch`)
  };

  constructor(target: URL, options: UrlSourceOptions) {
    this.#target = target;
    this.#options = options;
    this.#reconnect = options.reconnect ?? true;
    this.#minDelay = durationOption("minDelay", options.minDelay, 500);
    this.#maxDelay = Math.max(
      this.#minDelay,
      durationOption("maxDelay", options.maxDelay, 10_000),
    );
    this.#grace = durationOption("grace", options.grace, Infinity);
    this.#idleTimeout = durationOption("idleTimeout", options.idleTimeout, DEFAULT_IDLE_TIMEOUT);
    this.#log = options.log ?? SILENT;
    this.#fetch = options.fetch ?? fetch;
    this.#name = `Source ${redact(target)}`;
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    this.readable = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        this.#pulling = this.#pull(controller);
        return this.#pulling;
      },
      cancel: (reason) => this.#cancel(reason),
    }, { highWaterMark: 0 });
  }

  /** The first attempt: connected, or a `UrlSourceError` (the abort reason when signalled). */
  async open(): Promise<void> {
    const signal = this.#options.signal;
    if (signal?.aborted) {
      this.#release();
      throw signal.reason;
    }
    const first = await this.#attempt();
    if (!("reader" in first)) {
      this.#release();
      if (this.#stop.signal.aborted) throw this.#stop.signal.reason;
      throw new UrlSourceError(
        `Cannot open ${redact(this.#target)}: ${first.failure}`,
        first.status,
        { cause: first.cause },
      );
    }
    this.#current = first;
  }

  #release(): void {
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
  }

  #backoff(): number {
    return Math.min(this.#maxDelay, this.#minDelay * 2 ** this.#failures);
  }

  async #attempt(): Promise<Attempt> {
    const abort = new AbortController();
    const signal = AbortSignal.any([this.#stop.signal, abort.signal]);
    const idle = this.#idleTimeout;
    // A server that accepts but never answers counts as down, like one that goes silent.
    let silent = false;
    const timer = idle > 0 && idle !== Infinity
      ? setTimeout(() => {
        silent = true;
        abort.abort();
      }, idle)
      : undefined;
    let response: Response;
    try {
      response = await this.#fetch(this.#target, { signal });
    } catch (cause) {
      const failure = silent ? `no answer for ${formatDelay(idle)}` : reasonOf(cause);
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

  /** Waits and fetches until connected (true), stopped or out of grace (false). */
  async #reconnectLoop(): Promise<boolean> {
    const stop = this.#stop.signal;
    for (;;) {
      const left = this.#grace - (performance.now() - this.#droppedAt);
      await sleep(Math.min(this.#delay, Math.max(0, left)), stop);
      if (stop.aborted) return false;
      const next = await this.#attempt();
      if (stop.aborted) {
        if ("reader" in next) close(next);
        return false;
      }
      if ("reader" in next) {
        this.#log.info(`${this.#name} is back`);
        this.#current = next;
        this.#delivered = false;
        return true;
      }
      this.#failures++;
      this.#delay = this.#backoff();
      if (performance.now() - this.#droppedAt >= this.#grace) {
        this.#log.warn(
          `${this.#name} unavailable: ${next.failure}; gave up after ${formatDelay(this.#grace)}`,
        );
        return false;
      }
      this.#log.warn(
        `${this.#name} unavailable: ${next.failure}; retrying in ${formatDelay(this.#delay)}`,
      );
    }
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      if (this.#current === undefined) {
        if (this.#stop.signal.aborted || !(await this.#reconnectLoop())) {
          this.#release();
          if (!this.#cancelled) controller.close();
          return;
        }
      }
      const connection = this.#current;
      if (connection === undefined) continue;
      let reason = "end of stream";
      let failed = false;
      try {
        const result = await readWithin(connection.reader, this.#idleTimeout);
        if (result === undefined) {
          reason = `no data for ${formatDelay(this.#idleTimeout)}`;
          failed = true;
        } else if (!result.done) {
          if (this.#cancelled) return;
          if (!this.#delivered) {
            this.#delivered = true;
            this.#failures = 0;
            this.#options.onConnect?.(++this.#connections);
          }
          controller.enqueue(result.value);
          return;
        }
      } catch (error) {
        reason = reasonOf(error);
        failed = true;
      }
      close(connection);
      this.#current = undefined;
      if (this.#stop.signal.aborted) continue; // cancelled or signalled: end quietly
      if (!this.#reconnect) {
        this.#release();
        if (failed) controller.error(new Error(`${this.#name} failed: ${reason}`));
        else controller.close();
        return;
      }
      if (!this.#delivered) this.#failures++;
      this.#delay = this.#backoff();
      this.#droppedAt = performance.now();
      this.#log.warn(
        `${this.#name} dropped: ${reason}; reconnecting in ${formatDelay(this.#delay)}`,
      );
    }
  }

  async #cancel(reason: unknown): Promise<void> {
    this.#cancelled = true;
    this.#stop.abort(reason);
    this.#release();
    close(this.#current);
    this.#current = undefined;
    // Settle the fetch or read in flight, so nothing outlives the stream.
    await this.#pulling?.catch(() => {});
  }
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
