// ConnectionSplitter: a source's bytes, one stream per connection, each checked to be EBML.
import { assertEquals, assertRejects } from "@std/assert";
import { ConnectionSplitter } from "../lib/ingest/connection_splitter.ts";
import { InputFormatError } from "../lib/ingest/input_format_error.ts";

const MAGIC = [0x1A, 0x45, 0xDF, 0xA3];
const ebml = (tag: number) => new Uint8Array([...MAGIC, tag]);

/** Each connection's chunks, as the last byte of each. */
async function connections(splitter: ConnectionSplitter): Promise<number[][]> {
  const out: number[][] = [];
  for (let c = splitter.next(); c !== undefined; c = splitter.next()) {
    out.push((await Array.fromAsync(c)).map((chunk) => chunk[chunk.length - 1]));
  }
  return out;
}

Deno.test("ConnectionSplitter starts a connection at each chunk shouldRestart marks", async () => {
  const marks = [false, false, true, false, true];
  const asked: number[] = [];
  const splitter = new ConnectionSplitter(
    ReadableStream.from([1, 2, 3, 4, 5].map(ebml)),
    {
      shouldRestart: () => marks[asked.push(asked.length) - 1],
      onBytes: (n) => assertEquals(n, 5),
    },
  );
  assertEquals(await connections(splitter), [[1, 2], [3, 4], [5]]);
  assertEquals(asked.length, 5); // once per chunk
  assertEquals(splitter.bytes, 25);
});

Deno.test("ConnectionSplitter does not split before anything reached the parser, and drops empty chunks", async () => {
  const chunks = [new Uint8Array(0), ebml(1), new Uint8Array(0), ebml(2)];
  const marks = [true, false]; // asked for the two non-empty chunks only
  const splitter = new ConnectionSplitter(ReadableStream.from(chunks), {
    shouldRestart: () => marks.shift() ?? false,
  });
  assertEquals(await connections(splitter), [[1, 2]]);
});

Deno.test("ConnectionSplitter gathers the magic from tiny chunks and checks each connection", async () => {
  const bytes = [...MAGIC, 9];
  const tiny = bytes.map((b) => new Uint8Array([b]));
  const chunks = await Array.fromAsync(
    new ConnectionSplitter(ReadableStream.from(tiny)).next() ?? [],
  );
  assertEquals(chunks, [new Uint8Array(MAGIC), new Uint8Array([9])]); // the magic as one chunk
  // A second connection that is not EBML is refused, though the first was fine.
  const marks = [false, true];
  const splitter = new ConnectionSplitter(
    ReadableStream.from([ebml(1), new TextEncoder().encode("HTTP/1.1 200 OK")]),
    { shouldRestart: () => marks.shift() ?? false },
  );
  const first = splitter.next();
  assertEquals((await Array.fromAsync(first ?? [])).length, 1);
  const second = splitter.next();
  const error = await assertRejects(() => Array.fromAsync(second ?? []), InputFormatError);
  assertEquals(error.format, "text");
});

Deno.test("ConnectionSplitter refuses an empty source with InputFormatError", async () => {
  const splitter = new ConnectionSplitter(ReadableStream.from<Uint8Array>([]));
  const error = await assertRejects(
    () => Array.fromAsync(splitter.next() ?? []),
    InputFormatError,
  );
  assertEquals(error.format, "empty");
  assertEquals(splitter.next(), undefined);
});

Deno.test("ConnectionSplitter cancels the source when a connection's stream is cancelled", async () => {
  let cancelled = 0;
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(ebml(1));
    },
    cancel() {
      cancelled++;
    },
  });
  const splitter = new ConnectionSplitter(source);
  const reader = splitter.next()?.getReader();
  assertEquals((await reader?.read())?.value?.[4], 1);
  await reader?.cancel();
  await splitter.cancel(); // once only
  assertEquals(cancelled, 1);
  assertEquals(splitter.next(), undefined);
});
