/**
 * A small HTTP/1.1 server on `Deno.listen`, for what `Deno.serve` cannot do: release the
 * socket of a viewer that stopped reading. Under `Deno.serve`, erroring a stalled response's
 * body leaves the connection ESTABLISHED and its fd held while the kernel's send buffer is full
 * (measured here: ≥ 13 s, with no end in sight); `conn.close()` on a raw connection releases it
 * even with a write blocked.
 *
 * Live streams are sent with one write per chunk and end their connection: HTTP/1.1 viewers get
 * them as `transfer-encoding: chunked` (framed once, in the shared buffer), HTTP/1.0 viewers
 * plain, delimited by the connection's end. Other responses get a `Content-Length` and keep the
 * connection alive.
 *
 * @module
 */

import { assert } from "../../_assert.ts";
import { type Logger, SILENT } from "../../log.ts";
import { acceptLoop } from "./accept_loop.ts";
import { ConnReader, discardUntilEnd, type HeadTimeouts, requestBody } from "./conn_reader.ts";
import { HttpError } from "./http_error.ts";
import {
  DEFAULT_HEADER_TIMEOUT,
  DEFAULT_KEEP_ALIVE_TIMEOUT,
  type HttpHandler,
  type HttpServerOptions,
} from "./http_server_options.ts";
import { linger } from "./linger.ts";
import { PerIpLimit } from "./per_ip_limit.ts";
import { type RequestHead, requestUrl } from "./request_head.ts";
import {
  readerBody,
  type StreamBody,
  writeFixed,
  writeRefusal,
  writeStream,
} from "./response_writer.ts";
import { connKey, StallWatchdog, type Watched } from "./stall_watchdog.ts";

export {
  DEFAULT_HEADER_TIMEOUT,
  DEFAULT_KEEP_ALIVE_TIMEOUT,
  type HttpHandler,
  type HttpServerOptions,
} from "./http_server_options.ts";

/** One request and what the handler answered: all the writer needs of it. */
interface Exchange {
  method: string;
  http11: boolean;
  /** False when the client asked to close, or left part of a request body unread. */
  keepAlive: boolean;
  response: Response;
  completed: PromiseWithResolvers<void>;
}

/**
 * A running server: accepts connections and serves each one's requests in turn, until a stream
 * response takes the connection over. Start one with `serveHttp`.
 */
export class HttpServer {
  #listener: Deno.Listener;
  #handler: HttpHandler;
  #options: HttpServerOptions;
  #log: Logger;
  #streamBody: (response: Response) => StreamBody | boolean;
  #watchdog: StallWatchdog;
  #conns = new Set<Deno.Conn>();
  #closing = false;
  #allClosed = Promise.withResolvers<void>();
  /** Stands in for an HTTP/1.0 request's missing Host. */
  #fallbackHost: string;
  #perIp: PerIpLimit;
  /** The head timeouts of a connection's first request, and of the ones after it. */
  #firstHead: HeadTimeouts;
  #nextHead: HeadTimeouts;

  /** Listens (throws what `Deno.listen` throws) and starts accepting. */
  constructor(handler: HttpHandler, options: HttpServerOptions) {
    this.#handler = handler;
    this.#options = options;
    this.#log = options.log ?? SILENT;
    this.#streamBody = options.streamBody ?? (() => false);
    const { hostname, port } = options;
    this.#listener = options.tls
      ? Deno.listenTls({ hostname, port, ...options.tls })
      : Deno.listen({ hostname, port });
    this.#fallbackHost = `${hostname}:${this.addr.port}`;
    this.#watchdog = new StallWatchdog({
      timeout: options.stallTimeout ?? 0,
      port: this.addr.port,
      log: this.#log,
      onEvict: options.onEvict,
      readSendQueues: options.readSendQueues,
    });
    const head = options.headerTimeout ?? DEFAULT_HEADER_TIMEOUT;
    this.#firstHead = { head };
    this.#nextHead = { head, idle: options.keepAliveTimeout ?? DEFAULT_KEEP_ALIVE_TIMEOUT };
    const max = options.maxConnectionsPerIp ?? 0;
    this.#perIp = new PerIpLimit({
      max,
      onOver: (address) =>
        this.#log.info(`More than ${max} connections from ${address}: answering 429`),
    });
    acceptLoop(this.#listener, (conn) => this.#serveConn(conn), {
      log: this.#log,
      closing: () => this.#closing,
    });
  }

  /** The address it listens on (with the real port when 0 was asked). */
  get addr(): Deno.NetAddr {
    return this.#listener.addr as Deno.NetAddr;
  }

  /** Open connections. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Streaming responses being written. */
  get streams(): number {
    return this.#watchdog.size;
  }

  /** Connections closed because their viewer stopped reading. */
  get evictions(): number {
    return this.#watchdog.evictions;
  }

  /** Stops accepting, closes every connection, and resolves when all are closed. */
  async shutdown(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#watchdog.stop();
      try {
        this.#listener.close();
      } catch { /* closed */ }
      for (const conn of this.#conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
      if (this.#conns.size === 0) this.#allClosed.resolve();
    }
    await this.#allClosed.promise;
  }

  async #serveConn(conn: Deno.Conn): Promise<void> {
    if (this.#closing) return conn.close();
    this.#conns.add(conn);
    const reader = new ConnReader(conn, this.#options.maxHeadSize ?? 16 * 1024);
    const remoteAddr = conn.remoteAddr as Deno.NetAddr;
    const address = remoteAddr.hostname.replace(/^::ffff:/, "");
    const admitted = this.#perIp.open(address);
    try {
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      let timeouts = this.#firstHead;
      for (;;) {
        const exchange = await this.#next(reader, remoteAddr, timeouts, admitted);
        if (exchange === null || !(await this.#respond(conn, reader, exchange))) break;
        timeouts = this.#nextHead;
      }
    } catch (error) {
      await this.#refuse(conn, remoteAddr, error);
    } finally {
      this.#perIp.close(address);
      this.#conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed already (evicted, or shut down) */ }
      if (this.#closing && this.#conns.size === 0) this.#allClosed.resolve();
    }
  }

  /**
   * Reads the next request and runs the handler, or null at the connection's end. Apart from
   * `#serveConn`'s loop, so the request, its head and URL are garbage once the handler has
   * answered (a viewer's response lasts).
   */
  async #next(
    reader: ConnReader,
    remoteAddr: Deno.NetAddr,
    timeouts: HeadTimeouts,
    admitted: boolean,
  ): Promise<Exchange | null> {
    const head = await reader.readHead(timeouts);
    if (head === null || this.#closing) return null;
    if (!admitted) {
      throw new HttpError(429, "Too many connections from your address", { "retry-after": "1" });
    }
    let bodyDone = false;
    const request = this.#request(head, requestBody(head, reader, () => bodyDone = true));
    const completed = Promise.withResolvers<void>();
    let response: Response;
    try {
      response = await this.#handler(request, {
        remoteAddr,
        completed: completed.promise,
        wire: head.http11,
      });
    } catch (error) {
      this.#log.error(
        `Handler failed for ${head.method} ${new URL(request.url).pathname}: ${
          (error as Error)?.message ?? error
        }`,
      );
      response = new Response("Internal server error\n", { status: 500 });
    }
    const { method, http11, keepAlive } = head;
    return { method, http11, keepAlive: keepAlive && bodyDone, response, completed };
  }

  #request(head: RequestHead, body: ReadableStream<Uint8Array> | null): Request {
    const url = requestUrl(head, this.#options.tls ? "https" : "http", this.#fallbackHost);
    try {
      return new Request(url, { method: head.method, headers: head.headers, body });
    } catch {
      // `Request` refuses the methods fetch forbids (CONNECT, TRACE, TRACK).
      throw new HttpError(501, `Method not supported: ${head.method}`);
    }
  }

  /**
   * Writes the response; resolves whether the connection may carry another request. Not an
   * `async` function, nor is `#stream`: a viewer's response lasts, and every suspended `async`
   * frame costs its viewer a generator and a promise (measured with bench/heap.ts).
   */
  #respond(conn: Deno.Conn, reader: ConnReader, exchange: Exchange): Promise<boolean> {
    const head = exchange.method === "HEAD";
    const source = head ? false : this.#streamBody(exchange.response);
    if (source !== false) return this.#stream(conn, reader, exchange, source).then(() => false);
    const keepAlive = exchange.keepAlive && !this.#closing;
    // A large body (a segment) is watched like a stream: a peer that stops reading it is let go.
    let watched: Watched | undefined;
    const watch = () => watched = this.#watchdog.watch(conn, exchange.response);
    return writeFixed(conn, exchange.response, { keepAlive, head, watch }).finally(() => {
      if (watched !== undefined) this.#watchdog.unwatch(watched);
    }).then(() => {
      exchange.completed.resolve();
      return keepAlive;
    });
  }

  /** Writes an endless stream, watched for stalls; the connection ends with it. */
  #stream(
    conn: Deno.Conn,
    reader: ConnReader,
    exchange: Exchange,
    source: StreamBody | true,
  ): Promise<void> {
    reader.release(); // a viewer sends no more requests
    const { response } = exchange;
    let body = source;
    if (body === true) {
      assert(response.body !== null, "a stream response written from its body has one");
      body = readerBody(response.body);
    }
    const stream = body;
    const watched = this.#watchdog.watch(conn, response);
    // A viewer sends nothing after its request: a read that ends means it left. Noticing it
    // here releases its place at once, not at the next write (up to a Cluster later).
    discardUntilEnd(conn).then(() => stream.cancel());
    return writeStream(conn, response, stream, { chunked: exchange.http11, progress: watched })
      .catch((error) => {
        this.#log.debug(`Stream to ${watched.key} ended: ${(error as Error)?.message ?? error}`);
        stream.cancel();
      })
      .finally(() => {
        this.#watchdog.unwatch(watched);
        exchange.completed.resolve();
      });
  }

  async #refuse(conn: Deno.Conn, remoteAddr: Deno.NetAddr, error: unknown): Promise<void> {
    if (error instanceof HttpError) {
      // A peer that reads nothing must not hold the connection: give the answer a second, and
      // the peer a second to stop sending (not after a 408: a read of the head is pending).
      await writeRefusal(conn, error, 1000);
      if (error.status !== 408) await linger(conn, 1000);
      this.#log.debug(
        `Refused a request from ${connKey(remoteAddr)}: ${error.status} ${error.message}`,
      );
    } else if (
      !(error instanceof Deno.errors.BadResource) &&
      !(error instanceof Deno.errors.ConnectionReset)
    ) {
      this.#log.debug(
        `Connection from ${connKey(remoteAddr)} failed: ${(error as Error)?.message ?? error}`,
      );
    }
  }
}

/**
 * Serves `handler` over HTTP/1.1 on a `Deno.listen` socket (or `Deno.listenTls` with `tls`).
 * Throws what `Deno.listen` throws when it cannot listen (`Deno.errors.AddrInUse`, …).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { serveHttp } from "./http_server.ts";
 * const server = serveHttp(() => new Response("hi"), { hostname: "127.0.0.1", port: 0 });
 * const response = await fetch(`http://127.0.0.1:${server.addr.port}/`);
 * assertEquals(await response.text(), "hi");
 * await server.shutdown();
 * ```
 */
export function serveHttp(handler: HttpHandler, options: HttpServerOptions): HttpServer {
  return new HttpServer(handler, options);
}
