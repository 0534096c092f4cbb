// ConnectionSplitter: a reconnecting source's bytes, one stream per connection.
import { assertEquals, assertStrictEquals } from "@std/assert";
import { ConnectionSplitter } from "../lib/ingest/connection_splitter.ts";

const chunk = (tag: number) => new Uint8Array([0x1A, 0x45, 0xDF, 0xA3, tag]);

/** Each connection's chunks, as the last byte of each. */
async function connections(splitter: ConnectionSplitter): Promise<number[][]> {
  const out: number[][] = [];
  for (let c = splitter.next(); c !== undefined; c = splitter.next()) {
    out.push((await Array.fromAsync(c)).map((bytes) => bytes[bytes.length - 1]));
  }
  return out;
}

Deno.test("ConnectionSplitter starts a connection at each chunk shouldRestart marks", async () => {
  const marks = [false, false, true, false, true];
  let asked = 0;
  const splitter = new ConnectionSplitter(ReadableStream.from([1, 2, 3, 4, 5].map(chunk)), {
    shouldRestart: () => marks[asked++],
  });
  assertEquals(await connections(splitter), [[1, 2], [3, 4], [5]]);
  assertEquals(asked, 5); // once per chunk
  assertEquals(splitter.ended, true);
});

Deno.test("ConnectionSplitter does not split before a connection gave anything, and drops empty chunks", async () => {
  const chunks = [new Uint8Array(0), chunk(1), new Uint8Array(0), chunk(2)];
  const marks = [true, false]; // asked for the two non-empty chunks only
  const splitter = new ConnectionSplitter(ReadableStream.from(chunks), {
    shouldRestart: () => marks.shift() ?? false,
  });
  assertEquals(await connections(splitter), [[1, 2]]);
});

Deno.test("ConnectionSplitter without shouldRestart gives the source itself, once", () => {
  const source = ReadableStream.from([chunk(1)]);
  const splitter = new ConnectionSplitter(source);
  assertEquals(splitter.ended, false);
  assertStrictEquals(splitter.next(), source);
  assertEquals(splitter.ended, true);
  assertEquals(splitter.next(), undefined);
});

Deno.test("ConnectionSplitter knows a connection follows while the current one is read", async () => {
  const marks = [false, true];
  const splitter = new ConnectionSplitter(ReadableStream.from([chunk(1), chunk(2)]), {
    shouldRestart: () => marks.shift() ?? false,
  });
  const first = splitter.next();
  assertEquals((await Array.fromAsync(first ?? [])).length, 1);
  assertEquals(splitter.ended, false); // the chunk that began the next one is waiting
  assertEquals((await Array.fromAsync(splitter.next() ?? [])).length, 1);
  assertEquals(splitter.ended, true);
});

Deno.test("ConnectionSplitter cancels the source when a connection's stream is cancelled", async () => {
  let cancelled = 0;
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(chunk(1));
    },
    cancel() {
      cancelled++;
    },
  });
  const splitter = new ConnectionSplitter(source, { shouldRestart: () => false });
  const reader = splitter.next()?.getReader();
  assertEquals((await reader?.read())?.value?.[4], 1);
  await reader?.cancel();
  await splitter.cancel(); // once only
  assertEquals(cancelled, 1);
  assertEquals(splitter.next(), undefined);
});
