import { assertEquals } from "@std/assert";
import type { Block } from "../lib/matroska/block.ts";
import { KeyframeWatch, type KeyframeWatchOptions } from "../lib/stream/keyframe_watch.ts";

function frame(time: number, keyframe: boolean): Block {
  return { track: 1, time, keyframe, group: false, flags: 0, frames: new Uint8Array(), extra: [] };
}

function watch(options: KeyframeWatchOptions = {}) {
  const calls: string[] = [];
  const w = new KeyframeWatch({
    onLongGap: (s) => calls.push(`gap ${s}`),
    onKeyframe: (s) => calls.push(`keyframe ${s}`),
    ...options,
  });
  return { w, calls };
}

Deno.test("KeyframeWatch reports a long gap once, and the keyframe that ends it", () => {
  const { w, calls } = watch();
  w.observe(frame(0, true));
  for (let t = 40; t <= 12_000; t += 40) w.observe(frame(t, false));
  assertEquals(calls, ["gap 10"]);
  assertEquals(w.inGap, true);
  w.observe(frame(12_040, true));
  assertEquals(calls, ["gap 10", "keyframe 12"]);
  assertEquals(w.inGap, false);
  // A second gap is a new one: reported again.
  for (let t = 12_080; t <= 23_000; t += 40) w.observe(frame(t, false));
  assertEquals(calls, ["gap 10", "keyframe 12", "gap 10"]);
});

Deno.test("KeyframeWatch says nothing of regular keyframes, nor of a keyframe after a short gap", () => {
  const { w, calls } = watch();
  for (let t = 0; t <= 60_000; t += 40) w.observe(frame(t, t % 2000 === 0));
  w.observe(frame(70_000, true)); // 10 s later, but no frame in between went unreported
  assertEquals(calls, []);
});

Deno.test("KeyframeWatch counts a video that never had a keyframe from its first frame", () => {
  const { w, calls } = watch({ limit: 1000 });
  for (let t = 5000; t <= 6000; t += 100) w.observe(frame(t, false));
  assertEquals(calls, ["gap 1"]);
});

Deno.test("KeyframeWatch with limit 0 never reports; msPerUnit scales the media time", () => {
  const off = watch({ limit: 0 });
  off.w.observe(frame(0, true));
  for (let t = 0; t <= 100_000; t += 40) off.w.observe(frame(t, false));
  assertEquals(off.calls, []);
  // TimestampScale 100,000 ns: 10 units per ms, so 20,000 units are 2 s.
  const scaled = watch({ limit: 2000, msPerUnit: 0.1 });
  scaled.w.observe(frame(0, true));
  scaled.w.observe(frame(19_990, false));
  assertEquals(scaled.calls, []);
  scaled.w.observe(frame(20_000, false));
  assertEquals(scaled.calls, ["gap 2"]);
});
