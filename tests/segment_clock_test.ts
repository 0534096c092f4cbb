import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  type Boundary,
  SegmentClock,
  type SegmentClockOptions,
} from "../lib/package/segment_clock.ts";

const OPTIONS: SegmentClockOptions = {
  timestampScale: 1_000_000,
  video: true,
  targetDuration: 2,
  minSegment: 1,
  partTarget: 0.5,
  firstSegment: 1000,
};

/** Feeds `count` frames `interval` ms apart, a keyframe every `gop` frames, and collects boundaries. */
function run(options: Partial<SegmentClockOptions>, count: number, interval: number, gop: number) {
  const clock = new SegmentClock({ ...OPTIONS, ...options });
  const out: Boundary[] = [];
  for (let i = 0; i < count; i++) {
    const boundary = clock.next(i * interval, i % gop === 0);
    if (boundary) out.push(boundary);
  }
  return { clock, out };
}

function segmentsOf(out: Boundary[]) {
  return out.filter((b) => b.newSegment);
}

Deno.test("SegmentClock starts segments at keyframes, parts within the part target", () => {
  const { out, clock } = run({}, 250, 40, 50); // 25 fps, 2 s GOPs, 10 s
  const segments = segmentsOf(out);
  assertEquals(segments.map((b) => b.time), [0, 2000, 4000, 6000, 8000]);
  assertEquals(segments.map((b) => b.segment), [1000, 1001, 1002, 1003, 1004]);
  assert(segments.every((b) => b.independent && b.part === 0));
  assertEquals(clock.split, false);
  // Parts: never longer than 500 ms, and numbered from 0 in each segment.
  for (let i = 1; i < out.length; i++) {
    assert(out[i].time - out[i - 1].time <= 500, `part of ${out[i].time - out[i - 1].time} ms`);
    assertEquals(out[i].part, out[i].newSegment ? 0 : out[i - 1].part + 1);
  }
  assertEquals(out.filter((b) => b.segment === 1001).map((b) => b.time), [
    2000,
    2480,
    2960,
    3440,
    3920,
  ]);
});

Deno.test("SegmentClock splits a GOP longer than the target duration, marking it dependent", () => {
  const { out, clock } = run({}, 500, 40, 250); // 10 s GOPs
  const segments = segmentsOf(out);
  assertEquals(segments.map((b) => b.time), [
    0,
    2000,
    4000,
    6000,
    8000,
    10000,
    12000,
    14000,
    16000,
    18000,
  ]);
  assertEquals(segments.map((b) => b.independent), [
    true,
    false,
    false,
    false,
    false,
    true,
    false,
    false,
    false,
    false,
  ]);
  assertEquals(clock.split, true);
});

Deno.test("SegmentClock keeps short GOPs together up to the minimum segment", () => {
  const { out } = run({}, 100, 40, 10); // 0.4 s GOPs
  const segments = segmentsOf(out);
  // A keyframe closes a segment once it is at least 1 s long: every 1.2 s here.
  assertEquals(segments.map((b) => b.time), [0, 1200, 2400, 3600]);
  // A keyframe inside a part does not cut it: parts stay near the part target.
  assertEquals(out.filter((b) => b.segment === 1000).map((b) => b.time), [0, 480, 960]);
});

Deno.test("SegmentClock waits for the first video keyframe and cuts audio-only by time", () => {
  const video = new SegmentClock(OPTIONS);
  assertEquals(video.next(0, false), undefined);
  assertEquals(video.next(40, true)?.segment, 1000);
  const { out } = run({ video: false }, 300, 20, 1_000_000); // Opus: 20 ms frames, 6 s
  assertEquals(segmentsOf(out).map((b) => b.time), [0, 2000, 4000]);
  assert(out.every((b) => b.independent));
  assertEquals(out.filter((b) => b.segment === 1000).map((b) => b.time), [0, 500, 1000, 1500]);
});

Deno.test("SegmentClock numbers the next segment and refuses a part target above the target", () => {
  const clock = new SegmentClock(OPTIONS);
  assertEquals(clock.nextSegment, 1000);
  clock.next(0, true);
  assertEquals(clock.nextSegment, 1001);
  assertThrows(() => new SegmentClock({ ...OPTIONS, partTarget: 3 }), RangeError);
  assertThrows(() => new SegmentClock({ ...OPTIONS, partTarget: 0 }), RangeError);
});

Deno.test("SegmentClock cuts a stream with B-frames at keyframes, on its newest time", () => {
  // Decode order of a closed 2 s GOP at 25 fps with two B-frames: I0 P3 B1 B2 P6 B4 B5 …
  const clock = new SegmentClock(OPTIONS);
  const out: Boundary[] = [];
  for (let gop = 0; gop < 4; gop++) {
    const order = [0];
    for (let p = 3; p < 50; p += 3) order.push(p, p - 2, p - 1);
    order.push(49, 48);
    for (const frame of order.filter((f, i, a) => f < 50 && a.indexOf(f) === i)) {
      const boundary = clock.next((gop * 50 + frame) * 40, frame === 0);
      if (boundary) out.push(boundary);
    }
  }
  assertEquals(segmentsOf(out).map((b) => [b.time, b.independent]), [
    [0, true],
    [2000, true],
    [4000, true],
    [6000, true],
  ]);
  assertEquals(clock.split, false);
  for (let i = 1; i < out.length; i++) assert(out[i].time - out[i - 1].time <= 500);
});
