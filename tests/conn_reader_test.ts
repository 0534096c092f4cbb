// ConnReader's limits over a connection the test feeds by hand: the head and keep-alive
// timeouts, and the bounds of chunked framing (line length, bare LF, trailer size).
import { assert, assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { ConnReader, requestBody } from "../lib/server/http/conn_reader.ts";
import { HttpError } from "../lib/server/http/http_error.ts";
import type { RequestHead } from "../lib/server/http/request_head.ts";

const encoder = new TextEncoder();

/** A connection whose bytes the test sends with `send`; a read waits for them. */
class HandFed {
  #queue: Uint8Array[] = [];
  #waiting: ((n: number | null) => void) | undefined;
  #into: Uint8Array | undefined;
  #ended = false;
  /** Reads asked for so far. */
  reads = 0;

  read(into: Uint8Array): Promise<number | null> {
    this.reads++;
    if (this.#queue.length > 0) return Promise.resolve(this.#take(into));
    if (this.#ended) return Promise.resolve(null);
    this.#into = into;
    return new Promise((resolve) => this.#waiting = resolve);
  }

  send(text: string): void {
    this.#queue.push(encoder.encode(text));
    this.#wake();
  }

  /** Ends the connection: a pending read gets its end (as a closed connection's would). */
  end(): void {
    this.#ended = true;
    this.#wake();
  }

  #wake(): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    this.#waiting = undefined;
    waiting(this.#queue.length > 0 ? this.#take(this.#into as Uint8Array) : null);
  }

  #take(into: Uint8Array): number {
    const bytes = this.#queue.shift() as Uint8Array;
    const n = Math.min(bytes.length, into.length);
    into.set(bytes.subarray(0, n));
    if (n < bytes.length) this.#queue.unshift(bytes.subarray(n));
    return n;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HEAD = "GET /status HTTP/1.1\r\nHost: h\r\n\r\n";

Deno.test("ConnReader.readHead answers 408 when a head is not whole within the head timeout, however it trickles", async () => {
  const conn = new HandFed();
  const reader = new ConnReader(conn, 1024);
  const start = performance.now();
  const reading = reader.readHead({ head: 300 });
  // A byte every 20 ms never completes the head: the timeout covers the whole head.
  const trickle = (async () => {
    for (const c of HEAD.slice(0, 20)) {
      conn.send(c);
      await sleep(20);
    }
  })();
  const error = await reading.catch((e) => e);
  const took = performance.now() - start;
  assertInstanceOf(error, HttpError);
  assertEquals(error.status, 408);
  assert(took >= 290 && took < 1000, `408 after ${took} ms`);
  await trickle;
  conn.end();
});

Deno.test("ConnReader.readHead ends quietly (null) when no byte came within the timeout", async () => {
  const conn = new HandFed();
  const start = performance.now();
  assertEquals(await new ConnReader(conn, 1024).readHead({ head: 100 }), null);
  assert(performance.now() - start >= 95);
  conn.end();
});

Deno.test("ConnReader.readHead waits `idle` for a kept-alive request's first byte, then gives its head `head` from there", async () => {
  // Nothing within the idle timeout: the connection ends quietly.
  const quiet = new HandFed();
  const start = performance.now();
  assertEquals(await new ConnReader(quiet, 1024).readHead({ head: 1000, idle: 100 }), null);
  const took = performance.now() - start;
  assert(took >= 95 && took < 900, `closed after ${took} ms`);
  quiet.end();
  // A first byte at 60 ms, the rest at 200 ms: past the idle timeout's 100, but within 200 of
  // the first byte.
  const conn = new HandFed();
  const reading = new ConnReader(conn, 1024).readHead({ head: 200, idle: 100 });
  await sleep(60);
  conn.send("G");
  await sleep(140);
  conn.send(HEAD.slice(1));
  assertEquals((await reading)?.target, "/status");
  conn.end();
});

Deno.test("ConnReader.readHead without timeouts waits as long as it takes", async () => {
  const conn = new HandFed();
  const reading = new ConnReader(conn, 1024).readHead();
  await sleep(150);
  conn.send(HEAD);
  assertEquals((await reading)?.method, "GET");
  conn.end();
});

Deno.test("ConnReader reads an 8 KiB head that comes a byte a read", async () => {
  const conn = new HandFed();
  const reader = new ConnReader(conn, 16 * 1024);
  const big = `GET / HTTP/1.1\r\nHost: h\r\nA: ${"a".repeat(8000)}\r\n\r\n`;
  const reading = reader.readHead();
  for (const c of big) conn.send(c);
  assertEquals((await reading)?.size, big.length);
  assertEquals(conn.reads, big.length);
  conn.end();
});

/** The chunked body of a PUT whose body is `chunks`, read whole: its text or its error. */
async function chunked(chunks: string): Promise<string | HttpError> {
  const conn = new HandFed();
  conn.send(`PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`);
  conn.end();
  const reader = new ConnReader(conn, 8192);
  const head = await reader.readHead() as RequestHead;
  const body = requestBody(head, reader, () => {}) as ReadableStream<Uint8Array>;
  return await new Response(body).text().catch((e) => e);
}

Deno.test("chunkedBody refuses a bare LF, an overlong chunk line and an endless trailer section with 400", async () => {
  assertEquals(await chunked("3\r\nabc\r\n0\r\nT: 1\r\n\r\n"), "abc");
  assertEquals(await chunked(`3;${"e".repeat(4000)}\r\nabc\r\n0\r\n\r\n`), "abc");
  const cases: [string, string][] = [
    ["3\nabc\r\n0\r\n\r\n", "Bare LF in chunked framing"],
    ["3\r\nabc\n0\r\n\r\n", "Bare LF in chunked framing"],
    ["3\r\nabc\r\n0\r\n\n", "Bare LF in chunked framing"],
    [`3;${"e".repeat(5000)}\r\nabc\r\n0\r\n\r\n`, "Chunk line too long"],
    [`0\r\n${"T: 1\r\n".repeat(2000)}\r\n`, "Trailer section too large"],
    ["3\r\nabcd\r\n0\r\n\r\n", "Missing CRLF after a chunk"],
    ["3 4\r\nabc\r\n0\r\n\r\n", "Invalid chunk size"],
  ];
  for (const [chunks, message] of cases) {
    const error = await chunked(chunks);
    assertInstanceOf(error, HttpError, chunks);
    assertEquals([error.status, error.message.slice(0, message.length)], [400, message], chunks);
  }
});

Deno.test("ConnReader.readHead rejects after a timeout even while its read is still pending", async () => {
  const conn = new HandFed();
  conn.send("GET / HT");
  await assertRejects(
    () => new ConnReader(conn, 1024).readHead({ head: 50 }),
    HttpError,
    "Request head not received within 0.05 s",
  );
  conn.end();
});
