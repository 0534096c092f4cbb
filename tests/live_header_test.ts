import { assert, assertEquals } from "@std/assert";
import { describeTrackSet, type LiveHeader, sameTrackSet } from "../lib/matroska/live_header.ts";
import { demux, readFixture } from "./_util.ts";

Deno.test("readTracks captures CodecPrivate: H.264's avcC and AAC's AudioSpecificConfig, copied", async () => {
  const bytes = await readFixture("h264_aac.mkv");
  const [video, audio] = demux(bytes).header.tracks;
  assertEquals(video.codecId, "V_MPEG4/ISO/AVC");
  const avcC = video.codecPrivate!;
  assertEquals(avcC[0], 1, "avcC configurationVersion");
  assertEquals(avcC[5] & 0x1F, 1, "one SPS");
  assertEquals(audio.codecId, "A_AAC");
  assert(audio.codecPrivate !== undefined && audio.codecPrivate.length >= 2);
  // A copy, not a view into what the parser was handed (a reader may reuse its buffer).
  assert(avcC.buffer !== bytes.buffer);
});

function withCodecPrivate(header: LiveHeader, track: number, codecPrivate?: Uint8Array) {
  return {
    ...header,
    tracks: header.tracks.map((t) => t.number === track ? { ...t, codecPrivate } : t),
  };
}

Deno.test("sameTrackSet compares TimestampScale, numbers, kinds, codecs and CodecPrivate bytes", async () => {
  const { header } = demux(await readFixture("h264_aac.mkv"));
  const again = demux(await readFixture("h264_aac.mkv")).header;
  assert(sameTrackSet(header, again), "the same file twice");
  const video = header.tracks[0];
  const sps = video.codecPrivate!.slice();
  sps[sps.length - 1] ^= 1;
  assertEquals(sameTrackSet(header, withCodecPrivate(header, video.number, sps)), false);
  assertEquals(sameTrackSet(header, withCodecPrivate(header, video.number, undefined)), false);
  assertEquals(sameTrackSet(header, { ...header, timestampScale: 100_000 }), false);
  assertEquals(sameTrackSet(header, { ...header, tracks: header.tracks.slice(1) }), false);
  const renumbered = {
    ...header,
    tracks: header.tracks.map((t) => ({ ...t, number: t.number + 1 })),
  };
  assertEquals(sameTrackSet(header, renumbered), false);
  const sample = demux(await readFixture("sample.webm")).header;
  assertEquals(sameTrackSet(header, sample), false);
});

Deno.test("describeTrackSet names each track and its CodecPrivate's size", async () => {
  const { header } = demux(await readFixture("h264_aac.mkv"));
  const [video, audio] = header.tracks;
  assertEquals(
    describeTrackSet(header),
    `1000000|1:video:V_MPEG4/ISO/AVC+${video.codecPrivate!.length} bytes of CodecPrivate,` +
      `2:audio:A_AAC+${audio.codecPrivate!.length} bytes of CodecPrivate`,
  );
});
