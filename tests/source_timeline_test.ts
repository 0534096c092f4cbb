import { assertEquals, assertStrictEquals } from "@std/assert";
import type { Block } from "../lib/matroska/block.ts";
import { SourceTimeline } from "../lib/stream/source_timeline.ts";

const VIDEO = 1;
const AUDIO = 2;

function block(track: number, time: number, keyframe = true): Block {
  return { track, time, keyframe, group: false, flags: 0, frames: new Uint8Array(), extra: [] };
}

/** Video every `step` and audio every 20 units, from `from` to `to` (inclusive), by time. */
function source(from: number, to: number, step = 40): Block[] {
  const blocks: Block[] = [];
  for (let t = from; t <= to; t += step) blocks.push(block(VIDEO, t, (t - from) % 200 === 0));
  for (let t = from; t <= to; t += 20) blocks.push(block(AUDIO, t));
  return blocks.sort((a, b) => a.time - b.time);
}

Deno.test("SourceTimeline passes one source's blocks through as they are", () => {
  const timeline = new SourceTimeline(VIDEO);
  for (const b of source(1000, 2000)) assertStrictEquals(timeline.rebase(b), b);
  assertEquals(timeline.newest, 2000);
  assertEquals(timeline.newestRaw, 2000);
  assertEquals(timeline.sources, 1);
});

Deno.test("SourceTimeline continues a new source one video frame after the newest block of any track", () => {
  const timeline = new SourceTimeline(VIDEO);
  for (const b of source(0, 400)) timeline.rebase(b);
  timeline.rebase(block(AUDIO, 410)); // audio ends after the last video frame (400)
  timeline.handover();
  // The new source counts from 0 again: it continues at 410 + 40 (the video's frame interval).
  const times = source(0, 200).map((b) => timeline.rebase(b).time);
  assertEquals(times[0], 450);
  assertEquals(times.at(-1), 650);
  for (let i = 1; i < times.length; i++) assertEquals(times[i] >= times[i - 1], true);
  assertEquals(timeline.newest, 650);
  // The source's own clock is what its origin reports, even though it is behind the old one's.
  assertEquals(timeline.newestRaw, 200);
  assertEquals(timeline.sources, 2);
});

Deno.test("SourceTimeline shifts a source that starts later back to the stream's edge", () => {
  const timeline = new SourceTimeline(VIDEO);
  for (const b of source(0, 400)) timeline.rebase(b);
  timeline.handover();
  assertEquals(timeline.rebase(block(VIDEO, 90_000)).time, 440);
  assertEquals(timeline.rebase(block(AUDIO, 90_020)).time, 460);
  assertEquals(timeline.newestRaw, 90_020);
});

Deno.test("SourceTimeline spaces each handover by the current source's own frame interval", () => {
  const timeline = new SourceTimeline(VIDEO);
  for (const b of source(0, 400, 40)) timeline.rebase(b);
  timeline.handover();
  // The second source has 100-unit frames: the next handover steps by those, not by 40.
  for (const b of source(0, 300, 100)) timeline.rebase(b);
  assertEquals(timeline.newest, 440 + 300);
  timeline.handover();
  assertEquals(timeline.rebase(block(VIDEO, 0)).time, 740 + 100);
  assertEquals(timeline.sources, 3);
});

Deno.test("SourceTimeline steps one unit when the primary track has no interval yet, and does not shift before any block", () => {
  const early = new SourceTimeline(VIDEO);
  early.handover(); // a handover before any block: nothing to continue from
  const first = block(VIDEO, 5000);
  assertEquals(early.rebase(first).time, 5000);
  const timeline = new SourceTimeline(undefined); // no primary track: no interval known
  timeline.rebase(block(AUDIO, 300));
  timeline.handover();
  assertEquals(timeline.rebase(block(AUDIO, 0)).time, 301);
});
