// PacingStream: real-time pacing as a stream stage.
import { assertEquals, assertGreaterOrEqual, assertLess } from "@std/assert";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import type { MatroskaBatch } from "../lib/matroska/matroska_demux_stream.ts";
import type { MatroskaEvent } from "../lib/matroska/matroska_demuxer.ts";
import { Pacer } from "../lib/ingest/pacer.ts";
import { PacingStream } from "../lib/ingest/pacing_stream.ts";

function block(time: number): MatroskaEvent {
  return {
    type: "block",
    block: {
      track: 1,
      time,
      keyframe: true,
      flags: 0x80,
      frames: new Uint8Array(1),
      group: false,
      extra: [],
    },
  };
}

const CLUSTER_END: MatroskaEvent = { type: "clusterEnd" };

Deno.test("PacingStream lets the preroll through at once, then splits the batch where it waits", async () => {
  const start = performance.now();
  const input: MatroskaBatch = { events: [block(0), block(10), block(20), block(60), block(100)] };
  const out = await Array.fromAsync(
    ReadableStream.from([input]).pipeThrough(new PacingStream({ preroll: 20 })),
  );
  const elapsed = performance.now() - start;
  // 0, 10 and 20 are due at once; 60 and 100 each after a wait.
  assertEquals(out.map((b) => b.events.length), [3, 1, 1]);
  assertGreaterOrEqual(elapsed, 70);
});

Deno.test("PacingStream drops the source's Cluster ends and keeps a fault after the events", async () => {
  const error = new EbmlSyntaxError("Input ends inside element 0xA3", 99);
  const input: MatroskaBatch[] = [
    { events: [block(0), CLUSTER_END, block(1)] },
    { events: [CLUSTER_END, block(2)], error, ended: true },
  ];
  const out = await Array.fromAsync(ReadableStream.from(input).pipeThrough(new PacingStream()));
  const events = out.flatMap((b) => b.events);
  assertEquals(events.map((e) => e.type), ["block", "block", "block"]);
  const last = out[out.length - 1];
  assertEquals(last.error, error);
  assertEquals(last.ended, true);
});

Deno.test("PacingStream shares a Pacer's clock across streams (the connections of a source)", async () => {
  const pacer = new Pacer();
  const first = await Array.fromAsync(
    ReadableStream.from([{ events: [block(0)] }]).pipeThrough(new PacingStream({ pacer })),
  );
  assertEquals(first.length, 1);
  const start = performance.now();
  await Array.fromAsync(
    ReadableStream.from([{ events: [block(200)] }]).pipeThrough(new PacingStream({ pacer })),
  );
  // The second stream waits for media time 200 on the first one's clock, not at once.
  assertGreaterOrEqual(performance.now() - start, 120);
});

Deno.test("PacingStream stops waiting when its signal aborts, and drops what was not due", async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 30);
  const start = performance.now();
  const out = await Array.fromAsync(
    ReadableStream.from([{ events: [block(0), block(5_000)] }]).pipeThrough(
      new PacingStream({ signal: controller.signal }),
    ),
  );
  assertLess(performance.now() - start, 1_000);
  assertEquals(out.flatMap((b) => b.events).length, 1);
});
