/**
 * The stall watchdog: closes the connection of a streaming response whose peer stopped
 * acknowledging bytes, by comparing what was written with the kernel's unacknowledged send queue.
 * Write backpressure alone notices late: the kernel buffers megabytes per connection.
 *
 * @module
 */

import { type Logger, SILENT } from "../../log.ts";
import { readTcpSendQueues, type SendQueues } from "../tcp_queues.ts";

/** The key of a connection in the kernel's table: remote address and port. */
export function connKey(addr: Deno.NetAddr): string {
  const host = addr.hostname.startsWith("::ffff:") ? addr.hostname.slice(7) : addr.hostname;
  return `${host}:${addr.port}`;
}

/** One watched streaming response; its writer keeps `written` and `writing` up to date. */
export interface Watched {
  readonly conn: Deno.Conn;
  /** The peer's `address:port`, as `SendQueues` keys it. */
  readonly key: string;
  readonly response: Response;
  /** Bytes handed to the connection so far. */
  written: number;
  /** A write is in progress (bytes wait for the peer even if the kernel's queue reads 0). */
  writing: boolean;
  acked: number;
  lastProgress: number;
}

/** Options of `StallWatchdog`. */
export interface StallWatchdogOptions {
  /** Milliseconds without an acknowledged byte, while bytes wait, before a close. 0 disables. */
  timeout: number;
  /** The server's local port: the kernel's table is read for it only. */
  port: number;
  log?: Logger;
  /** Called with the response of each connection it closes. */
  onEvict?: (response: Response) => void;
  /** Reads the kernel's unacknowledged send queues (tests inject one). Default: /proc/net/tcp*. */
  readSendQueues?: (localPort: number) => SendQueues | undefined;
}

/**
 * Watches streaming responses and closes the connection of one that made no progress for
 * `timeout` ms. `conn.close()` releases the fd even with a write blocked, which `Deno.serve`
 * cannot do for a stalled response.
 */
export class StallWatchdog {
  #watched = new Set<Watched>();
  #evictions = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #options: StallWatchdogOptions;
  #log: Logger;
  #read: (localPort: number) => SendQueues | undefined;

  constructor(options: StallWatchdogOptions) {
    this.#options = options;
    this.#log = options.log ?? SILENT;
    this.#read = options.readSendQueues ?? readTcpSendQueues;
    if (options.timeout > 0) {
      // Reading /proc/net/tcp walks the kernel's whole connection table (about 15 ms at 5,000
      // viewers): check a sixth of the timeout apart, between 0.25 and 5 s.
      const every = Math.min(5000, Math.max(250, options.timeout / 6));
      this.#timer = setInterval(() => this.check(), every);
      Deno.unrefTimer(this.#timer);
    }
  }

  /** Streaming responses being watched. */
  get size(): number {
    return this.#watched.size;
  }

  /** Connections closed so far because their peer stopped reading. */
  get evictions(): number {
    return this.#evictions;
  }

  /** Starts watching the stream `response` sent on `conn`. */
  watch(conn: Deno.Conn, response: Response): Watched {
    const watched: Watched = {
      conn,
      key: connKey(conn.remoteAddr as Deno.NetAddr),
      response,
      written: 0,
      writing: false,
      acked: 0,
      lastProgress: performance.now(),
    };
    this.#watched.add(watched);
    return watched;
  }

  /** Stops watching (the response ended). */
  unwatch(watched: Watched): void {
    this.#watched.delete(watched);
  }

  /** Stops the periodic check. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** One check of every watched response (the timer's tick). */
  check(now: number = performance.now()): void {
    if (this.#watched.size === 0) return;
    const queues = this.#read(this.#options.port);
    for (const s of this.#watched) {
      const queued = queues?.get(s.key);
      // Bytes the peer acknowledged: what was written minus what still waits in the kernel.
      const acked = queued === undefined ? s.written : s.written - queued;
      const waiting = s.writing || (queued ?? 0) > 0;
      if (acked > s.acked || !waiting) {
        s.acked = Math.max(s.acked, acked);
        s.lastProgress = now;
      } else if (now - s.lastProgress >= this.#options.timeout) {
        this.#evict(s, now);
      }
    }
  }

  #evict(s: Watched, now: number): void {
    this.#evictions++;
    this.#options.onEvict?.(s.response);
    this.#log.warn(
      `Viewer ${s.key} accepted no bytes for ${
        Math.round((now - s.lastProgress) / 1000)
      } s: disconnecting it`,
    );
    this.#watched.delete(s);
    try {
      s.conn.close(); // releases the fd even with a write blocked
    } catch { /* already closed */ }
  }
}
