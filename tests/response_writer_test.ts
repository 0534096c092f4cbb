// The response writer over a recording sink: one write per stream chunk, the framing lines
// HTTP/1.1 and HTTP/1.0 get, a fixed body's length, and a refusal's length in bytes.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { HttpError } from "../lib/server/http/http_error.ts";
import {
  type StreamBody,
  writeFixed,
  writeRefusal,
  writeStream,
} from "../lib/server/http/response_writer.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A sink that records each write as a copy. */
function recorder() {
  const writes: Uint8Array[] = [];
  return {
    writes,
    text: () => writes.map((w) => decoder.decode(w)).join(""),
    write: (bytes: Uint8Array) => Promise.resolve((writes.push(bytes.slice()), bytes.length)),
  };
}

/** A body handing out `chunks`, some now and some later, then the end (or `error`). */
function bodyOf(chunks: string[], error?: Error): StreamBody & { cancelled: boolean } {
  let i = 0;
  return {
    cancelled: false,
    next() {
      if (i === chunks.length) return error ? Promise.reject(error) : null;
      const chunk = encoder.encode(chunks[i]);
      return i++ % 2 === 0 ? chunk : Promise.resolve(chunk);
    },
    cancel() {
      this.cancelled = true;
    },
  };
}

const STREAM = new Response(null, { headers: { "content-type": "video/webm" } });

Deno.test("writeStream writes the head, then each chunk in one write, then the last chunk (HTTP/1.1)", async () => {
  const sink = recorder();
  const progress = { written: 0, writing: false };
  const chunks = ["5\r\nClus1\r\n", "5\r\nClus2\r\n", "5\r\nClus3\r\n"];
  await writeStream(sink, STREAM, bodyOf(chunks), { chunked: true, progress });
  assertEquals(sink.writes.length, 1 + chunks.length + 1);
  assertEquals(sink.writes.slice(1, -1).map((w) => decoder.decode(w)), chunks);
  assertEquals(decoder.decode(sink.writes.at(-1)), "0\r\n\r\n");
  const head = decoder.decode(sink.writes[0]);
  assertStringIncludes(head, "HTTP/1.1 200 OK\r\n");
  assertStringIncludes(head, "transfer-encoding: chunked\r\nconnection: close\r\n\r\n");
  assertEquals(/content-length/.test(head), false);
  assertEquals(progress, { written: 30, writing: false });
});

Deno.test("writeStream sends HTTP/1.0 viewers the body plain, ended by the connection", async () => {
  const sink = recorder();
  const progress = { written: 0, writing: false };
  await writeStream(sink, STREAM, bodyOf(["Clus1", "Clus2"]), { chunked: false, progress });
  assertEquals(sink.writes.length, 3);
  assertEquals(sink.text().split("\r\n\r\n")[1], "Clus1Clus2");
  assertEquals(/transfer-encoding/.test(sink.text()), false);
});

Deno.test("writeStream rejects when the body fails, leaving the chunked body unterminated", async () => {
  const sink = recorder();
  const progress = { written: 0, writing: false };
  const body = bodyOf(["5\r\nClus1\r\n"], new Error("source gone"));
  await assertRejects(
    () => writeStream(sink, STREAM, body, { chunked: true, progress }),
    Error,
    "source gone",
  );
  assert(!sink.text().endsWith("0\r\n\r\n"), "no last chunk after a cut-off");
});

Deno.test("writeFixed sends the body's length, and for HEAD the head alone", async () => {
  const get = recorder();
  await writeFixed(get, new Response("héllo"), { keepAlive: true, head: false });
  assertStringIncludes(get.text(), "content-length: 6\r\n");
  assertEquals(get.text().split("\r\n\r\n")[1], "héllo");
  assertEquals(/connection: close/.test(get.text()), false);
  const head = recorder();
  const response = new Response("ignored", { headers: { "content-length": "7" } });
  await writeFixed(head, response, { keepAlive: false, head: true });
  assertEquals(head.writes.length, 1);
  assertStringIncludes(head.text(), "content-length: 7\r\nconnection: close\r\n\r\n");
});

Deno.test("writeRefusal answers with the status, connection: close and a length in bytes", async () => {
  const sink = recorder();
  await writeRefusal(sink, new HttpError(400, "Invalid chunk size: é"));
  const [head, body] = sink.text().split("\r\n\r\n");
  assertEquals(head.split("\r\n")[0], "HTTP/1.1 400 Bad Request");
  assertEquals(body, "Invalid chunk size: é\n");
  const length = /content-length: (\d+)/.exec(head)?.[1];
  assertEquals(Number(length), encoder.encode(body).length); // 23 bytes for 22 UTF-16 units
  assertStringIncludes(head, "connection: close");
});

/** A body of `chunks` that says when it was cancelled. */
function chunkedBody(
  chunks: string[],
): { body: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let cancelled = false;
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull: (controller) => {
      if (i === chunks.length) controller.close();
      else controller.enqueue(encoder.encode(chunks[i++]));
    },
    cancel: () => {
      cancelled = true;
    },
  });
  return { body, cancelled: () => cancelled };
}

Deno.test("writeFixed writes a body of declared length as it is read, one write per chunk", async () => {
  const sink = recorder();
  const { body } = chunkedBody(["abc", "defg", "h"]);
  const response = new Response(body, { status: 206, headers: { "content-length": "8" } });
  await writeFixed(sink, response, { keepAlive: true, head: false });
  assertEquals(sink.writes.length, 4); // the head, then each chunk
  assertStringIncludes(sink.text(), "HTTP/1.1 206 Partial Content\r\n");
  assertStringIncludes(sink.text(), "content-length: 8\r\n");
  assert(!sink.text().includes("connection: close"));
  assert(sink.text().endsWith("\r\n\r\nabcdefgh"));
});

Deno.test("writeFixed rejects a declared body that ends short or runs long, and cancels the long one", async () => {
  const short = new Response(chunkedBody(["abc"]).body, { headers: { "content-length": "8" } });
  await assertRejects(
    () => writeFixed(recorder(), short, { keepAlive: true, head: false }),
    RangeError,
    "ended after 3 of 8",
  );
  const long = chunkedBody(["abcdef", "ghijkl", "mnop", "qrst"]);
  const response = new Response(long.body, { headers: { "content-length": "8" } });
  await assertRejects(
    () => writeFixed(recorder(), response, { keepAlive: true, head: false }),
    RangeError,
    "longer than declared",
  );
  assert(long.cancelled());
});
