/**
 * Buffered reading from one connection: request heads (parsed by `parseRequestHead`), then
 * request bodies, delimited by length or as chunks.
 *
 * @module
 */

import { HttpError } from "./http_error.ts";
import { parseChunkSize, parseRequestHead, type RequestHead } from "./request_head.ts";

const decoder = new TextDecoder();

/** Longest chunk-size line, extensions included (RFC 9112 section 7.1.1 sets no limit). */
const MAX_CHUNK_LINE = 4096;

/** Timeouts of `ConnReader.readHead`, in milliseconds (0 or absent: none). */
export interface HeadTimeouts {
  /** The whole head must arrive within this, from the call or (with `idle`) its first byte. */
  head?: number;
  /**
   * Given (a kept-alive peer): while no byte of the next request has come, how long to wait for
   * one (0: as long as it takes); `head` then counts from that first byte.
   */
  idle?: number;
}

const EXPIRED = Symbol("expired");

/** One timer that a read can be raced against, re-armed as the head's phase changes. */
class Deadline {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #expired: Promise<typeof EXPIRED> | undefined;

  arm(ms: number): void {
    this.clear();
    if (ms <= 0) return;
    this.#expired = new Promise((resolve) => {
      this.#timer = setTimeout(() => resolve(EXPIRED), ms);
    });
  }

  /** `promise`, or `EXPIRED` if the timer fires first (the promise's rejection is then ignored). */
  race<T>(promise: Promise<T>): Promise<T | typeof EXPIRED> {
    if (this.#expired === undefined) return promise;
    promise.catch(() => {});
    return Promise.race([promise, this.#expired]);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#expired = undefined;
  }
}

/** What the reader reads from: a `Deno.Conn`, or a test's scripted bytes. */
export interface ByteSource {
  read(into: Uint8Array): Promise<number | null>;
}

/** Buffered reading from a connection: request heads, then body bytes. */
export class ConnReader {
  #conn: ByteSource;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  #max: number;
  /** Bytes after `#start` already searched for a head's end. */
  #scanned = 0;

  /** Reads from `conn`, buffering at most `max` bytes (the largest request head). */
  constructor(conn: ByteSource, max: number) {
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

  /**
   * The next request head, or null at a clean end of the connection (between requests), or when
   * a timeout of `timeouts` passed before any byte of a head came. Throws `HttpError` for a
   * malformed head, one cut off by the connection's end, or (408) one not whole in time. After a
   * timeout a read is still pending: close the connection.
   */
  async readHead(timeouts: HeadTimeouts = {}): Promise<RequestHead | null> {
    const deadline = new Deadline();
    const { head: headMs = 0, idle } = timeouts;
    let idling = idle !== undefined && this.#end === this.#start;
    deadline.arm(idling ? idle as number : headMs);
    try {
      for (;;) {
        const head = parseRequestHead(this.#buf.subarray(this.#start, this.#end), {
          maxSize: this.#max,
          scanned: this.#scanned,
        });
        if (head !== undefined) {
          this.#start += head.size;
          this.#scanned = 0;
          return head;
        }
        const before = this.#end - this.#start;
        this.#scanned = before;
        const filled = await deadline.race(this.#fill());
        if (filled === EXPIRED) {
          if (this.#end === this.#start) return null;
          throw new HttpError(408, `Request head not received within ${headMs / 1000} s`);
        }
        if (!filled) {
          if (before === 0 && this.#end === this.#start) return null;
          throw new HttpError(400, "Connection closed inside a request head");
        }
        if (idling) {
          // The first byte of the next request: from now on the head has `head` ms.
          idling = false;
          deadline.arm(headMs);
        }
      }
    } finally {
      deadline.clear();
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

  /**
   * One line (without its CRLF) of chunked framing, at most `max` bytes long. Throws `HttpError`
   * 400 for a longer line, a bare LF (as in a head: RFC 9112 section 2.2), or the connection's end.
   */
  async readLine(max = MAX_CHUNK_LINE): Promise<string> {
    let from = this.#start;
    for (;;) {
      for (let i = from; i < this.#end; i++) {
        if (this.#buf[i] !== 10) continue;
        if (i === this.#start || this.#buf[i - 1] !== 13) {
          throw new HttpError(400, "Bare LF in chunked framing");
        }
        const line = decoder.decode(this.#buf.subarray(this.#start, i - 1));
        this.#start = i + 1;
        return line;
      }
      // The buffer holds at most `#max` bytes: a longer line could never end.
      if (this.#end - this.#start >= Math.min(max, this.#max)) {
        throw new HttpError(400, "Chunk line too long");
      }
      from = this.#end;
      const start = this.#start;
      if (!(await this.#fill())) {
        throw new HttpError(400, "Connection closed inside a chunk");
      }
      from -= start - this.#start; // `#fill` moved the bytes to the buffer's start
    }
  }

  /** Reads and drops a chunked body's trailer section, at most the largest head's size. */
  async skipTrailers(): Promise<void> {
    let size = 0;
    for (;;) {
      const line = await this.readLine();
      if (line === "") return;
      size += line.length + 2;
      if (size > this.#max) throw new HttpError(400, "Trailer section too large");
    }
  }
}

/** A request body of known length, streamed from the connection. */
export function lengthBody(
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
        controller.error(new HttpError(400, "Connection closed inside the request body"));
        return;
      }
      left -= chunk.length;
      controller.enqueue(chunk);
    },
  });
}

/** A chunked request body (RFC 9112 section 7.1), streamed from the connection. */
export function chunkedBody(
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
          const size = parseChunkSize(await reader.readLine());
          if (size === 0) {
            await reader.skipTrailers();
            finished = true;
            controller.close();
            done();
            return;
          }
          left = size;
        }
        const chunk = await reader.read(Math.min(left, 65536));
        if (chunk === null) {
          throw new HttpError(400, "Connection closed inside a chunk");
        }
        left -= chunk.length;
        if (left === 0 && (await reader.readLine()) !== "") {
          throw new HttpError(400, "Missing CRLF after a chunk");
        }
        controller.enqueue(chunk);
      } catch (error) {
        controller.error(error);
      }
    },
  });
}

/** The body a head announces, read from `reader`; `done` is called once it has been read whole. */
export function requestBody(
  head: RequestHead,
  reader: ConnReader,
  done: () => void,
): ReadableStream<Uint8Array> | null {
  switch (head.body.kind) {
    case "none":
      done();
      return null;
    case "length":
      return lengthBody(reader, head.body.length, done);
    case "chunked":
      return chunkedBody(reader, done);
  }
}

/**
 * Reads and drops whatever `conn` sends until it ends (closed or reset): how the server notices
 * that a viewer, which sends nothing after its request, has left.
 */
export async function discardUntilEnd(conn: ByteSource): Promise<void> {
  const scratch = new Uint8Array(512);
  try {
    while ((await conn.read(scratch)) !== null) { /* ignore pipelined bytes */ }
  } catch { /* reset or closed */ }
}
