// Tier 1 of the HTTP server: the pure request-head parser on a table of heads, each fed whole,
// byte by byte and with bytes after it; the connection reader over scripted reads.
import { assertEquals, assertInstanceOf, assertThrows } from "@std/assert";
import { ConnReader, requestBody } from "../lib/server/http/conn_reader.ts";
import { HttpError } from "../lib/server/http/http_error.ts";
import {
  parseChunkSize,
  parseRequestHead,
  type RequestHead,
} from "../lib/server/http/request_head.ts";
import { prng } from "./_util.ts";

const encoder = new TextEncoder();

/** What a valid head must parse into (`headers` as name/value pairs, in order). */
interface Parsed {
  method: string;
  target: string;
  http11: boolean;
  host: string | undefined;
  keepAlive: boolean;
  body: RequestHead["body"];
  headers?: [string, string][];
}

const VALID: [string, string, Parsed][] = [
  ["a viewer's GET", "GET /stream HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\n\r\n", {
    method: "GET",
    target: "/stream",
    http11: true,
    host: "127.0.0.1:8080",
    keepAlive: true,
    body: { kind: "none" },
    headers: [["accept", "*/*"], ["host", "127.0.0.1:8080"]],
  }],
  ["HTTP/1.0 without Host", "GET /status HTTP/1.0\r\n\r\n", {
    method: "GET",
    target: "/status",
    http11: false,
    host: undefined,
    keepAlive: false,
    body: { kind: "none" },
  }],
  ["HTTP/1.0 asking to keep alive", "HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", {
    method: "HEAD",
    target: "/",
    http11: false,
    host: undefined,
    keepAlive: true,
    body: { kind: "none" },
  }],
  ["HTTP/1.1 closing", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {
    method: "GET",
    target: "/",
    http11: true,
    host: "x",
    keepAlive: false,
    body: { kind: "none" },
  }],
  [
    "a push with a length, OWS around the value",
    "PUT /live/cam1 HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: \t42 \r\n\r\n",
    {
      method: "PUT",
      target: "/live/cam1",
      http11: true,
      host: "[::1]:8080",
      keepAlive: true,
      body: { kind: "length", length: 42 },
    },
  ],
  ["the same length twice", "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", {
    method: "POST",
    target: "/x",
    http11: true,
    host: "x",
    keepAlive: true,
    body: { kind: "length", length: 5 },
  }],
  ["a zero length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", {
    method: "GET",
    target: "/",
    http11: true,
    host: "x",
    keepAlive: true,
    body: { kind: "none" },
  }],
  [
    "ffmpeg's chunked push",
    "POST /live/a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nHost: h\r\nIcy-MetaData: 1\r\n\r\n",
    {
      method: "POST",
      target: "/live/a",
      http11: true,
      host: "h",
      keepAlive: true,
      body: { kind: "chunked" },
    },
  ],
  [
    "chunked in HTTP/1.0 (faulty framing: no keep-alive)",
    "POST /x HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
    {
      method: "POST",
      target: "/x",
      http11: false,
      host: undefined,
      keepAlive: false,
      body: { kind: "chunked" },
    },
  ],
  ["an absolute-form target", "GET http://a.example/stream HTTP/1.1\r\nHost: a.example\r\n\r\n", {
    method: "GET",
    target: "http://a.example/stream",
    http11: true,
    host: "a.example",
    keepAlive: true,
    body: { kind: "none" },
  }],
];

const INVALID: [string, string, number, string][] = [
  ["a lowercase method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["HTTP/2 in a request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed"],
  ["no Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "exactly one Host"],
  ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "exactly one Host"],
  ["two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400, "exactly one"],
  ["an empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "Invalid Host header"],
  ["a path in Host", "GET / HTTP/1.1\r\nHost: a/admin\r\n\r\n", 400, "Invalid Host header"],
  ["space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "Malformed header line"],
  ["a name with a space", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400, "Malformed"],
  ["a line without a colon", "GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", 400, "Malformed"],
  ["an empty name", "GET / HTTP/1.1\r\nHost: x\r\n: y\r\n\r\n", 400, "Malformed header line"],
  ["a folded line", "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", 400, "Malformed"],
  ["NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\0c\r\n\r\n", 400, "Invalid value"],
  ["a bare LF in a value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\nc: d\r\n\r\n", 400, "Invalid"],
  ["a character Headers refuses", "GET / HTTP/1.1\r\nHost: x\r\nA: \u20ac\r\n\r\n", 400, "Invalid"],
  [
    "a hex length",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
    400,
    "Content-Length",
  ],
  [
    "an exponent",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n",
    400,
    "Content-Length",
  ],
  [
    "a signed length",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
    400,
    "Content-Length",
  ],
  [
    "an empty length",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n",
    400,
    "Content-Length",
  ],
  [
    "lengths that disagree",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    400,
    "Content-Length",
  ],
  [
    "a huge length",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999\r\n\r\n",
    400,
    "Content-Length",
  ],
  [
    "Transfer-Encoding with Content-Length",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    400,
    "together",
  ],
  [
    "chunked not last",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    400,
    "must end with chunked",
  ],
  [
    "an empty Transfer-Encoding",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n\r\n",
    400,
    "must end with chunked",
  ],
  [
    "a coding it does not decode",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    501,
    "Unsupported transfer coding: gzip",
  ],
  [
    "chunked twice",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
    "chunked twice",
  ],
  [
    "a GET with a body",
    "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n",
    400,
    "A GET request must not have a body",
  ],
  [
    "a HEAD with a chunked body",
    "HEAD / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
    "A HEAD request must not have a body",
  ],
];

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
    // A body or the next request after the head: the same head, the same size.
    const more = encoder.encode(text + "GET / HTTP/1.1\r\nHost: y\r\n\r\n");
    check(parseRequestHead(more), text, expected);
  }
});

Deno.test("parseRequestHead refuses malformed heads with HttpError and its status, whole or byte by byte", () => {
  for (const [what, text, status, message] of INVALID) {
    const bytes = encoder.encode(text);
    const error = assertThrows(() => parseRequestHead(bytes), HttpError, message, what);
    assertEquals(error.status, status, what);
    // Nothing is decided before the head's end: a refusal needs the whole head.
    for (let n = 0; n < bytes.length; n++) {
      assertEquals(parseRequestHead(bytes.subarray(0, n)), undefined, `${what}, ${n} bytes`);
    }
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
