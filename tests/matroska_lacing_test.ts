import { assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import { readLacing, unlace } from "../lib/matroska/lacing.ts";
import { demux, readFixture } from "./_util.ts";

const XIPH = 0x02;
const FIXED = 0x04;
const EBML = 0x06;

function sizes(flags: number, bytes: number[]): number[] {
  return unlace({ flags, frames: new Uint8Array(bytes) }).map((f) => f.length);
}

function offsetOf(fn: () => unknown): number {
  return (assertThrows(fn, EbmlSyntaxError) as EbmlSyntaxError).offset;
}

Deno.test("readLacing names the lacing of flags bits 1-2 (RFC 9559, section 10.2)", () => {
  assertEquals([0x80, 0x82, 0x84, 0x86, 0x08].map(readLacing), [
    "none",
    "xiph",
    "fixed",
    "ebml",
    "none",
  ]);
});

Deno.test("unlace returns an unlaced block's data as its one frame, the same view", () => {
  const frames = new Uint8Array([1, 2, 3]);
  const [only, ...rest] = unlace({ flags: 0x80, frames });
  assertStrictEquals(only, frames);
  assertEquals(rest, []);
});

Deno.test("unlace splits Xiph lacing, with 255-runs for sizes of 255 and more", () => {
  // 3 frames: 300 = 255 + 45, then 255 = 255 + 0, the last takes the 2 bytes left.
  const bytes = [2, 255, 45, 255, 0, ...new Array(300).fill(7), ...new Array(255).fill(8), 9, 9];
  const frames = unlace({ flags: XIPH, frames: new Uint8Array(bytes) });
  assertEquals(frames.map((f) => f.length), [300, 255, 2]);
  assertEquals([frames[0][0], frames[1][0], frames[2][0]], [7, 8, 9]);
  assertEquals(frames[0].byteOffset, 5, "a view of the block, not a copy");
});

Deno.test("unlace splits EBML lacing: an unsigned first size, then signed differences", () => {
  // Sizes 3, then +1 (0xC0 = 1-byte vint 64, minus bias 63), then -2 as a 2-byte vint
  // (0x5FFD = 8189, minus bias 8191), last frame = the rest (2 bytes).
  assertEquals(
    sizes(EBML, [3, 0x83, 0xc0, 0x5f, 0xfd, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4]),
    [3, 4, 2, 2],
  );
});

Deno.test("unlace splits fixed-size lacing evenly", () => {
  assertEquals(sizes(FIXED, [2, 1, 1, 2, 2, 3, 3]), [2, 2, 2]);
});

Deno.test("unlace allows empty frames (the RFC does not forbid them)", () => {
  assertEquals(sizes(XIPH, [1, 0, 5]), [0, 1]);
  assertEquals(sizes(FIXED, [1]), [0, 0]);
});

Deno.test("unlace throws EbmlSyntaxError with the offending offset on malformed laces", () => {
  // No frame count at all.
  assertEquals(offsetOf(() => unlace({ flags: XIPH, frames: new Uint8Array() }, 100)), 100);
  // Xiph size runs off the end (a 255 must be followed by another byte).
  assertEquals(offsetOf(() => sizes(XIPH, [1, 255])), 2);
  // Xiph sizes larger than the block: 10 bytes announced, 2 there.
  assertEquals(
    offsetOf(() => unlace({ flags: XIPH, frames: new Uint8Array([1, 10, 0, 0]) }, 50)),
    52,
  );
  // Fixed lacing of 2 frames over 3 bytes.
  assertEquals(offsetOf(() => sizes(FIXED, [1, 0, 0, 0])), 0);
  // EBML: truncated 2-byte vint, reserved all-ones size, a difference that goes negative.
  assertEquals(offsetOf(() => sizes(EBML, [2, 0x40])), 1);
  assertEquals(offsetOf(() => sizes(EBML, [1, 0xff, 0])), 1);
  assertEquals(offsetOf(() => sizes(EBML, [2, 0x81, 0x80, 0])), 2);
  // EBML: an invalid vint (first byte 0x00).
  assertEquals(offsetOf(() => sizes(EBML, [1, 0x00, 0])), 1);
});

Deno.test("unlace gives mkvmerge's Xiph-laced AAC frames that tile each block exactly", async () => {
  const { header, blocks } = demux(await readFixture("h264_blockgroups.mkv"));
  const audio = header.tracks.find((t) => t.kind === "audio")!.number;
  const laced = blocks.filter((b) => b.track === audio && readLacing(b.flags) === "xiph");
  assertEquals(laced.length > 10, true, "the fixture has laced AAC");
  let count = 0;
  for (const block of laced) {
    const frames = unlace(block);
    count += frames.length;
    // Frames are contiguous views that end where the block ends.
    const last = frames[frames.length - 1];
    assertStrictEquals(last.buffer, block.frames.buffer);
    assertEquals(last.byteOffset + last.length, block.frames.byteOffset + block.frames.length);
    for (let i = 1; i < frames.length; i++) {
      assertEquals(frames[i].byteOffset, frames[i - 1].byteOffset + frames[i - 1].length);
    }
    // mkvmerge laces whole AAC frames: none is empty.
    assertEquals(frames.every((f) => f.length > 0), true);
  }
  assertEquals(count > laced.length, true, "more frames than blocks");
});
