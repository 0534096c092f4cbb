// Tier 2 of the HTTP server: a real `serveHttp` on port 0, spoken to over raw TCP.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { serveHttp } from "../lib/server/http/http_server.ts";
import { INVALID, VALID } from "./_request_heads.ts";
import { talk, talkRaw } from "./_wire.ts";

const encoder = new TextEncoder();

/** A server that answers every request with what it got, counting requests. */
function echoServer(options: { maxHeadSize?: number } = {}) {
  const seen: string[] = [];
  const server = serveHttp(async (request, info) => {
    const body = request.body === null ? "" : await request.text();
    const peer = (info.remoteAddr as Deno.NetAddr).port;
    seen.push(`${request.method} ${new URL(request.url).pathname} ${body.length} ${peer}`);
    return new Response(`${request.method} ${new URL(request.url).pathname} ${body}`, {
      headers: { "x-wire": String(info.wire ?? "") },
    });
  }, { hostname: "127.0.0.1", port: 0, ...options });
  return { server, seen, port: server.addr.port };
}

const REFUSED: [string, string, number][] = [
  ["Content-Length: 0x10", "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n", 400],
  [
    "Transfer-Encoding with Content-Length",
    "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
    400,
  ],
  ["no Host in HTTP/1.1", "GET /x HTTP/1.1\r\n\r\n", 400],
  ["space before a colon", "GET /x HTTP/1.1\r\nHost : h\r\n\r\n", 400],
  ["a field name with a space", "GET /x HTTP/1.1\r\nHost: h\r\nBad Name: v\r\n\r\n", 400],
  ["a bad request line", "GET /x\r\nHost: h\r\n\r\n", 400],
  ["gzip", "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
  ["TRACE, which Request refuses", "TRACE /x HTTP/1.1\r\nHost: h\r\n\r\n", 501],
  ["a head too large", `GET /x HTTP/1.1\r\nHost: h\r\nA: ${"a".repeat(2000)}\r\n\r\n`, 431],
];

Deno.test("serveHttp answers each malformed request with its status and connection: close, then closes", async () => {
  const { server, seen, port } = echoServer({ maxHeadSize: 1024 });
  try {
    for (const [what, request, status] of REFUSED) {
      const responses = await talk(port, [request]);
      assertEquals(responses.length, 1, what);
      assertEquals(responses[0].status, status, what);
      assertEquals(responses[0].headers.get("connection"), "close", what);
      assertEquals(
        Number(responses[0].headers.get("content-length")),
        encoder.encode(responses[0].body).length,
        what,
      );
    }
    assertEquals(seen, [], "no handler ran");
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp reads a chunked request body split across reads", async () => {
  const { server, seen, port } = echoServer();
  try {
    // Cut inside the head, a size line, a chunk's data, its CRLF and the last chunk.
    const responses = await talk(port, [
      "POST /live/a HTTP/1.1\r\nHost: h\r\nTransfer-",
      "Encoding: chunked\r\nConnection: close\r\n\r\n",
      "5;ext=1\r\nhel",
      "lo\r",
      "\n1",
      "0\r\n0123456789abcdef\r\n",
      "0\r\n",
      "\r\n",
    ], { gap: 20 });
    assertEquals(responses.map((r) => [r.status, r.body]), [
      [200, "POST /live/a hello0123456789abcdef"],
    ]);
    assertEquals(seen.length, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp keeps an HTTP/1.1 connection alive across requests, and answers HEAD with the head only", async () => {
  const { server, seen, port } = echoServer();
  try {
    const responses = await talk(port, [
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
      "HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n",
      "PUT /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz",
      "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    ], { gap: 20, heads: [false, true, false, false] });
    assertEquals(responses.map((r) => [r.status, r.body]), [
      [200, "GET /a "],
      [200, ""],
      [200, "PUT /b xyz"],
      [200, "GET /c "],
    ]);
    // The handler's body for HEAD was dropped: the next response follows the head at once.
    assertEquals(responses.map((r) => r.headers.get("connection")), [
      undefined,
      undefined,
      undefined,
      "close",
    ]);
    assertEquals(responses[0].headers.get("x-wire"), "true");
    // All four on the same connection: one peer port.
    assertEquals(new Set(seen.map((s) => s.split(" ")[3])).size, 1);
    assertEquals(seen.map((s) => s.split(" ").slice(0, 3).join(" ")), [
      "GET /a 0",
      "HEAD /a 0",
      "PUT /b 3",
      "GET /c 0",
    ]);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp answers HTTP/1.0 without Host, then closes the connection", async () => {
  const { server, port } = echoServer();
  try {
    const responses = await talk(port, ["GET /status HTTP/1.0\r\n\r\n"]);
    assertEquals(responses.map((r) => [r.status, r.body]), [[200, "GET /status "]]);
    assertEquals(responses[0].headers.get("connection"), "close");
    assertEquals(responses[0].headers.get("x-wire"), "false");
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp ends a stream response with the last chunk, and counts it while it runs", async () => {
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const server = serveHttp(() => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("3\r\nabc\r\n")); // pre-framed, as the ring's chunks are
        await gate;
        controller.close();
      },
    });
    return new Response(body, { headers: { "content-type": "video/webm" } });
  }, { hostname: "127.0.0.1", port: 0, streamBody: () => true });
  try {
    const talking = talkRaw(server.addr.port, ["GET /stream HTTP/1.1\r\nHost: h\r\n\r\n"]);
    for (let i = 0; i < 100 && server.streams === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assertEquals(server.streams, 1);
    release();
    const [head] = (await talking).split("\r\n\r\n", 1);
    assertStringIncludes(head, "\r\ntransfer-encoding: chunked\r\n");
    assertStringIncludes(head, "\r\nconnection: close");
    assertEquals(/content-length/.test(head), false);
    // The body as it came (framed already), then the last chunk, then the connection's end.
    assertEquals((await talking).slice(head.length + 4), "3\r\nabc\r\n0\r\n\r\n");
    assertEquals(server.streams, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp refuses every malformed head of the table with its status line and connection: close, running no handler", async () => {
  const { server, seen, port } = echoServer();
  try {
    for (const [what, text, status, message] of INVALID) {
      const responses = await talk(port, [text]);
      assertEquals(responses.map((r) => r.status), [status], what);
      assertEquals(responses[0].headers.get("connection"), "close", what);
      assertStringIncludes(responses[0].body, message, what);
    }
    assertEquals(seen, []);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp answers every valid head of the table, with its body, and keeps alive the ones that may", async () => {
  const { server, port } = echoServer();
  try {
    for (const [what, text, parsed] of VALID) {
      const body = parsed.body.kind === "length"
        ? "b".repeat(parsed.body.length)
        : parsed.body.kind === "chunked"
        ? "5\r\nhello\r\n0\r\n\r\n"
        : "";
      const after = parsed.keepAlive
        ? "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        : "";
      const responses = await talk(port, [text + body + after], {
        heads: [parsed.method === "HEAD"],
      });
      const path = new URL(parsed.target, "http://x").pathname;
      const echoed = parsed.body.kind === "chunked" ? "hello" : body;
      assertEquals(
        responses.map((r) => [r.status, r.body]),
        [
          [200, parsed.method === "HEAD" ? "" : `${parsed.method} ${path} ${echoed}`],
          ...(parsed.keepAlive ? [[200, "GET /last "]] : []),
        ],
        what,
      );
    }
  } finally {
    await server.shutdown();
  }
});

/** A POST whose head says both `Content-Length` and chunked, its body hiding a second request. */
function smuggling(headers: string): [string, string] {
  const hidden = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";
  const chunked = `0\r\n\r\n${hidden}`;
  return [`POST /a HTTP/1.1\r\nHost: h\r\n${headers}\r\n`, chunked];
}

Deno.test("serveHttp does not answer a request smuggled in the body of a Transfer-Encoding + Content-Length request", async () => {
  const { server, seen, port } = echoServer();
  try {
    const both = `Content-Length: 41\r\nTransfer-Encoding: chunked\r\n`;
    for (
      const headers of [
        both,
        `Transfer-Encoding: chunked\r\nContent-Length: 41\r\n`,
        `Transfer-Encoding : chunked\r\nContent-Length: 41\r\n`,
        `Content-Length: 0\r\nContent-Length: 41\r\n`,
      ]
    ) {
      const [head, body] = smuggling(headers);
      // In one write, and with the hidden request coming after the refusal has gone out.
      for (const parts of [[head + body], [head, body]]) {
        const responses = await talk(port, parts, { gap: 100 });
        assertEquals(responses.map((r) => r.status), [400], headers);
        assertEquals(responses[0].headers.get("connection"), "close");
      }
    }
    assertEquals(seen, []);
    // The control: chunked alone, the same bytes are two requests, and both are answered.
    const [head, body] = smuggling("Transfer-Encoding: chunked\r\n");
    const responses = await talk(port, [
      head + body + "GET /z HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    ]);
    assertEquals(responses.map((r) => [r.status, r.body]), [
      [200, "POST /a "],
      [200, "GET /smuggled "],
      [200, "GET /z "],
    ]);
  } finally {
    await server.shutdown();
  }
});
