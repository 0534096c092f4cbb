import { assert, assertEquals, assertGreater, assertStrictEquals, assertThrows } from "@std/assert";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { readElements } from "../lib/ebml/read_elements.ts";
import { UNKNOWN_SIZE } from "../lib/ebml/vint.ts";
import { readSimpleBlockParts } from "../lib/matroska/block.ts";
import { contentTypeOf } from "../lib/matroska/live_header.ts";
import { MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import { demux, parseChunks, readFixture } from "./_util.ts";

Deno.test("MatroskaDemuxer knows the tracks, codecs and DocType of each fixture", async () => {
  const cases: Array<[string, string, string[], string]> = [
    ["sample.webm", "webm", ["video V_VP8", "audio A_OPUS"], "video/webm"],
    [
      "h264_aac.mkv",
      "matroska",
      ["video V_MPEG4/ISO/AVC", "audio A_AAC"],
      "video/x-matroska",
    ],
    ["audio_only.webm", "webm", ["audio A_OPUS"], "audio/webm"],
  ];
  for (const [name, docType, tracks, contentType] of cases) {
    const { header } = demux(await readFixture(name));
    assertEquals(header.docType, docType);
    assertEquals(header.tracks.map((t) => `${t.kind} ${t.codecId}`), tracks);
    assertEquals(contentTypeOf(header), contentType);
  }
  const { header } = demux(await readFixture("sample.webm"));
  assertEquals(header.tracks[0].width, 320);
  assertEquals(header.tracks[0].height, 240);
  assertEquals(header.tracks[1].sampleRate, 48000);
});

Deno.test("MatroskaDemuxer's live header has an unknown-size Segment, Info without Duration, no SeekHead or Cues", async () => {
  for (const name of ["sample.webm", "h264_aac.mkv", "h264_blockgroups.mkv"]) {
    const source = await readFixture(name);
    const { header } = demux(source);
    const { events, error } = parseChunks([header.bytes]);
    assertEquals(error, undefined);
    const ids = events.map((e) => `${e.type}:${e.id}`);
    assertEquals(ids[0], `element:${ID.EBML}`);
    const segment = events.find((e) => e.id === ID.Segment && e.type === "start");
    assertEquals(segment?.size, UNKNOWN_SIZE);
    const top = events.filter((e) => e.type === "element").map((e) => e.id);
    assert(top.includes(ID.Info) && top.includes(ID.Tracks), name);
    const info = events.find((e) => e.id === ID.Info)!;
    const infoChildren = readElements(new Uint8Array(info.data!));
    assert(
      !infoChildren.some((c) => c.id === ID.Duration),
      `${name}: Duration dropped`,
    );
    assert(
      infoChildren.some((c) => c.id === ID.TimestampScale),
      `${name}: TimestampScale kept`,
    );
    // The source's EBML header is sent exactly as received.
    assertEquals(
      Array.from(header.bytes.subarray(0, events[1].offset)),
      Array.from(source.subarray(0, events[1].offset)),
    );
    for (const skipped of [ID.SeekHead, ID.Cues, ID.Chapters]) {
      assert(
        !containsId(header.bytes, skipped),
        `${name}: 0x${skipped.toString(16)} dropped`,
      );
    }
  }
});

function containsId(bytes: Uint8Array, id: number): boolean {
  const pattern = [
    (id >>> 24) & 0xff,
    (id >>> 16) & 0xff,
    (id >>> 8) & 0xff,
    id & 0xff,
  ];
  outer: for (let i = 0; i + 4 <= bytes.length; i++) {
    for (let k = 0; k < 4; k++) if (bytes[i + k] !== pattern[k]) continue outer;
    return true;
  }
  return false;
}

Deno.test("MatroskaDemuxer reads keyframes from SimpleBlock flags and from BlockGroups without ReferenceBlock", async () => {
  const simple = demux(await readFixture("h264_aac.mkv"));
  const groups = demux(await readFixture("h264_blockgroups.mkv"));
  const videoKeys = (r: ReturnType<typeof demux>) =>
    r.blocks.filter((b) => b.track === 1 && b.keyframe).map((b) => b.time);
  assertEquals(videoKeys(simple).length, 3);
  assert(groups.blocks.every((b) => b.group));
  assertEquals(videoKeys(groups), videoKeys(simple));
  const frames = (r: ReturnType<typeof demux>) => r.blocks.filter((b) => b.track === 1).length;
  assertEquals(frames(groups), frames(simple));
});

Deno.test("MatroskaDemuxer computes absolute block times from Cluster Timestamp and relative time", async () => {
  const { blocks } = demux(await readFixture("sample.webm"));
  const video = blocks.filter((b) => b.track === 1);
  assertEquals(video.length, 250);
  // 25 fps: 40 ms apart, whatever Cluster each block is in.
  for (let i = 1; i < video.length; i++) {
    const delta = video[i].time - video[i - 1].time;
    assert(delta >= 39 && delta <= 41, `frame ${i}: ${delta} ms`);
  }
});

Deno.test("MatroskaDemuxer continues a second Segment with increasing timestamps (a looped file)", async () => {
  const bytes = await readFixture("sample.webm");
  const { blocks } = demux([bytes, bytes]);
  const single = demux(bytes).blocks;
  assertEquals(blocks.length, 2 * single.length);
  const video = blocks.filter((b) => b.track === 1);
  for (let i = 1; i < video.length; i++) {
    const delta = video[i].time - video[i - 1].time;
    // At the seam the gap can be a frame or two: the audio track runs past the last video frame.
    assert(delta > 0 && delta <= 120, `frame ${i}: ${delta} ms`);
  }
  assertGreater(video[video.length - 1].time, 19_900);
});

Deno.test("MatroskaDemuxer throws TypeError when a new Segment changes the tracks", async () => {
  const a = await readFixture("sample.webm");
  const b = await readFixture("h264_aac.mkv");
  const reader = new EbmlReader();
  const demuxer = new MatroskaDemuxer();
  const emit = (e: Parameters<MatroskaDemuxer["push"]>[0]) => demuxer.push(e, () => {});
  reader.push(a, emit);
  assertThrows(() => reader.push(b, emit), TypeError, "changes the tracks");
});

Deno.test("readSimpleBlockParts keeps the pieces as views; joins a first piece too short for the header", () => {
  // Track 1, time +5, keyframe; frames 0xAA 0xBB | 0xCC.
  const head = new Uint8Array([0x81, 0x00, 0x05, 0x80, 0xAA, 0xBB, 0, 0, 0, 0, 0, 0]);
  const tail = new Uint8Array([0xCC]);
  const block = readSimpleBlockParts(head, [tail], 1000);
  assertEquals([block.track, block.time, block.keyframe], [1, 1005, true]);
  assertStrictEquals(block.frames.buffer, head.buffer);
  assertStrictEquals(block.more?.[0], tail);
  // Four bytes of header in the first piece, the rest later: read from the pieces joined.
  const short = readSimpleBlockParts(head.subarray(0, 3), [head.subarray(3, 6), tail], 1000);
  assertEquals([short.track, short.time, short.keyframe, short.more], [1, 1005, true, undefined]);
  assertEquals(Array.from(short.frames), [0xAA, 0xBB, 0xCC]);
});
