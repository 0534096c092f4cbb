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
  return encoder.encode(`${head}date: ${new Date().toUTCString()}\r\n${extra}\r\n`);
}

/** Options of `writeFixed`. */
export interface FixedOptions {
  /** The connection stays open for another request (else `connection: close`). */
  keepAlive: boolean;
  /** Answering HEAD: the head only, with the length the response declares. */
  head: boolean;
}

/** Writes a response with its whole body and a `Content-Length`. */
export async function writeFixed(
  conn: ByteSink,
  response: Response,
  options: FixedOptions,
): Promise<void> {
  let bytes: Uint8Array | null = null;
  let length = response.headers.get("content-length");
  if (!options.head && response.body !== null) {
    bytes = new Uint8Array(await response.arrayBuffer());
    length = String(bytes.length);
  } else {
    await response.body?.cancel();
    if (!options.head) length = "0";
  }
  let extra = length === null ? "" : `content-length: ${length}\r\n`;
  extra += options.keepAlive ? "" : "connection: close\r\n";
  await writeAll(conn, formatHead(response.status, response.headers, extra));
  if (bytes !== null && bytes.length > 0) await writeAll(conn, bytes);
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
 * in bytes), and `connection: close`.
 */
export async function writeRefusal(conn: ByteSink, error: HttpError): Promise<void> {
  const body = encoder.encode(error.message + "\n");
  const head = formatHead(
    error.status,
    new Headers({ "content-type": "text/plain" }),
    `content-length: ${body.length}\r\nconnection: close\r\n`,
  );
  await writeAll(conn, head);
  await writeAll(conn, body);
}
