/**
 * A small HTTP/1.1 server on `Deno.listen`, for what `Deno.serve` cannot do: release the
 * socket of a viewer that stopped reading. Under `Deno.serve`, erroring a stalled response's
 * body leaves the connection ESTABLISHED and its fd held while the kernel's send buffer is full
 * (measured here: ≥ 13 s, with no end in sight); `conn.close()` on a raw connection releases it
 * even with a write blocked.
 *
 * Live streams are sent close-delimited (`Connection: close`, no framing, one write per chunk);
 * other responses get a `Content-Length` and keep the connection alive.
 *
 * @module
 */

import { STATUS_TEXT } from "@std/http/status";
import { type Logger, SILENT } from "../log.ts";
import { LAST_CHUNK } from "./chunked.ts";
import { readTcpSendQueues, type SendQueues } from "./tcp_queues.ts";

/** What the handler learns of a request's connection (the shape `Deno.serve` gives). */
export interface HttpConnInfo {
  remoteAddr: Deno.NetAddr;
  /** Settles when the response has been written, or the connection is gone. */
  completed: Promise<void>;
  /**
   * `true` (HTTP/1.1): stream bodies must come in the chunked wire form (`CHUNKED`), and are
   * written as they are; `false` (HTTP/1.0): plain bytes, the connection's end marks the end.
   */
  wire: boolean;
}

/** A request handler. */
export type HttpHandler = (
  request: Request,
  info: HttpConnInfo,
) => Response | Promise<Response>;

/** Options of `serveHttp`. */
export interface HttpServerOptions {
  hostname: string;
  port: number;
  log?: Logger;
  /**
   * Milliseconds a streaming response may go without the peer acknowledging any byte while
   * bytes wait for it; then its connection is closed. 0 disables. Default 0.
   */
  stallTimeout?: number;
  /** Called with the response of a stalled viewer it disconnects. */
  onEvict?: (response: Response) => void;
  /**
   * Tells which responses are endless streams (the connection ends with them; watched for
   * stalls): returns `true` to write the response's body, or a `StreamBody` to write from
   * directly (the response then needs no body). Default: none is.
   */
  streamBody?: (response: Response) => StreamBody | boolean;
  /** Largest request head in bytes (default 16 KiB): larger gets 431. */
  maxHeadSize?: number;
  /** Certificate and key (PEM) to serve HTTPS. */
  tls?: { cert: string; key: string };
  /** Reads the kernel's unacknowledged send queues (tests inject one). Default: /proc/net/tcp*. */
  readSendQueues?: (localPort: number) => SendQueues | undefined;
}

/**
 * A stream response's body, written chunk by chunk with no `ReadableStream` in between (see
 * `ClientStream.next()`).
 */
export interface StreamBody {
  /** The next chunk, now or later; `null` at the end. A rejection cuts the response off. */
  next(): Uint8Array | null | Promise<Uint8Array | null>;
  /** The peer left or a write failed: no more chunks will be asked for. */
  cancel(): void;
}

function readerBody(body: ReadableStream<Uint8Array>): StreamBody {
  const reader = body.getReader();
  return {
    next: () => reader.read().then((r) => r.done ? null : r.value),
    cancel: () => void reader.cancel().catch(() => {}),
  };
}

/** A running server. */
export interface HttpServer {
  readonly addr: Deno.NetAddr;
  /** Open connections. */
  readonly connections: number;
  /** Streaming responses being written. */
  readonly streams: number;
  /** Connections closed because their viewer stopped reading. */
  readonly evictions: number;
  /** Stops accepting, closes every connection, and resolves when all are closed. */
  shutdown(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A request that cannot be parsed: answered with `status`, then the connection closes. */
class BadRequest extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** What `dispatch` made of a request. */
interface Dispatched {
  method: string;
  response: Response;
  /** False when the client asked to close, or left part of a request body unread. */
  keepAlive: boolean;
  completed: PromiseWithResolvers<void>;
  minor: string;
}

/** Buffered reading from a connection: request heads, then body bytes. */
class ConnReader {
  #conn: Deno.Conn;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;

  #max: number;

  constructor(conn: Deno.Conn, max: number) {
    this.#conn = conn;
    this.#max = max;
    // Most request heads fit in 2 KiB: grow only for larger ones (memory per viewer counts).
    this.#buf = new Uint8Array(Math.min(2048, max));
  }

  /** Frees the buffer of a connection that will read no more requests (a viewer's). */
  release(): void {
    this.#buf = new Uint8Array(0);
    this.#start = this.#end = 0;
    this.#eof = true;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    if (this.#start > 0) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    if (this.#end === this.#buf.length) {
      if (this.#buf.length >= this.#max) return false;
      const bigger = new Uint8Array(Math.min(this.#max, this.#buf.length * 2));
      bigger.set(this.#buf.subarray(0, this.#end));
      this.#buf = bigger;
    }
    const n = await this.#conn.read(this.#buf.subarray(this.#end));
    if (n === null) {
      this.#eof = true;
      return false;
    }
    this.#end += n;
    return true;
  }

  /** The next request head (through CRLF CRLF), or null at a clean end of the connection. */
  async readHead(): Promise<string | null> {
    for (;;) {
      const buf = this.#buf;
      for (let i = this.#start; i + 3 < this.#end; i++) {
        if (
          buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 &&
          buf[i + 3] === 10
        ) {
          const head = decoder.decode(buf.subarray(this.#start, i));
          this.#start = i + 4;
          return head;
        }
      }
      const before = this.#end - this.#start;
      if (!(await this.#fill())) {
        if (this.#end - this.#start >= this.#max) {
          throw new BadRequest(431, "Request header fields too large");
        }
        if (before === 0 && this.#end === this.#start) return null;
        throw new BadRequest(400, "Connection closed inside a request head");
      }
    }
  }

  /** Up to `max` body bytes (a copy, so the buffer can be reused), or null at the end. */
  async read(max: number): Promise<Uint8Array | null> {
    if (this.#end === this.#start && !(await this.#fill())) return null;
    const n = Math.min(max, this.#end - this.#start);
    const out = this.#buf.slice(this.#start, this.#start + n);
    this.#start += n;
    return out;
  }

  /** One line (without CRLF), for chunked encoding. */
  async readLine(): Promise<string> {
    for (;;) {
      for (let i = this.#start; i + 1 < this.#end; i++) {
        if (this.#buf[i] === 13 && this.#buf[i + 1] === 10) {
          const line = decoder.decode(this.#buf.subarray(this.#start, i));
          this.#start = i + 2;
          return line;
        }
      }
      if (!(await this.#fill())) {
        throw new BadRequest(400, "Connection closed inside a chunk");
      }
    }
  }
}

/** A request body of known length, streamed from the connection. */
function lengthBody(
  reader: ConnReader,
  length: number,
  done: () => void,
): ReadableStream<Uint8Array> {
  let left = length;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (left === 0) {
        controller.close();
        done();
        return;
      }
      const chunk = await reader.read(Math.min(left, 65536));
      if (chunk === null) {
        controller.error(
          new BadRequest(400, "Connection closed inside the request body"),
        );
        return;
      }
      left -= chunk.length;
      controller.enqueue(chunk);
    },
  });
}

/** A chunked request body (RFC 9112 section 7.1), streamed from the connection. */
function chunkedBody(
  reader: ConnReader,
  done: () => void,
): ReadableStream<Uint8Array> {
  let left = 0;
  let finished = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (finished) return;
        if (left === 0) {
          const line = await reader.readLine();
          const size = parseInt(line.split(";")[0].trim(), 16);
          if (!Number.isSafeInteger(size) || size < 0) {
            throw new BadRequest(
              400,
              `Invalid chunk size: ${line.slice(0, 20)}`,
            );
          }
          if (size === 0) {
            while ((await reader.readLine()) !== "") { /* trailers */ }
            finished = true;
            controller.close();
            done();
            return;
          }
          left = size;
        }
        const chunk = await reader.read(Math.min(left, 65536));
        if (chunk === null) {
          throw new BadRequest(400, "Connection closed inside a chunk");
        }
        left -= chunk.length;
        if (left === 0 && (await reader.readLine()) !== "") {
          throw new BadRequest(400, "Missing CRLF after a chunk");
        }
        controller.enqueue(chunk);
      } catch (error) {
        controller.error(error);
      }
    },
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

function formatHead(
  status: number,
  headers: Headers,
  extra: string,
): Uint8Array {
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Status"}\r\n`;
  for (const [name, value] of headers) {
    if (
      name === "content-length" || name === "connection" ||
      name === "transfer-encoding"
    ) continue;
    head += `${name}: ${value}\r\n`;
  }
  return encoder.encode(
    `${head}date: ${new Date().toUTCString()}\r\n${extra}\r\n`,
  );
}

/** What the stall watchdog knows of one streaming response. */
interface StreamState {
  conn: Deno.Conn;
  key: string;
  written: number;
  acked: number;
  lastProgress: number;
  writing: boolean;
  label: string;
  response: Response;
}

/** The key of a connection in the kernel's table: remote address and port. */
function connKey(addr: Deno.NetAddr): string {
  const host = addr.hostname.startsWith("::ffff:") ? addr.hostname.slice(7) : addr.hostname;
  return `${host}:${addr.port}`;
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
export function serveHttp(
  handler: HttpHandler,
  options: HttpServerOptions,
): HttpServer {
  const log = options.log ?? SILENT;
  const maxHead = options.maxHeadSize ?? 16 * 1024;
  const stallTimeout = options.stallTimeout ?? 0;
  const streamBody = options.streamBody ?? (() => false);
  const readQueues = options.readSendQueues ?? readTcpSendQueues;
  const listener: Deno.Listener = options.tls
    ? Deno.listenTls({
      hostname: options.hostname,
      port: options.port,
      ...options.tls,
    })
    : Deno.listen({ hostname: options.hostname, port: options.port });
  const port = (listener.addr as Deno.NetAddr).port;
  const conns = new Set<Deno.Conn>();
  const streams = new Set<StreamState>();
  const idle = new Set<Deno.Conn>();
  let evictions = 0;
  let closing = false;
  let watchdog: ReturnType<typeof setInterval> | undefined;
  const allClosed = Promise.withResolvers<void>();

  function checkStalls(): void {
    if (streams.size === 0) return;
    const queues = readQueues(port);
    const now = performance.now();
    for (const s of streams) {
      const queued = queues?.get(s.key);
      // Bytes the peer acknowledged: what was written minus what still waits in the kernel.
      const acked = queued === undefined ? s.written : s.written - queued;
      const waiting = s.writing || (queued ?? 0) > 0;
      if (acked > s.acked || !waiting) {
        s.acked = Math.max(s.acked, acked);
        s.lastProgress = now;
      } else if (now - s.lastProgress >= stallTimeout) {
        evictions++;
        options.onEvict?.(s.response);
        log.warn(
          `${s.label} accepted no bytes for ${
            Math.round((now - s.lastProgress) / 1000)
          } s: disconnecting it`,
        );
        streams.delete(s);
        try {
          s.conn.close(); // releases the fd even with a write blocked
        } catch { /* already closed */ }
      }
    }
  }

  if (stallTimeout > 0) {
    // Reading /proc/net/tcp walks the kernel's whole connection table (about 15 ms at 5,000
    // viewers): check a sixth of the timeout apart, between 0.25 and 5 s.
    watchdog = setInterval(checkStalls, Math.min(5000, Math.max(250, stallTimeout / 6)));
    Deno.unrefTimer(watchdog);
  }

  async function respond(
    conn: Deno.Conn,
    reader: ConnReader,
    method: string,
    response: Response,
    keepAlive: boolean,
    completed: PromiseWithResolvers<void>,
    chunked: boolean,
  ): Promise<boolean> {
    const head = method === "HEAD";
    const source = head ? false : streamBody(response);
    if (source !== false) {
      reader.release(); // a viewer sends no more requests
      // An endless stream, watched for stalls; the connection ends with it. Its body comes
      // framed as chunks already (shared by every viewer), or plain for HTTP/1.0, whose end is
      // the connection's end. An error leaves the chunked body unterminated, so the peer can
      // tell a cut-off from the stream's end.
      const state: StreamState = {
        conn,
        key: connKey(conn.remoteAddr as Deno.NetAddr),
        written: 0,
        acked: 0,
        lastProgress: performance.now(),
        writing: false,
        label: `Viewer ${connKey(conn.remoteAddr as Deno.NetAddr)}`,
        response,
      };
      const body = source === true ? readerBody(response.body!) : source;
      streams.add(state);
      // A viewer sends nothing after its request: a read that ends means it left. Noticing it
      // here releases its place at once, not at the next write (up to a Cluster later).
      (async () => {
        const scratch = new Uint8Array(512);
        try {
          while (
            (await conn.read(scratch)) !== null
          ) { /* ignore pipelined bytes */ }
        } catch { /* reset or closed */ }
        body.cancel();
      })();
      try {
        await writeAll(
          conn,
          formatHead(
            response.status,
            response.headers,
            `${chunked ? "transfer-encoding: chunked\r\n" : ""}connection: close\r\n`,
          ),
        );
        for (;;) {
          let value = body.next();
          if (value instanceof Promise) value = await value;
          if (value === null) {
            if (chunked) await writeAll(conn, LAST_CHUNK);
            break;
          }
          state.writing = true;
          await writeAll(conn, value);
          state.writing = false;
          state.written += value.length;
        }
      } catch (error) {
        log.debug(
          `Stream to ${state.key} ended: ${(error as Error)?.message ?? error}`,
        );
        body.cancel();
      } finally {
        streams.delete(state);
        completed.resolve();
      }
      return false;
    }
    let bytes: Uint8Array | null = null;
    let length = response.headers.get("content-length");
    if (!head && response.body !== null) {
      bytes = new Uint8Array(await response.arrayBuffer());
      length = String(bytes.length);
    } else {
      await response.body?.cancel();
      if (!head) length = "0";
    }
    let extra = length === null ? "" : `content-length: ${length}\r\n`;
    extra += keepAlive ? "" : "connection: close\r\n";
    await writeAll(conn, formatHead(response.status, response.headers, extra));
    if (bytes !== null && bytes.length > 0) await writeAll(conn, bytes);
    completed.resolve();
    return keepAlive;
  }

  /**
   * Parses a request head and runs the handler. Apart from `serveConn`'s loop, so the request,
   * its headers and URL are garbage once the handler has answered (a viewer's response lasts).
   */
  async function dispatch(
    head: string,
    reader: ConnReader,
    remoteAddr: Deno.NetAddr,
  ): Promise<Dispatched> {
    const scheme = options.tls ? "https" : "http";
    const [requestLine, ...lines] = head.split("\r\n");
    const match = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(requestLine);
    if (!match) throw new BadRequest(400, "Malformed request line");
    const [, method, target, minor] = match;
    const headers = new Headers();
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) throw new BadRequest(400, "Malformed header line");
      headers.append(
        line.slice(0, colon).trim(),
        line.slice(colon + 1).trim(),
      );
    }
    const connection = headers.get("connection")?.toLowerCase() ?? "";
    const keepAlive = minor === "1"
      ? !connection.includes("close")
      : connection.includes("keep-alive");
    const host = headers.get("host") ??
      `${options.hostname}:${options.port}`;
    let url: URL;
    try {
      url = new URL(
        target.startsWith("/") ? `${scheme}://${host}${target}` : target,
      );
    } catch {
      throw new BadRequest(400, "Malformed request target");
    }
    const chunked = headers.get("transfer-encoding")?.toLowerCase().includes("chunked") ??
      false;
    const lengthHeader = headers.get("content-length");
    const length = lengthHeader === null ? 0 : Number(lengthHeader);
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new BadRequest(400, "Invalid Content-Length");
    }
    let bodyDone = !chunked && length === 0;
    let body: ReadableStream<Uint8Array> | null = null;
    if (chunked || length > 0) {
      if (method === "GET" || method === "HEAD") {
        throw new BadRequest(
          400,
          `A ${method} request must not have a body`,
        );
      }
      const done = () => bodyDone = true;
      body = chunked ? chunkedBody(reader, done) : lengthBody(reader, length, done);
    }
    const completed = Promise.withResolvers<void>();
    completed.promise.catch(() => {});
    const request = new Request(url, { method, headers, body });
    let response: Response;
    try {
      response = await handler(request, {
        remoteAddr,
        completed: completed.promise,
        wire: minor === "1",
      });
    } catch (error) {
      log.error(
        `Handler failed for ${method} ${url.pathname}: ${(error as Error)?.message ?? error}`,
      );
      response = new Response("Internal server error\n", { status: 500 });
    }
    return { method, response, keepAlive: keepAlive && bodyDone, completed, minor };
  }

  async function serveConn(conn: Deno.Conn): Promise<void> {
    const reader = new ConnReader(conn, maxHead);
    const remoteAddr = conn.remoteAddr as Deno.NetAddr;
    try {
      if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true);
      for (;;) {
        idle.add(conn);
        const head = await reader.readHead();
        idle.delete(conn);
        if (head === null || closing) break;
        const { method, response, keepAlive, completed, minor } = await dispatch(
          head,
          reader,
          remoteAddr,
        );
        const again = await respond(
          conn,
          reader,
          method,
          response,
          keepAlive && !closing,
          completed,
          minor === "1",
        );
        if (!again) break;
      }
    } catch (error) {
      if (error instanceof BadRequest) {
        await writeAll(
          conn,
          formatHead(
            error.status,
            new Headers({ "content-type": "text/plain" }),
            `content-length: ${error.message.length + 1}\r\nconnection: close\r\n`,
          ),
        ).then(() => writeAll(conn, encoder.encode(error.message + "\n")))
          .catch(() => {});
        log.debug(`Bad request from ${connKey(remoteAddr)}: ${error.message}`);
      } else if (
        !(error instanceof Deno.errors.BadResource) &&
        !(error instanceof Deno.errors.ConnectionReset)
      ) {
        log.debug(
          `Connection from ${connKey(remoteAddr)} failed: ${(error as Error)?.message ?? error}`,
        );
      }
    } finally {
      idle.delete(conn);
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* closed already (evicted, or shut down) */ }
      if (closing && conns.size === 0) allClosed.resolve();
    }
  }

  (async () => {
    try {
      for await (const conn of listener) {
        if (closing) {
          conn.close();
          continue;
        }
        conns.add(conn);
        serveConn(conn);
      }
    } catch (error) {
      if (!closing) {
        log.error(
          `Accepting connections failed: ${(error as Error)?.message ?? error}`,
        );
      }
    }
  })();

  return {
    addr: listener.addr as Deno.NetAddr,
    get connections() {
      return conns.size;
    },
    get streams() {
      return streams.size;
    },
    get evictions() {
      return evictions;
    },
    async shutdown() {
      if (!closing) {
        closing = true;
        if (watchdog !== undefined) clearInterval(watchdog);
        try {
          listener.close();
        } catch { /* closed */ }
        for (const conn of conns) {
          try {
            conn.close();
          } catch { /* closed */ }
        }
        if (conns.size === 0) allClosed.resolve();
      }
      await allClosed.promise;
    },
  };
}
