/**
 * Buffered reading from one connection: request heads (parsed by `parseRequestHead`), then
 * request bodies, delimited by length or as chunks.
 *
 * @module
 */

import { HttpError } from "./http_error.ts";
import { parseChunkSize, parseRequestHead, type RequestHead } from "./request_head.ts";

const decoder = new TextDecoder();

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
   * The next request head, or null at a clean end of the connection (between requests). Throws
   * `HttpError` for a malformed head, or one cut off by the connection's end.
   */
  async readHead(): Promise<RequestHead | null> {
    for (;;) {
      const head = parseRequestHead(this.#buf.subarray(this.#start, this.#end), {
        maxSize: this.#max,
      });
      if (head !== undefined) {
        this.#start += head.size;
        return head;
      }
      const before = this.#end - this.#start;
      if (!(await this.#fill())) {
        if (before === 0 && this.#end === this.#start) return null;
        throw new HttpError(400, "Connection closed inside a request head");
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
        throw new HttpError(400, "Connection closed inside a chunk");
      }
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
