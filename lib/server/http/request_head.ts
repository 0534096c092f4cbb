/**
 * The HTTP/1.1 request head (RFC 9112 sections 2-7), parsed by a pure function over the bytes
 * read so far: a head, `undefined` while its blank line has not arrived, or an `HttpError`.
 *
 * Strict where a lax reading lets two parsers disagree on where a request ends (request
 * smuggling, RFC 9112 section 11.2; mkserver may sit behind a proxy): `Content-Length` is digits
 * only, `Transfer-Encoding` must end with `chunked` and cannot come with a `Content-Length`, field
 * names are tokens with no whitespace before the colon, HTTP/1.1 needs exactly one `Host`, and a
 * bare LF (without its CR) is refused wherever it comes, at once.
 *
 * @module
 */

import { HttpError } from "./http_error.ts";

/** How a request's body is delimited (RFC 9112 section 6.3). */
export type RequestBodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" };

/** A parsed request head. */
export interface RequestHead {
  method: string;
  /** The request target as sent: origin form (`/stream?x`) or absolute form. */
  target: string;
  /** HTTP/1.1 (else HTTP/1.0). */
  http11: boolean;
  headers: Headers;
  /** The `Host` field, or undefined (HTTP/1.0 may omit it). */
  host: string | undefined;
  /** Whether the peer lets the connection carry another request after this one. */
  keepAlive: boolean;
  body: RequestBodyFraming;
  /** Bytes the head took, through its empty line: where the body (or next request) starts. */
  size: number;
}

/** Options of `parseRequestHead`. */
export interface RequestHeadOptions {
  /** Largest head in bytes, its empty line included (default 16 KiB): larger gets 431. */
  maxSize?: number;
  /**
   * How many of the bytes an earlier call saw (and answered `undefined`) when these bytes
   * continue them: the search for the head's end resumes there, so a head that trickles in
   * a byte at a time costs linear time, not quadratic. Default 0.
   */
  scanned?: number;
}

const asciiDecoder = new TextDecoder();
/** RFC 9112 section 3: `method SP request-target SP HTTP-version`; the target visible ASCII. */
const REQUEST_LINE = /^([A-Z]+) ([\x21-\x7E]+) HTTP\/1\.([01])$/;
/** RFC 9110 section 5.6.2: `token = 1*tchar`. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * RFC 9110 section 5.5: a field value with CR, LF or NUL MUST be rejected (or those replaced);
 * the other controls but HTAB are not `field-vchar` either.
 */
// deno-lint-ignore no-control-regex -- matching the controls is the point
const BAD_VALUE = /[\x00-\x08\x0A-\x1F\x7F]/;
/** RFC 9112 section 7.1.1: `chunk-size [ chunk-ext ]`; extensions without controls but HTAB. */
// deno-lint-ignore no-control-regex -- the controls are what it refuses
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]+)([ \t]*;[^\x00-\x08\x0A-\x1F\x7F]*)?$/;
/** RFC 3986 section 3.2.2 `host [ ":" port ]`: reg-name, IPv4 or an IP literal in brackets. */
const HOST = /^(?:[A-Za-z0-9\-._~%!$&'()*+,;=]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]*)?$/;

/**
 * Index of the CR of the first CRLF CRLF at or after `start`, or -1; looks at LFs from `from` on.
 * Throws for a bare LF: RFC 9112 section 2.2 lets a server take one as a line end, but a proxy
 * that does not would read another head, so both the end and the lines would be in doubt.
 */
function headEnd(bytes: Uint8Array, start: number, from: number): number {
  for (let i = Math.max(start, from); i < bytes.length; i++) {
    if (bytes[i] !== 10) continue;
    if (bytes[i - 1] !== 13) throw new HttpError(400, "Bare LF in the request head");
    if (i - 3 >= start && bytes[i - 2] === 10 && bytes[i - 3] === 13) return i - 3;
  }
  return -1;
}

/**
 * The head's bytes as a byte string (one character per byte, as `Headers` keeps values): field
 * values may hold obs-text (RFC 9110 section 5.5), which is opaque, not UTF-8.
 */
function byteString(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i] < 0x80;
  if (ascii) return asciiDecoder.decode(bytes);
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/** The field lines as a `Headers`, plus how many `Host` lines came. */
function parseFields(lines: string[]): { headers: Headers; hosts: number } {
  const headers = new Headers();
  let hosts = 0;
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    // No whitespace before the colon, nor a folded line (RFC 9112 sections 5.1 and 5.2).
    if (!TOKEN.test(name)) throw new HttpError(400, "Malformed header line");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (BAD_VALUE.test(value)) throw new HttpError(400, `Invalid value of header ${name}`);
    if (name.toLowerCase() === "host") hosts++;
    headers.append(name, value);
  }
  return { headers, hosts };
}

/** The one `Content-Length`, or undefined; repeats must agree (RFC 9112 section 6.3, rule 5). */
function contentLength(headers: Headers): number | undefined {
  const field = headers.get("content-length");
  if (field === null) return undefined;
  const values = new Set(field.split(",").map((v) => v.trim()));
  const [value] = values;
  if (values.size !== 1 || !/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new HttpError(400, "Invalid Content-Length");
  }
  return Number(value);
}

/** Checks `Transfer-Encoding`: only `chunked`, once, last (RFC 9112 section 6.1). */
function checkTransferCodings(field: string): void {
  const codings = field.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
  if (codings.at(-1) !== "chunked") {
    throw new HttpError(400, "Transfer-Encoding must end with chunked");
  }
  const other = codings.find((c) => c !== "chunked");
  if (other !== undefined) throw new HttpError(501, `Unsupported transfer coding: ${other}`);
  if (codings.length > 1) throw new HttpError(400, "Transfer-Encoding has chunked twice");
}

/** The body's framing, from `Transfer-Encoding` and `Content-Length` (RFC 9112 section 6.3). */
function bodyFraming(method: string, headers: Headers): RequestBodyFraming {
  const te = headers.get("transfer-encoding");
  const length = contentLength(headers);
  let body: RequestBodyFraming = { kind: "none" };
  if (te !== null) {
    // Both: the framing is ambiguous, the classic smuggling vector (RFC 9112 section 6.3, rule 3).
    if (length !== undefined) {
      throw new HttpError(400, "Transfer-Encoding and Content-Length together");
    }
    checkTransferCodings(te);
    body = { kind: "chunked" };
  } else if (length !== undefined && length > 0) {
    body = { kind: "length", length };
  }
  if (body.kind !== "none" && (method === "GET" || method === "HEAD")) {
    throw new HttpError(400, `A ${method} request must not have a body`);
  }
  return body;
}

/**
 * Parses the request head at the start of `bytes`. Returns `undefined` while the head's empty
 * line has not arrived (read more, then call again with all the bytes), and throws `HttpError`
 * for a head the server must refuse: 400 for malformed framing, 431 past `maxSize`, 501 for a
 * transfer coding other than `chunked`. Leading empty lines are skipped (RFC 9112 section 2.2)
 * and counted in `size`. Only a bare LF is refused before the head's end has come.
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { HttpError } from "./http_error.ts";
 * import { parseRequestHead } from "./request_head.ts";
 * const bytes = new TextEncoder().encode("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
 * assertEquals(parseRequestHead(bytes.subarray(0, 20)), undefined);
 * const head = parseRequestHead(bytes);
 * assertEquals([head?.method, head?.target, head?.size], ["GET", "/stream", bytes.length]);
 * const smuggled = new TextEncoder().encode(
 *   "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
 * );
 * assertThrows(() => parseRequestHead(smuggled), HttpError, "Invalid Content-Length");
 * ```
 */
export function parseRequestHead(
  bytes: Uint8Array,
  options: RequestHeadOptions = {},
): RequestHead | undefined {
  const maxSize = options.maxSize ?? 16 * 1024;
  let start = 0;
  while (bytes[start] === 13 && bytes[start + 1] === 10) start += 2;
  const end = headEnd(bytes, start, options.scanned ?? 0);
  if (end < 0 ? bytes.length >= maxSize : end + 4 > maxSize) {
    throw new HttpError(431, "Request header fields too large");
  }
  if (end < 0) return undefined;
  const [requestLine, ...lines] = byteString(bytes.subarray(start, end)).split("\r\n");
  const match = REQUEST_LINE.exec(requestLine);
  if (!match) throw new HttpError(400, "Malformed request line");
  const [, method, target, minor] = match;
  const http11 = minor === "1";
  const { headers, hosts } = parseFields(lines);
  // RFC 9112 section 3.2: a server MUST answer 400 to HTTP/1.1 without Host, or with several.
  if (hosts > 1 || (http11 && hosts === 0)) {
    throw new HttpError(400, "A request needs exactly one Host header");
  }
  const host = headers.get("host") ?? undefined;
  if (host !== undefined && (host === "" || !HOST.test(host))) {
    throw new HttpError(400, "Invalid Host header");
  }
  const body = bodyFraming(method, headers);
  const connection = headers.get("connection")?.toLowerCase() ?? "";
  // RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 means faulty framing: close after it.
  const keepAlive = http11
    ? !connection.includes("close")
    : connection.includes("keep-alive") && body.kind !== "chunked";
  return { method, target, http11, headers, host, keepAlive, body, size: end + 4 };
}

/**
 * The URL a head asks for: the origin-form target under `scheme://Host`, or the absolute-form
 * target as it is. `fallbackHost` stands in for an HTTP/1.0 request's missing `Host`.
 */
export function requestUrl(head: RequestHead, scheme: string, fallbackHost: string): URL {
  let url: URL | undefined;
  try {
    url = head.target.startsWith("/")
      ? new URL(`${scheme}://${head.host ?? fallbackHost}${head.target}`)
      : new URL(head.target);
  } catch { /* refused below */ }
  // RFC 9112 section 3.2.2: the absolute form names an http(s) URI.
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new HttpError(400, "Malformed request target");
  }
  return url;
}

/**
 * The size on a chunk-size line (RFC 9112 section 7.1: `chunk-size [ chunk-ext ]`), hex digits
 * only, at most `Number.MAX_SAFE_INTEGER` (past it `parseInt` rounds, and two parsers would
 * disagree on where the chunk ends); extensions are ignored. Throws `HttpError` 400 for anything
 * else (`parseInt` would read `1g` as 1).
 *
 * @example
 * ```ts
 * import { assertEquals, assertThrows } from "@std/assert";
 * import { parseChunkSize } from "./request_head.ts";
 * assertEquals(parseChunkSize("1A;name=value"), 26);
 * assertThrows(() => parseChunkSize("1g"));
 * ```
 */
export function parseChunkSize(line: string): number {
  const match = CHUNK_SIZE_LINE.exec(line);
  const size = match ? parseInt(match[1], 16) : NaN;
  if (!Number.isSafeInteger(size)) {
    throw new HttpError(400, `Invalid chunk size: ${line.slice(0, 20)}`);
  }
  return size;
}
