import { assert, assertEquals, assertThrows } from "@std/assert";
import { DtsEstimator, measureReorderDepth } from "../lib/mp4/dts_estimator.ts";
import { readReorderDepth } from "../lib/mp4/reorder_depth.ts";
import { demuxWithExtras } from "../bench/_mp4_remux.ts";
import { prng, readFixture } from "./_util.ts";

/**
 * Decode-order PTS (frame units) of GOPs of `gop` frames whose B-frames come in runs of up to
 * `maxRun`, each run coded as a binary pyramid (middle first) after the reference that ends it:
 * the shape x264 makes with `-bf N -b-pyramid normal`.
 */
function decodeOrder(frames: number, gop: number, maxRun: number, rand: () => number): number[] {
  const out: number[] = [];
  const pyramid = (from: number, to: number) => {
    if (from > to) return;
    const mid = (from + to) >> 1;
    out.push(mid);
    pyramid(from, mid - 1);
    pyramid(mid + 1, to);
  };
  for (let start = 0; start < frames; start += gop) {
    out.push(start);
    for (let ref = start; ref < Math.min(start + gop, frames) - 1;) {
      const run = Math.min(
        Math.floor(rand() * (maxRun + 1)),
        Math.min(start + gop, frames) - ref - 2,
      );
      const next = ref + run + 1;
      out.push(next);
      pyramid(ref + 1, next - 1);
      ref = next;
    }
  }
  return out;
}

Deno.test("DtsEstimator with depth 0 gives the PTS exactly", () => {
  const dts = new DtsEstimator();
  assertEquals([0, 40, 80, 120, 167].map((p) => dts.push(p)), [0, 40, 80, 120, 167]);
  assertEquals(dts.violations, 0);
});

Deno.test("DtsEstimator gives DTS that never decrease, never pass the PTS, and are the PTS sorted", () => {
  const rand = prng(13);
  for (let round = 0; round < 50; round++) {
    const maxRun = 1 + Math.floor(rand() * 4);
    const order = decodeOrder(200, 10 + Math.floor(rand() * 40), maxRun, rand);
    const depth = measureReorderDepth(order);
    assert(depth <= maxRun, `depth ${depth} for runs of ${maxRun}`);
    const estimator = new DtsEstimator({ reorderDepth: depth, frameDuration: 1 });
    const dts = order.map((p) => estimator.push(p));
    const sorted = [...order].sort((a, b) => a - b);
    for (let j = 0; j < order.length; j++) {
      assert(dts[j] <= order[j], `round ${round}: DTS ${dts[j]} > PTS ${order[j]} at ${j}`);
      if (j > 0) assert(dts[j] >= dts[j - 1], `round ${round}: DTS decreases at ${j}`);
      // After the first `depth` frames, the DTS is the (j - depth)-th smallest PTS: no gaps.
      assertEquals(dts[j], j < depth ? sorted[0] - (depth - j) : sorted[j - depth]);
    }
    assertEquals(estimator.violations, 0);
  }
});

Deno.test("DtsEstimator grows its depth when frames come reordered deeper than declared", () => {
  const estimator = new DtsEstimator({ reorderDepth: 0 });
  const pts = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11];
  const dts = pts.map((p) => estimator.push(p));
  // Frames 1 and 2 come after DTS 3 was given: both get 3, and the depth grows twice.
  assertEquals(estimator.violations, 2);
  assertEquals(estimator.reorderDepth, 2);
  assertEquals(dts, [0, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10]);
  dts.forEach((d, j) => j >= 4 && assert(d <= pts[j], `DTS above PTS at ${j}`));
});

Deno.test("DtsEstimator refuses a depth above 0 without a frame duration, and bad depths", () => {
  assertThrows(() => new DtsEstimator({ reorderDepth: 1 }), TypeError, "frameDuration");
  assertThrows(() => new DtsEstimator({ reorderDepth: -1 }), TypeError);
  assertThrows(() => new DtsEstimator({ reorderDepth: 1.5, frameDuration: 1 }), TypeError);
});

/** Bits from a string of 0s and 1s, as bytes (padded with a stop bit and zeros). */
function bits(s: string): Uint8Array {
  const all = (s + "1").padEnd(Math.ceil((s.length + 1) / 8) * 8, "0");
  return new Uint8Array(all.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
}

function avcC(sps: Uint8Array): Uint8Array {
  return new Uint8Array([1, sps[1], sps[2], sps[3], 0xff, 0xe1, 0, sps.length, ...sps, 0]);
}

Deno.test("readReorderDepth reads x264's max_num_reorder_frames from the fixture's avcC", async () => {
  const { extras } = demuxWithExtras([await readFixture("h264_aac.mkv")]);
  const codecPrivate = extras.get(1)?.codecPrivate;
  // libx264 -bf 2 with its default B-pyramid declares 2 (make_fixtures.sh).
  assertEquals(readReorderDepth({ codecId: "V_MPEG4/ISO/AVC", codecPrivate }), 2);
});

Deno.test("readReorderDepth gives 0 for Baseline, the VUI's value for High, nothing without a VUI", () => {
  // seq_parameter_set_id 0, log2_max_frame_num 4, poc type 2, 1 ref, 320x240 (20 x 15 MBs),
  // frame_mbs_only, direct_8x8, no cropping, no VUI (H.264 §7.3.2.1.1).
  const tail = "1" + "1" + "011" + "010" + "0" + "000010100" + "0001111" + "1" + "1" + "0" + "0";
  const baseline = new Uint8Array([0x67, 66, 0xc0, 30, ...bits(tail)]);
  assertEquals(readReorderDepth({ codecId: "V_MPEG4/ISO/AVC", codecPrivate: avcC(baseline) }), 0);
  // High: chroma_format_idc 1, 8-bit, no scaling matrices, then the same tail.
  const high = new Uint8Array([
    0x67,
    100,
    0,
    30,
    ...bits("1" + "010" + "1" + "1" + "0" + "0" + tail.slice(1)),
  ]);
  assertEquals(
    readReorderDepth({ codecId: "V_MPEG4/ISO/AVC", codecPrivate: avcC(high) }),
    undefined,
  );
  // The same with a VUI whose only part is bitstream_restriction: max_num_reorder_frames 3.
  const vui = "0".repeat(8) + "1" + "1" + "1111" + "00100" + "00101";
  const said = new Uint8Array([
    0x67,
    100,
    0,
    30,
    ...bits("1" + "010" + "1" + "1" + "0" + "0" + tail.slice(1, -1) + "1" + vui),
  ]);
  assertEquals(readReorderDepth({ codecId: "V_MPEG4/ISO/AVC", codecPrivate: avcC(said) }), 3);
  assertEquals(
    readReorderDepth({
      codecId: "V_MPEG4/ISO/AVC",
      codecPrivate: avcC(new Uint8Array([0x67, 100])),
    }),
    undefined,
  );
  assertEquals(readReorderDepth({ codecId: "V_AV1" }), 0);
});
