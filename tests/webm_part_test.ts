import { assert, assertEquals, assertThrows } from "@std/assert";
import { concatBytes } from "../lib/ebml/writer.ts";
import { singleTrackHeader } from "../lib/matroska/track_header.ts";
import { type WebmFrame, writeWebmPart } from "../lib/package/webm_part.ts";
import { decodeBytes, demux, readFixture } from "./_util.ts";

/** Each track of `fixture` as a WebM DASH stream: its single-track init, then 0.5 s Clusters. */
async function perTrackFiles(fixture: string) {
  const { header, blocks } = demux(await readFixture(fixture));
  const files = new Map<number, Uint8Array>();
  for (const track of header.tracks) {
    const pieces: Uint8Array[] = [singleTrackHeader(header, track.number)];
    let frames: WebmFrame[] = [];
    let start = 0;
    const flush = () => {
      if (frames.length > 0) pieces.push(...writeWebmPart(track.number, start, frames).parts);
      frames = [];
    };
    for (const block of blocks) {
      if (block.track !== track.number) continue;
      if (frames.length === 0) start = block.time;
      else if (block.time - start >= 500) {
        flush();
        start = block.time;
      }
      frames.push({ time: block.time, keyframe: block.keyframe, data: block.frames });
    }
    flush();
    files.set(track.number, concatBytes(pieces));
  }
  return { header, blocks, files };
}

function hasTags(bytes: Uint8Array): boolean {
  const tags = [0x12, 0x54, 0xC3, 0x67];
  return bytes.some((_, i) => tags.every((b, k) => bytes[i + k] === b));
}

Deno.test("singleTrackHeader and writeWebmPart make a WebM stream of each track alone", async () => {
  const source = await readFixture("sample.webm");
  assert(hasTags(source), "the fixture has Tags to leave out");
  const { header, blocks, files } = await perTrackFiles("sample.webm");
  assertEquals(files.size, 2);
  for (const [number, file] of files) {
    const init = singleTrackHeader(header, number);
    assert(!hasTags(init), `track ${number}: no Tags in the init`);
    // The project's own demuxer reads it back: one track, the same frames, byte for byte.
    const back = demux(file);
    assertEquals(back.header.tracks.map((t) => t.number), [number]);
    assertEquals(back.header.tracks[0], header.tracks.find((t) => t.number === number));
    assertEquals(back.header.timestampScale, header.timestampScale);
    const original = blocks.filter((b) => b.track === number);
    assertEquals(back.blocks.length, original.length);
    back.blocks.forEach((b, i) => {
      assertEquals(b.time, original[i].time);
      assertEquals(b.keyframe, original[i].keyframe);
      assertEquals(b.frames, original[i].frames);
    });
    // And ffmpeg decodes it with no complaint.
    const decoded = await decodeBytes(file, "webm");
    assertEquals([decoded.code, decoded.text], [0, ""]);
  }
});

Deno.test("singleTrackHeader refuses a track the stream does not have", async () => {
  const { header } = demux(await readFixture("sample.webm"));
  assertThrows(() => singleTrackHeader(header, 9), RangeError, "no track 9");
});

Deno.test("writeWebmPart refuses frames beyond the int16 relative time", () => {
  const frame = { time: 40_000, keyframe: false, data: new Uint8Array(1) };
  assertThrows(() => writeWebmPart(1, 0, [frame]), RangeError, "too far");
});
