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

Deno.test("AudioTimeline re-anchors on a gap or a jump back of more than half a frame", () => {
  const timeline = new AudioTimeline();
  const times = [0, 960, 1920, 10_000, 10_960, 5_000, 5_959].map((t) => timeline.push(t, 960));
  assertEquals(times, [0, 960, 1920, 10_000, 10_960, 5_000, 5_960]);
  assertEquals(timeline.anchors, 3);
  // Exactly half a frame off still follows the timeline.
  const edge = new AudioTimeline();
  assertEquals([0, 960 + 480].map((t) => edge.push(t, 960)), [0, 960]);
});
