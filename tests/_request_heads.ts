/**
 * The table of request heads both HTTP tiers run: `tests/request_head_test.ts` feeds each to the
 * pure parser, `tests/http_server_test.ts` sends each to a real server over raw TCP. Cases in the
 * manner of picohttpparser's and uWebSockets' tests: valid heads in every shape the RFC allows,
 * and malformed ones, each with the status it must get and a part of the message that says why.
 *
 * @module
 */

import type { RequestHead } from "../lib/server/http/request_head.ts";

/** What a valid head must parse into (`headers` as name/value pairs, in `Headers` order). */
export interface Parsed {
  method: string;
  target: string;
  http11: boolean;
  host: string | undefined;
  keepAlive: boolean;
  body: RequestHead["body"];
  headers?: [string, string][];
}

/** A GET of `target` from Host `x`, kept alive, with no body: most valid cases. */
function get(target: string, headers?: [string, string][]): Parsed {
  const parsed: Parsed = {
    method: "GET",
    target,
    http11: true,
    host: "x",
    keepAlive: true,
    body: { kind: "none" },
  };
  return headers ? { ...parsed, headers } : parsed;
}

/** [what, head, parsed]: heads `parseRequestHead` accepts. */
export const VALID: [string, string, Parsed][] = [
  ["a viewer's GET", "GET /stream HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: */*\r\n\r\n", {
    ...get("/stream", [["accept", "*/*"], ["host", "127.0.0.1:8080"]]),
    host: "127.0.0.1:8080",
  }],
  ["HTTP/1.0 without Host", "GET /status HTTP/1.0\r\n\r\n", {
    ...get("/status"),
    http11: false,
    host: undefined,
    keepAlive: false,
  }],
  ["HTTP/1.0 with a Host", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", {
    ...get("/"),
    http11: false,
    keepAlive: false,
  }],
  ["HTTP/1.0 asking to keep alive", "HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", {
    ...get("/"),
    method: "HEAD",
    http11: false,
    host: undefined,
  }],
  ["HTTP/1.1 closing", "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", {
    ...get("/"),
    keepAlive: false,
  }],
  ["close among other options", "GET / HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n", {
    ...get("/"),
    keepAlive: false,
  }],
  [
    "a push with a length, OWS around the value",
    "PUT /live/cam1 HTTP/1.1\r\nHost: [::1]:8080\r\nContent-Length: \t42 \r\n\r\n",
    {
      ...get("/live/cam1"),
      method: "PUT",
      host: "[::1]:8080",
      body: { kind: "length", length: 42 },
    },
  ],
  ["the same length twice", "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n", {
    ...get("/x"),
    method: "POST",
    body: { kind: "length", length: 5 },
  }],
  [
    "the same length on two lines",
    "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n",
    { ...get("/x"), method: "POST", body: { kind: "length", length: 7 } },
  ],
  ["a zero length", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", get("/")],
  ["leading zeros", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0012\r\n\r\n", {
    ...get("/"),
    method: "PUT",
    body: { kind: "length", length: 12 },
  }],
  [
    "ffmpeg's chunked push",
    "POST /live/a HTTP/1.1\r\nTransfer-Encoding: Chunked\r\nHost: h\r\nIcy-MetaData: 1\r\n\r\n",
    { ...get("/live/a"), method: "POST", host: "h", body: { kind: "chunked" } },
  ],
  [
    "chunked in a list with empty elements (RFC 9110 section 5.6.1)",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: , chunked ,\r\n\r\n",
    { ...get("/"), method: "PUT", body: { kind: "chunked" } },
  ],
  [
    "chunked in HTTP/1.0 (faulty framing: no keep-alive)",
    "POST /x HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n",
    {
      ...get("/x"),
      method: "POST",
      http11: false,
      host: undefined,
      keepAlive: false,
      body: { kind: "chunked" },
    },
  ],
  [
    "an underscore name is not Transfer-Encoding",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\n\r\n",
    { ...get("/"), method: "PUT", headers: [["host", "x"], ["transfer_encoding", "chunked"]] },
  ],
  ["an absolute-form target", "GET http://a.example/stream HTTP/1.1\r\nHost: a.example\r\n\r\n", {
    ...get("http://a.example/stream"),
    host: "a.example",
  }],
  ["a query", "GET /live/a/hls/v1.m3u8?_HLS_msn=5&_HLS_part=2 HTTP/1.1\r\nHost: x\r\n\r\n", {
    ...get("/live/a/hls/v1.m3u8?_HLS_msn=5&_HLS_part=2"),
  }],
  ["a Host with an empty port", "GET / HTTP/1.1\r\nHost: x:\r\n\r\n", { ...get("/"), host: "x:" }],
  ["an IPv4 Host", "GET / HTTP/1.1\r\nHost: 10.1.2.3\r\n\r\n", { ...get("/"), host: "10.1.2.3" }],
  [
    "empty lines before the request line (RFC 9112 section 2.2)",
    "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    get("/"),
  ],
  ["an empty value", "GET / HTTP/1.1\r\nHost: x\r\nA:\r\nB: \t \r\n\r\n", {
    ...get("/", [["a", ""], ["b", ""], ["host", "x"]]),
  }],
  ["HTAB and spaces inside a value", "GET / HTTP/1.1\r\nHost: x\r\nA:  b\t c  \r\n\r\n", {
    ...get("/", [["a", "b\t c"], ["host", "x"]]),
  }],
  ["every tchar in a name", "GET / HTTP/1.1\r\nHost: x\r\n!#$%&'*+-.^_`|~09AZaz: v\r\n\r\n", {
    ...get("/", [["!#$%&'*+-.^_`|~09azaz", "v"], ["host", "x"]]),
  }],
  [
    "obs-text in a value, kept as opaque bytes (é in UTF-8 is two)",
    "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: caf\u00e9\r\n\r\n",
    { ...get("/", [["host", "x"], ["user-agent", "caf\u00c3\u00a9"]]) },
  ],
  ["a repeated field, joined", "GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\na: 2\r\n\r\n", {
    ...get("/", [["a", "1, 2"], ["host", "x"]]),
  }],
  [
    "fifty fields",
    `GET / HTTP/1.1\r\nHost: x\r\n${
      Array.from({ length: 50 }, (_, i) => `X-F${i}: ${i}\r\n`).join("")
    }\r\n`,
    get("/"),
  ],
];

/**
 * [what, head, status, message, early]: heads refused with `status`, the message including
 * `message`. `early`: decided at the first bare LF, before the head's end could come.
 */
export const INVALID: [string, string, number, string, boolean?][] = [
  // The request line.
  ["a lowercase method", "get / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["an empty method", " / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["HTTP/2 in a request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["a lowercase version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["no version (HTTP/0.9)", "GET /\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed"],
  ["a tab in the request line", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed"],
  ["a space after the version", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400, "Malformed"],
  ["a space in the target", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed"],
  ["NUL in the target", "GET /a\0b HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["a control in the target", "GET /a\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed"],
  ["DEL in the target", "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed request line"],
  ["non-ASCII in the target", "GET /caf\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed"],
  ["a bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Malformed"],
  ["only a head's end", "\r\n\r\n\r\n\r\nGET\r\n\r\n", 400, "Malformed request line"],
  // Host.
  ["no Host in HTTP/1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400, "exactly one Host"],
  ["no Host with an absolute target", "GET http://x/ HTTP/1.1\r\n\r\n", 400, "exactly one Host"],
  ["two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "exactly one Host"],
  ["the same Host twice", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400, "exactly one"],
  ["two Hosts in HTTP/1.0", "GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n", 400, "exactly one"],
  ["an empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400, "Invalid Host header"],
  ["a port alone in Host", "GET / HTTP/1.1\r\nHost: :80\r\n\r\n", 400, "Invalid Host header"],
  ["a path in Host", "GET / HTTP/1.1\r\nHost: a/admin\r\n\r\n", 400, "Invalid Host header"],
  ["userinfo in Host", "GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "Invalid Host header"],
  ["a space in Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "Invalid Host header"],
  // Field lines.
  ["space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400, "Malformed header line"],
  ["a tab before the colon", "GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", 400, "Malformed header line"],
  ["a name with a space", "GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", 400, "Malformed"],
  ["a name with a separator", "GET / HTTP/1.1\r\nHost: x\r\nA(b): y\r\n\r\n", 400, "Malformed"],
  ["a name with a quote", 'GET / HTTP/1.1\r\nHost: x\r\nA"b: y\r\n\r\n', 400, "Malformed"],
  ["a non-ASCII name", "GET / HTTP/1.1\r\nHost: x\r\n\u00e9: y\r\n\r\n", 400, "Malformed"],
  ["a line without a colon", "GET / HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n", 400, "Malformed"],
  ["an empty name", "GET / HTTP/1.1\r\nHost: x\r\n: y\r\n\r\n", 400, "Malformed header line"],
  ["a folded line", "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n", 400, "Malformed"],
  [
    "a line folded with a tab",
    "GET / HTTP/1.1\r\nHost: x\r\nA: b\r\n\tc\r\n\r\n",
    400,
    "Malformed",
  ],
  ["whitespace before the first field", "GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400, "Malformed"],
  ["NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\0c\r\n\r\n", 400, "Invalid value"],
  ["a bare CR in a value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400, "Invalid value"],
  ["a control in a value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\x1bc\r\n\r\n", 400, "Invalid value"],
  ["DEL in a value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\x7f\r\n\r\n", 400, "Invalid value"],
  // Bare LF, refused as soon as it comes.
  ["a bare LF in a value", "GET / HTTP/1.1\r\nHost: x\r\nA: b\nc: d\r\n\r\n", 400, "Bare LF", true],
  ["bare LFs only", "GET / HTTP/1.1\nHost: x\n\n", 400, "Bare LF", true],
  ["a bare LF ending the head", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400, "Bare LF", true],
  ["a bare LF first", "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "Bare LF", true],
  ["LF CR LF", "GET / HTTP/1.1\r\nHost: x\n\r\n\r\n", 400, "Bare LF", true],
  // Content-Length.
  ["a hex length", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n", 400, "Length"],
  ["an exponent", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1e3\r\n\r\n", 400, "Length"],
  ["a signed length", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400, "Length"],
  ["a negative length", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "Length"],
  ["a fraction", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5.0\r\n\r\n", 400, "Length"],
  ["a space inside", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", 400, "Length"],
  ["an underscore", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1_0\r\n\r\n", 400, "Length"],
  ["an empty length", "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n", 400, "Length"],
  [
    "an empty list element",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5,,5\r\n\r\n",
    400,
    "Len",
  ],
  [
    "non-ASCII digits",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: \u0663\r\n\r\n",
    400,
    "Content-Length",
  ],
  [
    "lengths that disagree in a list",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 6\r\n\r\n",
    400,
    "Length",
  ],
  [
    "lengths that disagree on two lines",
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
    "space before its colon",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\n",
    400,
    "Malformed",
  ],
  // Transfer-Encoding.
  [
    "Transfer-Encoding with Content-Length",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    400,
    "together",
  ],
  [
    "Transfer-Encoding with a zero Content-Length",
    "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
    "together",
  ],
  [
    "Transfer-Encoding with space before its colon",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n",
    400,
    "Malformed header line",
  ],
  [
    "Transfer-Encoding with a control before chunked",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n",
    400,
    "Invalid value",
  ],
  [
    "chunked not last",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    400,
    "must end with chunked",
  ],
  [
    "identity",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
    400,
    "must end with chunked",
  ],
  [
    "chunked with a parameter",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
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
    "codings on two lines",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: x-custom\r\nTransfer-Encoding: chunked\r\n\r\n",
    501,
    "Unsupported transfer coding: x-custom",
  ],
  [
    "chunked twice",
    "PUT / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
    "chunked twice",
  ],
  // Bodies where none may be.
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
