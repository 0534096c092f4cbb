/**
 * Writing responses to a connection: a fixed body with a `Content-Length` (the connection may
 * carry another request), an endless stream (the connection ends with it), or a refusal.
 *
 * @module
 */

import { STATUS_TEXT } from "@std/http/status";
import { LAST_CHUNK } from "../chunked.ts";
import type { HttpError } from "./http_error.ts";

const encoder = new TextEncoder();

/** What responses are written to: a `Deno.Conn`, or a test's recorder. */
export interface ByteSink {
  write(bytes: Uint8Array): Promise<number>;
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

/** A `ReadableStream` read as a `StreamBody`. */
export function readerBody(body: ReadableStream<Uint8Array>): StreamBody {
  const reader = body.getReader();
  return {
    next: () => reader.read().then((r) => r.done ? null : r.value),
    cancel: () => void reader.cancel().catch(() => {}),
  };
}

/** Writes all of `bytes` (a `conn.write` may take part of them). */
export async function writeAll(conn: ByteSink, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await conn.write(bytes.subarray(at));
}

let dateSecond = -1;
let dateText = "";

/** The `date` field's value (RFC 9110 section 6.6.1), formatted once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

/**
 * A response head: the status line, the response's headers but for the framing ones (which
 * the writer decides: `extra`), and a `date`.
 */
export function formatHead(status: number, headers: Headers, extra: string): Uint8Array {
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Status"}\r\n`;
  for (const [name, value] of headers) {
    if (
      name === "content-length" || name === "connection" ||
      name === "transfer-encoding"
    ) continue;
    head += `${name}: ${value}\r\n`;
  }
  return encoder.encode(`${head}date: ${httpDate()}\r\n${extra}\r\n`);
}

/** Largest body `writeFixed` copies after its head to send both in one write. */
const ONE_WRITE = 64 * 1024;

/** Options of `writeFixed`. */
export interface FixedOptions {
  /** The connection stays open for another request (else `connection: close`). */
  keepAlive: boolean;
  /** Answering HEAD: the head only, with the length the response declares. */
  head: boolean;
  /**
   * Called before a body too large for one write is sent: the progress it returns is kept up to
   * date, write by write, so a stall watchdog can tell a slow peer from one that stopped reading.
   */
  watch?: () => StreamProgress;
}

/**
 * Writes a response with its whole body and a `Content-Length`. A body whose response declares
 * its `Content-Length` (a file) is written as it is read, not gathered first; one that ends
 * short of it rejects, so the connection is closed rather than reused out of step.
 */
export async function writeFixed(
  conn: ByteSink,
  response: Response,
  options: FixedOptions,
): Promise<void> {
  let bytes: Uint8Array | null = null;
  let length = response.headers.get("content-length");
  if (!options.head && response.body !== null && length !== null && /^\d+$/.test(length)) {
    return await writeDeclared(conn, response, Number(length), options.keepAlive);
  }
  if (!options.head && response.body !== null) {
    bytes = new Uint8Array(await response.arrayBuffer());
    length = String(bytes.length);
  } else {
    await response.body?.cancel();
    if (!options.head) length = "0";
  }
  let extra = length === null ? "" : `content-length: ${length}\r\n`;
  extra += options.keepAlive ? "" : "connection: close\r\n";
  const head = formatHead(response.status, response.headers, extra);
  if (bytes === null || bytes.length === 0) return await writeAll(conn, head);
  // A short answer goes out in one write: on loopback the send itself is most of a request's
  // cost (measured with bench/http_rps.ts), and two would also be two TCP segments.
  if (bytes.length <= ONE_WRITE) {
    const both = new Uint8Array(head.length + bytes.length);
    both.set(head);
    both.set(bytes, head.length);
    return await writeAll(conn, both);
  }
  const progress = options.watch?.() ?? { written: 0, writing: false };
  progress.writing = true;
  for (const part of [head, bytes]) {
    for (let at = 0; at < part.length;) {
      const n = await conn.write(part.subarray(at));
      at += n;
      progress.written += n;
    }
  }
  progress.writing = false;
}

/** Writes a body of `length` declared bytes chunk by chunk. */
async function writeDeclared(
  conn: ByteSink,
  response: Response,
  length: number,
  keepAlive: boolean,
): Promise<void> {
  let extra = `content-length: ${length}\r\n`;
  extra += keepAlive ? "" : "connection: close\r\n";
  await writeAll(conn, formatHead(response.status, response.headers, extra));
  let written = 0;
  const reader = response.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (written + value.length > length) throw new RangeError("The body is longer than declared");
      await writeAll(conn, value);
      written += value.length;
    }
  } catch (error) {
    await reader.cancel().catch(() => {}); // lets the body close its file
    throw error;
  }
  if (written !== length) {
    throw new RangeError(`The body ended after ${written} of ${length} declared bytes`);
  }
}

/** What `writeStream` reports to its caller as it goes. */
export interface StreamProgress {
  /** Bytes of body handed to the connection so far. */
  written: number;
  /** A write is in progress. */
  writing: boolean;
}

/** Options of `writeStream`. */
export interface StreamOptions {
  /**
   * HTTP/1.1: the body comes framed as chunks already (shared by every viewer) and gets the
   * last chunk at its end. HTTP/1.0: plain, and the connection's end is the body's end.
   */
  chunked: boolean;
  /** Updated as bytes are written (the stall watchdog reads it). */
  progress: StreamProgress;
}

/**
 * Writes an endless stream response: its head with `connection: close`, then every chunk of
 * `body` with one write each. Rejects when a write fails; the chunked body is then left
 * unterminated, so the peer can tell a cut-off from the stream's end.
 */
export async function writeStream(
  conn: ByteSink,
  response: Response,
  body: StreamBody,
  options: StreamOptions,
): Promise<void> {
  const { chunked, progress } = options;
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
      return;
    }
    progress.writing = true;
    // One write takes the whole chunk almost always; no `writeAll` frame for that.
    const n = await conn.write(value);
    if (n < value.length) await writeAll(conn, value.subarray(n));
    progress.writing = false;
    progress.written += value.length;
  }
}

/**
 * Answers a refused request: the status, its message as a plain-text body (its length counted
 * in bytes), the error's headers, and `connection: close`. Resolves once it is written, or
 * failed, or after `within` ms (then the caller closes the connection, which ends the write).
 */
export async function writeRefusal(
  conn: ByteSink,
  error: HttpError,
  within = 1000,
): Promise<void> {
  const body = encoder.encode(error.message + "\n");
  const head = formatHead(
    error.status,
    new Headers({ "content-type": "text/plain", ...error.headers }),
    `content-length: ${body.length}\r\nconnection: close\r\n`,
  );
  const bytes = new Uint8Array(head.length + body.length);
  bytes.set(head);
  bytes.set(body, head.length);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    writeAll(conn, bytes).catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, within)),
  ]);
  clearTimeout(timer);
}
