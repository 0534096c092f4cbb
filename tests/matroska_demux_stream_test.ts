// MatroskaDemuxStream: the demuxer as a stream stage, its batches and its in-band faults.
import { assert, assertEquals, assertGreater, assertInstanceOf } from "@std/assert";
import { EbmlParser } from "../lib/ebml/ebml_parser.ts";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import { type MatroskaBatch, MatroskaDemuxStream } from "../lib/matroska/matroska_demux_stream.ts";
import type { MatroskaEvent } from "../lib/matroska/matroska_demuxer.ts";
import { byteChunks, demux, FIXTURES, randomChunks, readFixture } from "./_util.ts";

function demuxStream(chunks: Uint8Array[]): Promise<MatroskaBatch[]> {
  return Array.fromAsync(
    ReadableStream.from(chunks).pipeThrough(new EbmlParser()).pipeThrough(
      new MatroskaDemuxStream(),
    ),
  );
}

/** A comparable form of Matroska events: the header's bytes, blocks' track, time and size. */
function summary(events: MatroskaEvent[]): string[] {
  return events.map((e) =>
    e.type === "header"
      ? `header ${e.header.bytes.length}`
      : e.type === "block"
      ? `block ${e.block.track} ${e.block.time} ${e.block.frames.length}`
      : "clusterEnd"
  );
}

for (const name of ["sample.webm", "h264_blockgroups.mkv", "unknown_size.webm"] as const) {
  assert(FIXTURES.includes(name));
  Deno.test(`MatroskaDemuxStream emits the same events for ${name} whole, byte by byte and in random chunks`, async () => {
    const bytes = await readFixture(name);
    const whole = (await demuxStream([bytes])).flatMap((b) => b.events);
    assertEquals(whole.filter((e) => e.type === "block").length, demux(bytes).blocks.length);
    const small = name === "sample.webm" ? bytes.subarray(0, 40_000) : bytes;
    const prefix = (await demuxStream([small])).flatMap((b) => b.events);
    const bytewise = (await demuxStream(byteChunks(small))).flatMap((b) => b.events);
    assertEquals(summary(bytewise), summary(prefix));
    for (const seed of [1, 2]) {
      const random = await demuxStream(randomChunks(bytes, seed, 20_000));
      assertEquals(summary(random.flatMap((b) => b.events)), summary(whole), `seed ${seed}`);
    }
  });
}

Deno.test("MatroskaDemuxStream emits at most one batch per parser batch, none empty but the last", async () => {
  const bytes = await readFixture("sample.webm");
  const chunks = randomChunks(bytes, 4, 30_000);
  const batches = await demuxStream(chunks);
  assert(batches.length <= chunks.length + 1);
  for (const batch of batches.slice(0, -1)) assertGreater(batch.events.length, 0);
  assertEquals(batches[batches.length - 1].ended, true);
});

Deno.test("MatroskaDemuxStream passes a truncation on after the events before it", async () => {
  const bytes = await readFixture("truncated.webm");
  const batches = await demuxStream(randomChunks(bytes, 8));
  const last = batches[batches.length - 1];
  assertEquals(last.ended, true);
  assertInstanceOf(last.error, EbmlSyntaxError);
  const blocks = batches.flatMap((b) => b.events).filter((e) => e.type === "block");
  assertGreater(blocks.length, 100);
});

Deno.test("MatroskaDemuxStream ends with the events before a demuxer fault and the fault, then closes", async () => {
  const a = await readFixture("sample.webm");
  const b = await readFixture("h264_aac.mkv");
  let cancelled = false;
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(a);
      controller.enqueue(b); // other tracks: the demuxer refuses the new Segment
    },
    cancel() {
      cancelled = true;
    },
  });
  const batches = await Array.fromAsync(
    source.pipeThrough(new EbmlParser()).pipeThrough(new MatroskaDemuxStream()),
  );
  const last = batches[batches.length - 1];
  assertInstanceOf(last.error, TypeError);
  assertEquals(last.ended, undefined);
  const blocks = batches.flatMap((batch) => batch.events).filter((e) => e.type === "block");
  assertEquals(blocks.length, demux(a).blocks.length);
  assertEquals(cancelled, true);
});
