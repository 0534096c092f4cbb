import { assertEquals } from "@std/assert";
import { AudioTimeline } from "../lib/mp4/audio_timeline.ts";

Deno.test("AudioTimeline puts AAC at 44.1 kHz back to back despite millisecond block times", () => {
  const timeline = new AudioTimeline();
  // Frame k starts at k * 1024 samples; Matroska stores round(k * 1024 / 44.1) ms.
  const exact = Array.from({ length: 500 }, (_, k) => k * 1024);
  const fromMs = exact.map((t) => Math.round(Math.round(t / 44.1) * 44.1));
  assertEquals(fromMs.map((t) => timeline.push(t, 1024)), exact);
  assertEquals(timeline.anchors, 1);
});

Deno.test("AudioTimeline re-anchors on a gap; drops frames that overlap the previous one", () => {
  const timeline = new AudioTimeline();
  const times = [0, 960, 1920, 10_000, 10_960, 5_000, 11_300, 11_919].map((t) =>
    timeline.push(t, 960)
  );
  // 5_000 and 11_300 start more than half a frame before 11_920, where the frame of 10_960 ends: dropped.
  assertEquals(times, [0, 960, 1920, 10_000, 10_960, undefined, undefined, 11_920]);
  assertEquals([timeline.anchors, timeline.dropped], [2, 2]);
  // Exactly half a frame off, either way, still follows the timeline.
  const edge = new AudioTimeline();
  assertEquals([0, 960 + 480, 1920 - 480].map((t) => edge.push(t, 960)), [0, 960, 1920]);
});

Deno.test("AudioTimeline drops the overlapping frame of an ffmpeg -stream_loop splice", () => {
  // AAC at 48 kHz in ms: ... 6016, then the next loop's first frame at 6017, then 6038.
  const timeline = new AudioTimeline();
  const ms = [5973, 5994, 6016, 6017, 6038, 6059];
  const got = ms.map((t) => timeline.push(t * 48, 1024));
  const kept = got.filter((t) => t !== undefined) as number[];
  assertEquals(got[3], undefined);
  // What is kept is back to back: never a negative or zero duration.
  for (let i = 1; i < kept.length; i++) assertEquals(kept[i] - kept[i - 1], 1024);
});
