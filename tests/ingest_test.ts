// ingest(): the pipeline from a byte stream to an IngestSink, its faults and its restarts.
import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertLess,
  assertMatch,
  assertRejects,
} from "@std/assert";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import { ingest, InputFormatError } from "../lib/ingest/ingest.ts";
import type { Block } from "../lib/matroska/block.ts";
import type { LiveHeader } from "../lib/matroska/live_header.ts";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import type { IngestSink } from "../lib/stream/mount_registry.ts";
import { demux, prng, randomChunks, readFixture, recorder } from "./_util.ts";

/** A sink that records what it was given. */
function recordingSink() {
  const headers: LiveHeader[] = [];
  const blocks: Block[] = [];
  let clusterEnds = 0;
  let bytesIn = 0;
  const sink: IngestSink = {
    setHeader: (header) => headers.push(header),
    pushBlock: (block) => blocks.push(block),
    countBytesIn: (n) => bytesIn += n,
    endCluster: () => clusterEnds++,
  };
  return {
    sink,
    headers,
    blocks,
    get clusterEnds() {
      return clusterEnds;
    },
    get bytesIn() {
      return bytesIn;
    },
  };
}

/** A pull source of `chunks` (or a factory for chunk i) that records whether it was cancelled. */
function trackedSource(chunks: Uint8Array[]) {
  const state = { cancelled: false, pulls: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (state.pulls >= chunks.length) return controller.close();
      controller.enqueue(chunks[state.pulls++]);
    },
    cancel() {
      state.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, state };
}

/** Blocks that `EbmlReader` completes in `bytes`, which may stop anywhere or turn bad. */
function blocksIn(...parts: Uint8Array[]): number {
  const reader = new EbmlReader();
  const demuxer = new MatroskaDemuxer();
  let blocks = 0;
  try {
    for (const part of parts) {
      reader.push(part, (e) => demuxer.push(e, (m) => m.type === "block" && blocks++));
    }
  } catch {
    // the count so far: what came before the fault
  }
  return blocks;
}

/** Random bytes that `EbmlReader` refuses as the next element of sample.webm at 200,000. */
function garbage(): Uint8Array {
  const rand = prng(42);
  return Uint8Array.from({ length: 64 * 1024 }, () => Math.floor(rand() * 256));
}

Deno.test("ingest delivers the header and every block of a file, in random chunks", async () => {
  const bytes = await readFixture("sample.webm");
  const expected = demux(bytes);
  const out = recordingSink();
  const result = await ingest(ReadableStream.from(randomChunks(bytes, 7, 9000)), out.sink);
  assertEquals(result, {
    bytes: bytes.length,
    blocks: expected.blocks.length,
    truncated: undefined,
  });
  assertEquals(out.bytesIn, bytes.length);
  assertEquals(out.headers.length, 1);
  assertEquals(out.headers[0].bytes, expected.header.bytes);
  assertEquals(
    out.blocks.map((b) => [b.track, b.time]),
    expected.blocks.map((b) => [b.track, b.time]),
  );
  assertGreater(out.clusterEnds, 0); // unpaced: the source's Cluster ends go to the sink
});

Deno.test("ingest delivers every block before malformed bytes, then rejects and cancels the source", async () => {
  const sample = await readFixture("sample.webm");
  const cut = 200_000;
  // The garbage completes the block cut at 200,000; the next header in it is refused.
  const before = blocksIn(sample.subarray(0, cut), garbage());
  assertEquals(before, blocksIn(sample.subarray(0, cut)) + 1);
  const { stream, state } = trackedSource([
    sample.subarray(0, cut),
    garbage(),
    sample.subarray(cut), // never read: the ingest stops at the fault
  ]);
  const out = recordingSink();
  const error = await assertRejects(() => ingest(stream, out.sink), EbmlSyntaxError);
  assertEquals(error.offset, 200_080);
  assertEquals(out.blocks.length, before);
  assertEquals(state.cancelled, true);
  assertLess(state.pulls, 3);
});

Deno.test("ingest resolves with truncated when the input stops inside an element, after every block", async () => {
  const bytes = await readFixture("truncated.webm");
  const out = recordingSink();
  const result = await ingest(ReadableStream.from(randomChunks(bytes, 2)), out.sink);
  assertInstanceOf(result.truncated, EbmlSyntaxError);
  assertGreater(result.blocks, 100);
  assertEquals(result.blocks, out.blocks.length);
  assertEquals(result.bytes, bytes.length);
});

Deno.test("ingest starts a new parser where shouldRestart says a connection begins", async () => {
  const sample = await readFixture("sample.webm");
  const cut = 150_001; // inside an element: the first connection ends mid-element
  const first = blocksIn(sample.subarray(0, cut));
  const chunks = [sample.subarray(0, 100_000), sample.subarray(100_000, cut), sample];
  let read = 0;
  const { log, lines } = recorder();
  const out = recordingSink();
  const result = await ingest(ReadableStream.from(chunks), out.sink, {
    log,
    shouldRestart: () => read++ === 2,
  });
  assertEquals(result.truncated, undefined);
  assertEquals(result.bytes, cut + sample.length);
  // The new connection's header goes to the sink too, which continues the stream.
  assertEquals(out.headers.length, 2);
  assertEquals(out.blocks.length, first + demux(sample).blocks.length);
  assertEquals(lines.filter((l) => l.startsWith("warn")).length, 1);
  assertMatch(
    lines.find((l) => l.startsWith("warn")) ?? "",
    /previous connection ended mid-element/,
  );
});

Deno.test("ingest refuses empty and non-Matroska input with InputFormatError, even in tiny chunks", async () => {
  const out = recordingSink();
  const empty = await assertRejects(
    () => ingest(ReadableStream.from([]), out.sink),
    InputFormatError,
  );
  assertEquals(empty.format, "empty");
  const mp4 = new TextEncoder().encode("\0\0\0\x20ftypisom\0\0\0\0");
  const error = await assertRejects(
    () => ingest(ReadableStream.from([mp4]), out.sink),
    InputFormatError,
  );
  assertEquals(error.format, "mp4");
  // In one-byte chunks the check waits for four bytes, then refuses them.
  const tiny = Array.from(mp4, (_, i) => mp4.subarray(i, i + 1));
  await assertRejects(() => ingest(ReadableStream.from(tiny), out.sink), InputFormatError);
  // The EBML magic split over several chunks is recognized.
  const bytes = await readFixture("sample.webm");
  const split = [bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)];
  assertEquals((await ingest(ReadableStream.from(split), out.sink)).bytes, bytes.length);
});

Deno.test("ingest of EBML without Tracks and Cluster rejects with EbmlSyntaxError", async () => {
  const ebmlOnly = new Uint8Array([0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, 0x77]);
  await assertRejects(
    () => ingest(ReadableStream.from([ebmlOnly]), recordingSink().sink),
    EbmlSyntaxError,
    "before any Tracks and Cluster",
  );
});

Deno.test("ingest refuses an element over maxElementSize with RangeError", async () => {
  const bytes = await readFixture("sample.webm");
  await assertRejects(
    () => ingest(ReadableStream.from([bytes]), recordingSink().sink, { maxElementSize: 100 }),
    RangeError,
  );
});

Deno.test("ingest with realtime paces blocks by their timestamps and drops the source's Cluster ends", async () => {
  const bytes = await readFixture("sample.webm");
  const { blocks } = demux(bytes);
  // The first 300 ms of media: 200 ms go at once (preroll), the rest take about 100 ms.
  const scale = 1; // sample.webm has a TimestampScale of 1 ms
  const upTo = blocks.findIndex((b) => b.time * scale > blocks[0].time + 300);
  assert(upTo > 0);
  const out = recordingSink();
  const controller = new AbortController();
  const start = performance.now();
  const done = ingest(ReadableStream.from([bytes]), out.sink, {
    realtime: true,
    preroll: 200,
    signal: controller.signal,
  });
  while (out.blocks.length < upTo) await new Promise((r) => setTimeout(r, 5));
  const elapsed = performance.now() - start;
  controller.abort();
  const result = await done;
  assertGreater(elapsed, 80);
  assertLess(result.blocks, blocks.length); // stopped by the signal, not the end of input
  assertEquals(result.truncated, undefined);
  assertEquals(out.clusterEnds, 0);
});

Deno.test("ingest resolves early when its signal aborts, and cancels a source that waits", async () => {
  const bytes = await readFixture("sample.webm");
  let cancelled = false;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(bytes.subarray(0, 100_000)); // then nothing more: a live source
    },
    cancel() {
      cancelled = true;
    },
  });
  const controller = new AbortController();
  const out = recordingSink();
  const done = ingest(stream, out.sink, { signal: controller.signal });
  while (out.blocks.length === 0) await new Promise((r) => setTimeout(r, 5));
  controller.abort();
  const result = await done;
  assertEquals(result, { bytes: 100_000, blocks: out.blocks.length });
  assertEquals(cancelled, true);
});

Deno.test("ingest rejects with the source's own error, after the blocks it delivered before it", async () => {
  const bytes = await readFixture("sample.webm");
  const cut = 150_000;
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ === 0) controller.enqueue(bytes.subarray(0, cut));
      else controller.error(new Deno.errors.ConnectionReset("The origin hung up"));
    },
  }, { highWaterMark: 0 });
  const out = recordingSink();
  await assertRejects(() => ingest(stream, out.sink), Deno.errors.ConnectionReset, "hung up");
  assertEquals(out.blocks.length, blocksIn(bytes.subarray(0, cut)));
});

Deno.test("ingest checks each connection's first bytes, and drops a connection of fewer than four", async () => {
  const bytes = await readFixture("sample.webm");
  // A connection that gave two bytes, then the whole file on a new one.
  let read = 0;
  const out = recordingSink();
  const result = await ingest(
    ReadableStream.from([bytes.subarray(0, 2), bytes]),
    out.sink,
    { shouldRestart: () => read++ === 1 },
  );
  assertEquals(result.blocks, demux(bytes).blocks.length);
  assertEquals(out.headers.length, 1);
  // A new connection that is not EBML is refused, though the first one was fine.
  read = 0;
  const error = await assertRejects(
    () =>
      ingest(
        ReadableStream.from([bytes, new TextEncoder().encode("HTTP/1.1 502 Bad Gateway")]),
        recordingSink().sink,
        { shouldRestart: () => read++ === 1 },
      ),
    InputFormatError,
  );
  assertEquals(error.format, "text");
});
