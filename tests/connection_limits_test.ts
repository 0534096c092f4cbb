// The connection limits of a real `serveHttp` on port 0, spoken to over raw TCP: the head
// timeout (408, or a quiet close when nothing came), the keep-alive timeout, the per-address
// connection limit (429 with Retry-After), and that none of them touches a streaming response;
// then the same, and the table of malformed heads, against the mkserver command line.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { serveHttp } from "../lib/server/http/http_server.ts";
import type { HttpServerOptions } from "../lib/server/http/http_server_options.ts";
import { sleep, until } from "../bench/_proc.ts";
import { createLogger } from "../lib/log.ts";
import { CliServer } from "./_cli.ts";
import { INVALID } from "./_request_heads.ts";
import { splitResponses, talk, talkRaw } from "./_wire.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** A server answering `ok PATH`, with its log lines kept. */
function okServer(options: Partial<HttpServerOptions>) {
  const lines: string[] = [];
  const server = serveHttp((request) => new Response(`ok ${new URL(request.url).pathname}`), {
    hostname: "127.0.0.1",
    port: 0,
    log: createLogger("info", (line) => lines.push(line)),
    ...options,
  });
  return { server, lines, port: server.addr.port };
}

/** Reads `conn` to its end: what came, and when the end came (ms after `since`). */
async function readToEnd(conn: Deno.Conn, since: number): Promise<{ text: string; at: number }> {
  let text = "";
  const buf = new Uint8Array(4096);
  try {
    for (let n; (n = await conn.read(buf)) !== null;) text += decoder.decode(buf.subarray(0, n));
  } catch { /* reset */ }
  return { text, at: performance.now() - since };
}

Deno.test("serveHttp answers 408 to a head not whole within headerTimeout, and closes a silent connection without a word", async () => {
  const { server, port } = okServer({ headerTimeout: 300 });
  try {
    const start = performance.now();
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    await slow.write(encoder.encode("GET / HTTP/1.1\r\nHost: h\r\n"));
    // Bytes keep coming, but the head never ends: the timeout is for the whole head.
    const trickle = (async () => {
      for (let i = 0; i < 5; i++) {
        await sleep(80);
        await slow.write(encoder.encode(`X-${i}: y\r\n`)).catch(() => {});
      }
    })();
    const [slowEnd, silentEnd] = await Promise.all([
      readToEnd(slow, start),
      readToEnd(silent, start),
    ]);
    await trickle;
    slow.close();
    silent.close();
    const [refusal] = splitResponses(slowEnd.text, []);
    assertEquals(refusal.status, 408);
    assertEquals(refusal.headers.get("connection"), "close");
    assert(slowEnd.at >= 290 && slowEnd.at < 2000, `408 after ${slowEnd.at} ms`);
    assertEquals(silentEnd.text, "");
    assert(silentEnd.at >= 290 && silentEnd.at < 2000, `closed after ${silentEnd.at} ms`);
    assertEquals(server.connections, 0);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp closes a kept-alive connection idle for keepAliveTimeout, and serves one that comes back in time", async () => {
  const { server, port } = okServer({ headerTimeout: 5000, keepAliveTimeout: 300 });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const start = performance.now();
    const reading = readToEnd(conn, start);
    await conn.write(encoder.encode("GET /a HTTP/1.1\r\nHost: h\r\n\r\n"));
    await sleep(200);
    await conn.write(encoder.encode("GET /b HTTP/1.1\r\nHost: h\r\n\r\n"));
    const { text, at } = await reading;
    conn.close();
    assertEquals(splitResponses(text, []).map((r) => [r.status, r.body]), [
      [200, "ok /a"],
      [200, "ok /b"],
    ]);
    // Closed 300 ms after the second answer (at about 200 ms), not at the 5 s head timeout.
    assert(at >= 480 && at < 2500, `closed after ${at} ms`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp answers 429 with Retry-After past maxConnectionsPerIp, logs it once, and serves again once connections close", async () => {
  const { server, lines, port } = okServer({ maxConnectionsPerIp: 2 });
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    while (server.connections < 2) await sleep(10);
    for (let i = 0; i < 3; i++) {
      const [refusal] = await talk(port, ["GET /c HTTP/1.1\r\nHost: h\r\n\r\n"]);
      assertEquals(refusal.status, 429);
      assertEquals(refusal.headers.get("retry-after"), "1");
      assertEquals(refusal.headers.get("connection"), "close");
    }
    assertEquals(
      lines.filter((l) => l.includes("More than 2 connections from 127.0.0.1")).length,
      1,
    );
    held.pop()?.close();
    while (server.connections > 1) await sleep(10);
    const [answer] = await talk(port, ["GET /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"]);
    assertEquals([answer.status, answer.body], [200, "ok /d"]);
  } finally {
    for (const conn of held) conn.close();
    await server.shutdown();
  }
});

Deno.test("serveHttp's head and keep-alive timeouts leave a streaming response alone", async () => {
  const server = serveHttp(() => {
    let n = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(100);
        if (++n > 10) return controller.close();
        controller.enqueue(encoder.encode("2\r\nab\r\n")); // pre-framed, as the ring's chunks are
      },
    });
    return new Response(body, { headers: { "content-type": "video/webm" } });
  }, {
    hostname: "127.0.0.1",
    port: 0,
    streamBody: () => true,
    headerTimeout: 200,
    keepAliveTimeout: 200,
  });
  try {
    const start = performance.now();
    const text = await talkRaw(server.addr.port, ["GET /stream HTTP/1.1\r\nHost: h\r\n\r\n"]);
    const took = performance.now() - start;
    // A second of body, five times the timeouts, all of it, then the last chunk.
    assert(took >= 1000, `ended after ${took} ms`);
    assertEquals(text.slice(text.indexOf("\r\n\r\n") + 4), "2\r\nab\r\n".repeat(10) + "0\r\n\r\n");
  } finally {
    await server.shutdown();
  }
});

Deno.test("serveHttp lets go of a peer that stops reading a large answer after stallTimeout, not of one that reads slowly", async () => {
  const body = new Uint8Array(32 * 1024 * 1024);
  const server = serveHttp(() => new Response(body), {
    hostname: "127.0.0.1",
    port: 0,
    stallTimeout: 1000,
  });
  const port = server.addr.port;
  const stalled = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await stalled.write(encoder.encode("GET /segment HTTP/1.1\r\nHost: h\r\n\r\n"));
    // The slow one: a MiB every 100 ms, all 32 MiB in about 3 s.
    const slow = await Deno.connect({ hostname: "127.0.0.1", port });
    await slow.write(
      encoder.encode("GET /segment HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"),
    );
    let got = 0;
    const buf = new Uint8Array(1024 * 1024);
    for (let n; (n = await slow.read(buf)) !== null;) {
      got += n;
      await sleep(100 * n / buf.length);
    }
    slow.close();
    assert(got > body.length, `the slow reader got ${got} bytes`);
    assert(await until(() => server.evictions === 1, 5000), `evictions: ${server.evictions}`);
    assert(await until(() => server.connections === 0, 2000), `open: ${server.connections}`);
  } finally {
    stalled.close();
    await server.shutdown();
  }
});

Deno.test("mkserver refuses the table's malformed heads and a smuggled request, and applies its connection flags", async () => {
  await using server = await CliServer.start([
    "--port",
    "0",
    "--source-token",
    "t",
    "--header-timeout",
    "1",
    "--keep-alive-timeout",
    "0.5",
    "--max-connections-per-ip",
    "3",
  ]);
  for (const [what, text, status] of INVALID) {
    const responses = await talk(server.port, [text]);
    assertEquals(responses.map((r) => r.status), [status], what);
    assertEquals(responses[0].headers.get("connection"), "close", what);
  }
  // A source push whose chunked body hides a GET: one 400, and the GET is not answered.
  const hidden = "GET /status HTTP/1.1\r\nHost: h\r\n\r\n";
  const responses = await talk(server.port, [
    "PUT /live/a HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\nTransfer-Encoding: chunked\r\n" +
    `Content-Length: ${5 + hidden.length}\r\n\r\n0\r\n\r\n${hidden}`,
  ]);
  assertEquals(responses.map((r) => r.status), [400]);
  // The push's chunked decoder: hex digits only, at most 2^53, no bare LF.
  for (
    const [chunks, message] of [
      ["1g\r\nx\r\n0\r\n\r\n", "Invalid chunk size"],
      ["20000000000000\r\nx", "Invalid chunk size"],
      ["1\nx\r\n0\r\n\r\n", "Bare LF in chunked framing"],
    ]
  ) {
    const [answer] = await talk(server.port, [
      "PUT /live/b HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n" +
      `Transfer-Encoding: chunked\r\n\r\n${chunks}`,
    ]);
    assertEquals([answer.status, answer.headers.get("connection")], [400, "close"], chunks);
    assertStringIncludes(answer.body, message, chunks);
  }
  // --header-timeout 1: a partial head gets 408 after a second.
  const start = performance.now();
  const [late] = await talk(server.port, ["GET /status HTTP/1.1\r\n"]);
  const took = performance.now() - start;
  assertEquals(late.status, 408);
  assert(took >= 950 && took < 3000, `408 after ${took} ms`);
  // --keep-alive-timeout 0.5: an answered connection closes half a second later.
  const kept = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const keptStart = performance.now();
  await kept.write(encoder.encode("GET /status HTTP/1.1\r\nHost: h\r\n\r\n"));
  const { text, at } = await readToEnd(kept, keptStart);
  kept.close();
  assertEquals(splitResponses(text, []).map((r) => r.status), [200]);
  assert(at >= 450 && at < 3000, `closed after ${at} ms`);
  // --max-connections-per-ip 3: three idle connections held, the fourth gets 429.
  const held: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      held.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    }
    await sleep(100);
    const [refusal] = await talk(server.port, ["GET /status HTTP/1.1\r\nHost: h\r\n\r\n"]);
    assertEquals([refusal.status, refusal.headers.get("retry-after")], [429, "1"]);
  } finally {
    for (const conn of held) conn.close();
  }
  await server.waitForLine(/INFO More than 3 connections from 127\.0\.0\.1: answering 429/);
});
