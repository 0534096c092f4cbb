/**
 * Listening on a TCP port for one pushed source at a time
 * (`ffmpeg … -f matroska tcp://host:port`), the replacement for `nc -l -p PORT | mkserver`.
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
} from "./_timing.ts";

/** Options of `listenTcpSource`. */
export interface TcpSourceOptions {
  /** Address to listen on (default `0.0.0.0`). */
  hostname?: string;
  /** Port to listen on; 0 picks a free one (see `addr`). */
  port: number;
  /**
   * How long to wait, in ms, for the next source after one ends before the stream ends
   * (default `Infinity`: wait forever). The wait for the first source is not limited.
   */
  grace?: number;
  /**
   * A connection that arrives while a source is connected waits this long, in ms, for that source
   * to end before it is refused (default 1000): the old source's last bytes may still be unread
   * when its encoder reconnects. Any further connection meanwhile is refused at once.
   */
  takeoverWait?: number;
  /**
   * A source that sends nothing for this long, in ms, is disconnected so that another can take
   * over (default 30000; 0 waits forever). Only time spent waiting for data counts.
   */
  idleTimeout?: number;
  /**
   * Called with the source's number (1 for the first) just before its first bytes are
   * enqueued; a consumer that reads in a loop has handled every byte of the previous source by
   * then. A source that ended or dropped may have stopped inside an element: restart the EBML
   * parser here (keeping the demuxer, which continues the stream across the new EBML header).
   */
  onConnect?: (connection: number) => void;
  /** Ends the stream (cleanly), closing the listener and the connection. */
  signal?: AbortSignal;
  /** Where connections (info) and refusals and drops (warn) are reported. */
  log?: Logger;
}

/** A listening TCP source. */
export interface TcpSource {
  /** The address listened on (with the actual port when `port` was 0). */
  addr: Deno.NetAddr;
  /** The bytes of every source in turn; ends only with `grace`, `signal` or `cancel()`. */
  readable: ReadableStream<Uint8Array>;
}

interface Source {
  conn: Deno.TcpConn;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  peer: string;
  /** Whether its first bytes have been enqueued. */
  started: boolean;
}

/**
 * Listens on `hostname:port` and returns the bytes pushed by one connection at a time. While a
 * source is connected, further connections are closed at once (with a warning); when it ends, the
 * next connection takes over and its bytes follow in the same stream (a Matroska source starts
 * with a new EBML header, which the demuxer continues across). A connection's bytes are read only
 * as fast as `readable` is consumed. `cancel()` on `readable` (or `signal`) closes the listener
 * and the connection.
 *
 * The listener is open when this returns, so a busy port fails here (`Deno.errors.AddrInUse`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { listenTcpSource } from "./tcp_source.ts";
 * const { addr, readable } = listenTcpSource({ hostname: "127.0.0.1", port: 0 });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: addr.port });
 * await conn.write(new Uint8Array([0x1A, 0x45, 0xDF, 0xA3]));
 * conn.close();
 * const reader = readable.getReader();
 * assertEquals((await reader.read()).value, new Uint8Array([0x1A, 0x45, 0xDF, 0xA3]));
 * await reader.cancel();
 * ```
 */
export function listenTcpSource(options: TcpSourceOptions): TcpSource {
  const source = new TcpListenerSource(options);
  return { addr: source.addr, readable: source.readable };
}

/** The state of `listenTcpSource`: the listener, the connection being read, the one in line. */
class TcpListenerSource {
  readonly addr: Deno.NetAddr;
  readonly readable: ReadableStream<Uint8Array>;
  readonly #options: TcpSourceOptions;
  readonly #grace: number;
  readonly #idleTimeout: number;
  readonly #takeoverWait: number;
  readonly #log: Logger;
  readonly #listener: Deno.TcpListener;
  #current: Source | undefined;
  /** The connection next in line, waiting up to `takeoverWait` for `current` to end. */
  #waiting:
    | { conn: Deno.TcpConn; peer: string; timer: ReturnType<typeof setTimeout> }
    | undefined;
  #stopped = false;
  #served = 0; // sources that have connected so far
  #started = 0; // sources that have sent bytes so far
  #wake: (() => void) | undefined; // a pull waiting for a source
  #pulling: Promise<void> | undefined;
  #cancelled = false;
  #accepting: Promise<void>;
  #onAbort = () => this.#stop();

  constructor(options: TcpSourceOptions) {
    this.#options = options;
    this.#grace = durationOption("grace", options.grace, Infinity);
    this.#idleTimeout = durationOption("idleTimeout", options.idleTimeout, DEFAULT_IDLE_TIMEOUT);
    this.#takeoverWait = durationOption("takeoverWait", options.takeoverWait, 1000);
    this.#log = options.log ?? SILENT;
    this.#listener = Deno.listen({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port,
      transport: "tcp",
    });
    this.addr = this.#listener.addr;
    this.#log.info(`Listening for a source on tcp://${this.addr.hostname}:${this.addr.port}`);
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (options.signal?.aborted) this.#stop();
    this.#accepting = this.#accept();
    this.readable = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        this.#pulling = this.#pull(controller);
        return this.#pulling;
      },
      cancel: async () => {
        this.#cancelled = true;
        this.#stop();
        options.signal?.removeEventListener("abort", this.#onAbort);
        await this.#accepting;
        await this.#pulling?.catch(() => {});
      },
    }, { highWaterMark: 0 });
  }

  #notify(): void {
    this.#wake?.();
    this.#wake = undefined;
  }

  #stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    drop(this.#current);
    this.#current = undefined;
    if (this.#waiting !== undefined) {
      clearTimeout(this.#waiting.timer);
      this.#waiting.conn.close();
      this.#waiting = undefined;
    }
    this.#notify();
  }

  #refuse(conn: Deno.TcpConn, peer: string): void {
    // One source at a time: a second encoder would interleave its bytes with the first's.
    this.#log.warn(`Refused TCP source from ${peer}: ${this.#current?.peer} is still connected`);
    conn.close();
  }

  #take(conn: Deno.TcpConn, peer: string): void {
    this.#served++;
    this.#log.info(`TCP source connected from ${peer}`);
    this.#current = { conn, reader: conn.readable.getReader(), peer, started: false };
    this.#notify();
  }

  /** The current source has ended: the connection next in line, if any, takes over. */
  #next(): void {
    this.#current = undefined;
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    clearTimeout(waiting.timer);
    this.#waiting = undefined;
    this.#take(waiting.conn, waiting.peer);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (error) {
        if (!this.#stopped) this.#log.error(`TCP listener failed: ${reasonOf(error)}`);
        return;
      }
      const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
      if (this.#stopped) {
        conn.close();
        return;
      }
      if (this.#current === undefined) {
        this.#take(conn, peer);
      } else if (this.#waiting !== undefined || this.#takeoverWait === 0) {
        this.#refuse(conn, peer);
      } else {
        const timer = setTimeout(() => {
          if (this.#waiting?.conn !== conn) return;
          this.#waiting = undefined;
          this.#refuse(conn, peer);
        }, this.#takeoverWait);
        this.#waiting = { conn, peer, timer };
      }
    }
  }

  /** Resolves when a source is connected (true), or when stopped or out of grace (false). */
  async #waitForSource(): Promise<boolean> {
    const deadline = this.#served > 0 ? this.#grace : Infinity;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let expired = false;
    while (this.#current === undefined && !this.#stopped && !expired) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        if (deadline !== Infinity && timer === undefined) {
          timer = setTimeout(() => {
            expired = true;
            this.#notify();
          }, deadline);
        }
      });
    }
    clearTimeout(timer);
    if (this.#current !== undefined) return true;
    if (expired && !this.#stopped) {
      this.#log.warn(
        `No TCP source came back within ${formatDelay(this.#grace)}: ending the stream`,
      );
    }
    return false;
  }

  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      if (this.#current === undefined && !(await this.#waitForSource())) {
        this.#stop();
        await this.#accepting;
        this.#options.signal?.removeEventListener("abort", this.#onAbort);
        if (!this.#cancelled) controller.close();
        return;
      }
      const source = this.#current;
      if (source === undefined) continue;
      let ended = "ended";
      let failed = false;
      try {
        const result = await readWithin(source.reader, this.#idleTimeout);
        if (result === undefined) {
          ended = `no data for ${formatDelay(this.#idleTimeout)}`;
          failed = true;
        } else if (!result.done) {
          if (this.#cancelled) return;
          if (!source.started) {
            source.started = true;
            this.#options.onConnect?.(++this.#started);
          }
          controller.enqueue(result.value);
          return;
        }
      } catch (error) {
        ended = reasonOf(error);
        failed = true;
      }
      drop(source);
      if (this.#stopped) continue;
      if (failed) this.#log.warn(`TCP source from ${source.peer} dropped: ${ended}`);
      else this.#log.info(`TCP source from ${source.peer} ended`);
      this.#next();
    }
  }
}

/** Closes a source's connection (cancelling its reader closes the socket). */
function drop(source: Source | undefined): void {
  if (source === undefined) return;
  source.reader.cancel().catch(() => {});
  try {
    source.conn.close();
  } catch {
    // the reader's cancel already closed it
  }
}
