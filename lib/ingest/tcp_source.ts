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
  const hostname = options.hostname ?? "0.0.0.0";
  const grace = durationOption("grace", options.grace, Infinity);
  const idleTimeout = durationOption(
    "idleTimeout",
    options.idleTimeout,
    DEFAULT_IDLE_TIMEOUT,
  );
  const takeoverWait = durationOption(
    "takeoverWait",
    options.takeoverWait,
    1000,
  );
  const log = options.log ?? SILENT;
  const listener = Deno.listen({
    hostname,
    port: options.port,
    transport: "tcp",
  });
  const addr = listener.addr;
  const where = `${addr.hostname}:${addr.port}`;
  log.info(`Listening for a source on tcp://${where}`);

  let current: Source | undefined;
  /** The connection next in line, waiting up to `takeoverWait` for `current` to end. */
  let waiting:
    | { conn: Deno.TcpConn; peer: string; timer: ReturnType<typeof setTimeout> }
    | undefined;
  let stopped = false;
  let served = 0; // sources that have connected so far
  let started = 0; // sources that have sent bytes so far
  let wake: (() => void) | undefined; // a pull waiting for a source
  let pulling: Promise<void> | undefined;
  let cancelled = false;

  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const stop = () => {
    if (stopped) return;
    stopped = true;
    try {
      listener.close();
    } catch {
      // already closed
    }
    drop(current);
    current = undefined;
    if (waiting !== undefined) {
      clearTimeout(waiting.timer);
      waiting.conn.close();
      waiting = undefined;
    }
    notify();
  };

  const refuse = (conn: Deno.TcpConn, peer: string) => {
    // One source at a time: a second encoder would interleave its bytes with the first's.
    log.warn(
      `Refused TCP source from ${peer}: ${current?.peer} is still connected`,
    );
    conn.close();
  };

  const take = (conn: Deno.TcpConn, peer: string) => {
    served++;
    log.info(`TCP source connected from ${peer}`);
    current = {
      conn,
      reader: conn.readable.getReader(),
      peer,
      started: false,
    };
    notify();
  };

  /** The current source has ended: the connection next in line, if any, takes over. */
  const next = () => {
    current = undefined;
    if (waiting === undefined) return;
    clearTimeout(waiting.timer);
    const { conn, peer } = waiting;
    waiting = undefined;
    take(conn, peer);
  };
  const onAbort = () => stop();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) stop();

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (!stopped) log.error(`TCP listener failed: ${reasonOf(error)}`);
        return;
      }
      const peer = `${conn.remoteAddr.hostname}:${conn.remoteAddr.port}`;
      if (stopped) {
        conn.close();
        return;
      }
      if (current === undefined) {
        take(conn, peer);
      } else if (waiting !== undefined || takeoverWait === 0) {
        refuse(conn, peer);
      } else {
        const timer = setTimeout(() => {
          if (waiting?.conn !== conn) return;
          waiting = undefined;
          refuse(conn, peer);
        }, takeoverWait);
        waiting = { conn, peer, timer };
      }
    }
  })();

  /** Resolves when a source is connected (true), or when stopped or out of grace (false). */
  async function waitForSource(): Promise<boolean> {
    const deadline = served > 0 ? grace : Infinity;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let expired = false;
    while (current === undefined && !stopped && !expired) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (deadline !== Infinity && timer === undefined) {
          timer = setTimeout(() => {
            expired = true;
            notify();
          }, deadline);
        }
      });
    }
    clearTimeout(timer);
    if (current !== undefined) return true;
    if (expired && !stopped) {
      log.warn(
        `No TCP source came back within ${formatDelay(grace)}: ending the stream`,
      );
    }
    return false;
  }

  async function pull(
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> {
    for (;;) {
      if (current === undefined && !(await waitForSource())) {
        stop();
        await accepting;
        options.signal?.removeEventListener("abort", onAbort);
        if (!cancelled) controller.close();
        return;
      }
      const source: Source = current!;
      let ended = "ended";
      let failed = false;
      try {
        const result = await readWithin(source.reader, idleTimeout);
        if (result === undefined) {
          ended = `no data for ${formatDelay(idleTimeout)}`;
          failed = true;
        } else if (!result.done) {
          if (cancelled) return;
          if (!source.started) {
            source.started = true;
            options.onConnect?.(++started);
          }
          controller.enqueue(result.value);
          return;
        }
      } catch (error) {
        ended = reasonOf(error);
        failed = true;
      }
      drop(source);
      if (stopped) continue;
      if (failed) log.warn(`TCP source from ${source.peer} dropped: ${ended}`);
      else log.info(`TCP source from ${source.peer} ended`);
      next();
    }
  }

  const readable = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulling = pull(controller);
      return pulling;
    },
    async cancel() {
      cancelled = true;
      stop();
      options.signal?.removeEventListener("abort", onAbort);
      await accepting;
      await pulling?.catch(() => {});
    },
  }, { highWaterMark: 0 });
  return { addr, readable };
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
