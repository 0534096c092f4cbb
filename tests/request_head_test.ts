// Tier 1 of the HTTP server: the pure request-head parser on the table of heads in
// _request_heads.ts, each fed whole, byte by byte and with bytes after it; the connection reader
// over scripted reads.
import { assert, assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { ConnReader, requestBody } from "../lib/server/http/conn_reader.ts";
import { HttpError } from "../lib/server/http/http_error.ts";
import {
  parseChunkSize,
  parseRequestHead,
  type RequestHead,
  requestUrl,
} from "../lib/server/http/request_head.ts";
import { INVALID, type Parsed, VALID } from "./_request_heads.ts";
import { prng } from "./_util.ts";

const encoder = new TextEncoder();

function check(head: RequestHead | undefined, text: string, expected: Parsed): void {
  assertEquals(head?.size, encoder.encode(text).length);
  const { method, target, http11, host, keepAlive, body } = head as RequestHead;
  const { headers, ...fields } = expected;
  assertEquals({ method, target, http11, host, keepAlive, body }, fields);
  if (headers) assertEquals([...(head as RequestHead).headers], headers);
}

Deno.test("parseRequestHead parses valid heads fed whole, byte by byte and with bytes after them", () => {
  for (const [what, text, expected] of VALID) {
    const bytes = encoder.encode(text);
    check(parseRequestHead(bytes), text, expected);
    for (let n = 0; n < bytes.length; n++) {
      assertEquals(parseRequestHead(bytes.subarray(0, n)), undefined, `${what}, ${n} bytes`);
    }
    // Resuming where the last call stopped finds the same end.
    let head: RequestHead | undefined;
    for (let n = 1; n <= bytes.length && head === undefined; n++) {
      head = parseRequestHead(bytes.subarray(0, n), { scanned: n - 1 });
    }
    check(head, text, expected);
    // A body or the next request after the head: the same head, the same size.
    const more = encoder.encode(text + "GET / HTTP/1.1\r\nHost: y\r\n\r\n");
    check(parseRequestHead(more), text, expected);
  }
});

/** Bytes of `text` up to and including its first LF without a CR before it. */
function throughBareLf(bytes: Uint8Array): number {
  return bytes.findIndex((b, i) => b === 10 && bytes[i - 1] !== 13) + 1;
}

Deno.test("parseRequestHead refuses malformed heads with HttpError and its status, whole or byte by byte", () => {
  for (const [what, text, status, message, early] of INVALID) {
    const bytes = encoder.encode(text);
    const error = assertThrows(() => parseRequestHead(bytes), HttpError, message, what);
    assertEquals(error.status, status, what);
    // Decided at the head's end, or (a bare LF) as soon as the LF comes; never before.
    const decided = early ? throughBareLf(bytes) : bytes.length;
    assert(decided > 0, what);
    for (let n = 0; n < bytes.length; n++) {
      const prefix = bytes.subarray(0, n);
      if (n < decided) assertEquals(parseRequestHead(prefix), undefined, `${what}, ${n} bytes`);
      else assertThrows(() => parseRequestHead(prefix), HttpError, message, `${what}, ${n} bytes`);
    }
  }
});

Deno.test("parseRequestHead finds a bare LF that comes after a resumed scan", () => {
  const bytes = encoder.encode("GET / HTTP/1.1\r\nHost: x\r\nA: b\nc\r\n\r\n");
  const lf = throughBareLf(bytes);
  assertEquals(parseRequestHead(bytes.subarray(0, lf - 1), { scanned: lf - 2 }), undefined);
  assertThrows(
    () => parseRequestHead(bytes.subarray(0, lf), { scanned: lf - 1 }),
    HttpError,
    "Bare LF",
  );
});

Deno.test("requestUrl takes origin-form and http(s) absolute-form targets, and refuses the rest", () => {
  const head = (target: string, host?: string) => ({ target, host }) as unknown as RequestHead;
  assertEquals(requestUrl(head("/a?b", "x:1"), "http", "f").href, "http://x:1/a?b");
  assertEquals(requestUrl(head("/a"), "https", "f:2").href, "https://f:2/a");
  assertEquals(requestUrl(head("http://y/z", "x"), "http", "f").href, "http://y/z");
  for (const target of ["*", "ftp://y/z", "javascript:alert(1)", "y:80", "http://"]) {
    assertEquals(
      assertThrows(() => requestUrl(head(target, "x"), "http", "f"), HttpError).status,
      400,
      target,
    );
  }
});

Deno.test("parseRequestHead answers 431 once the bytes pass maxSize without a head's end", () => {
  const head = encoder.encode(`GET / HTTP/1.1\r\nHost: x\r\nA: ${"a".repeat(100)}\r\n\r\n`);
  assertEquals(parseRequestHead(head, { maxSize: head.length })?.size, head.length);
  const error = assertThrows(() => parseRequestHead(head, { maxSize: head.length - 1 }), HttpError);
  assertEquals(error.status, 431);
  // Still reading, but as many bytes as the limit and no end yet: it will never fit.
  const partial = head.subarray(0, 64);
  assertEquals(parseRequestHead(partial, { maxSize: 65 }), undefined);
  assertEquals(
    assertThrows(() => parseRequestHead(partial, { maxSize: 64 }), HttpError).status,
    431,
  );
});

Deno.test("parseChunkSize takes hex digits and extensions, and refuses what parseInt would take", () => {
  const valid: [string, number][] = [["0", 0], ["1a", 26], ["FFff", 65535], ["000010", 16], [
    "5;name=value",
    5,
  ], ["5 ;ext", 5]];
  for (const [line, size] of valid) assertEquals(parseChunkSize(line), size, line);
  for (const line of ["", "1g", " 5", "5 ", "-1", "+1", "0x10", "1_0", "ffffffffffffffff"]) {
    assertEquals(assertThrows(() => parseChunkSize(line), HttpError).status, 400, line);
  }
});

/** A connection that hands out `bytes` in the given read sizes, then its end. */
function scripted(bytes: Uint8Array, sizes: () => number) {
  let at = 0;
  return {
    read(into: Uint8Array): Promise<number | null> {
      if (at === bytes.length) return Promise.resolve(null);
      const n = Math.min(sizes(), into.length, bytes.length - at);
      into.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
  };
}

const PIPELINED = "POST /live/a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" +
  "5;x=y\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nTrailer: t\r\n\r\n" +
  "PUT /live/b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" +
  "GET /status HTTP/1.1\r\nHost: h\r\n\r\n";

Deno.test("ConnReader reads pipelined heads and their chunked and length bodies across any reads", async () => {
  const random = prng(7);
  const bytes = encoder.encode(PIPELINED);
  for (
    const [what, sizes] of [
      ["whole", () => bytes.length],
      ["byte by byte", () => 1],
      ["random reads", () => 1 + Math.floor(random() * 40)],
    ] as const
  ) {
    const reader = new ConnReader(scripted(bytes, sizes), 16 * 1024);
    const seen: string[] = [];
    for (;;) {
      const head = await reader.readHead();
      if (head === null) break;
      let done = false;
      const body = requestBody(head, reader, () => done = true);
      const text = body === null ? "" : await new Response(body).text();
      seen.push(`${head.method} ${head.target} ${text} ${done}`);
    }
    assertEquals(seen, [
      "POST /live/a helloabcdefghijklmnopqrstuvwxyz true",
      "PUT /live/b abc true",
      "GET /status  true",
    ], what);
  }
});

Deno.test("ConnReader refuses a head or a chunk cut off by the connection's end, and bad chunk framing", async () => {
  const cut = new ConnReader(scripted(encoder.encode("GET / HTTP/1.1\r\nHo"), () => 3), 1024);
  assertEquals((await cut.readHead().catch((e) => e)).status, 400);
  for (
    const chunks of ["5\r\nhel", "5\r\nhelloX\r\n0\r\n\r\n", "1g\r\nx\r\n0\r\n\r\n", "5\r\nhello"]
  ) {
    const bytes = encoder.encode(
      `PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`,
    );
    const reader = new ConnReader(scripted(bytes, () => 4), 1024);
    const head = await reader.readHead();
    const body = requestBody(head as RequestHead, reader, () => {});
    const error = await new Response(body).arrayBuffer().catch((e) => e);
    assertInstanceOf(error, HttpError, chunks);
    assertEquals(error.status, 400);
  }
});
