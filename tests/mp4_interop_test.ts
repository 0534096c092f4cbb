// End-to-end oracles for lib/mp4: Matroska made by ffmpeg, demuxed by mkserver's own
// EbmlReader + MatroskaDemuxer, written as one fMP4 file per track by lib/mp4, then read back by
// ffprobe/ffmpeg and by mediabunny (a test-only dependency; lib/ never imports it).
import { assert, assertEquals } from "@std/assert";
import { BufferSource, EncodedPacketSink, Input, MP4 } from "./_mediabunny.ts";
import { type RemuxedTrack, remuxToFmp4 } from "../bench/_mp4_remux.ts";
import { codecString } from "../lib/mp4/sample_entry.ts";
import {
  decodeErrors,
  makeMkv,
  probePackets,
  type TestAudio,
  type TestVideo,
  writeTrackFile,
} from "./_mp4.ts";
import { readFixture } from "./_util.ts";

/** Compares ffprobe's packets of the fMP4 with those of the Matroska source, in milliseconds. */
async function assertSamePackets(
  source: string,
  out: string,
  kind: "v" | "a",
  remuxed: RemuxedTrack,
): Promise<void> {
  const a = await probePackets(source, kind);
  const b = await probePackets(out, kind);
  assertEquals(b.packets.length, a.packets.length, "packet count");
  const ms = (t: number, base: number, shift = 0) => Math.round((t - shift) * base * 1000);
  const shift = remuxed.shift;
  // ffprobe moves Matroska times back by CodecDelay (Opus pre-skip); dOps carries it instead.
  const delay = (remuxed.extras.codecDelay ?? 0) / 1e6;
  const near = (mine: number, theirs: number, what: string) => {
    const error = ms(mine, b.timeBase, shift) - (ms(theirs, a.timeBase) + delay);
    assert(Math.abs(error) <= (delay ? 1 : 0), `${what}: off by ${error} ms`);
  };
  // ffprobe derives the Matroska DTS it can (all but the first frames): ours must agree there.
  a.packets.forEach((p, i) => {
    near(b.packets[i].pts, p.pts, `pts ${i}`);
    if (p.dts !== undefined) near(b.packets[i].dts!, p.dts, `dts ${i}`);
  });
  b.packets.forEach((p, i) => assert(p.dts! <= p.pts, `dts > pts at ${i}`));
  assertEquals(b.packets.map((p) => p.size), a.packets.map((p) => p.size), "sizes");
  assertEquals(b.packets.map((p) => p.keyframe), a.packets.map((p) => p.keyframe), "keyframes");
}

/** Reads a track file with mediabunny and checks it holds exactly our samples. */
async function assertMediabunnyReads(bytes: Uint8Array, remuxed: RemuxedTrack): Promise<void> {
  const input = new Input({ source: new BufferSource(bytes), formats: [MP4] });
  const [track] = await input.getTracks();
  assertEquals(track.type, remuxed.track.kind);
  // mediabunny names every HEVC string hev1 (from hvcC alone); the rest must be the same.
  const theirs = (await track.getCodecParameterString())?.replace(/^hev1\./, "hvc1.");
  assertEquals(theirs, codecString(remuxed.track));
  const sink = new EncodedPacketSink(track);
  const { timescale } = remuxed.track;
  let i = 0;
  for await (const packet of sink.packets()) {
    const sample = remuxed.samples[i++];
    assertEquals(Math.round(packet.timestamp * timescale), sample.pts, `pts of packet ${i}`);
    assertEquals(packet.type === "key", sample.keyframe, `type of packet ${i}`);
    assertEquals(packet.data, sample.data as Uint8Array, `data of packet ${i}`);
  }
  assertEquals(i, remuxed.samples.length);
}

/** Remuxes a generated file and checks each track with ffmpeg, ffprobe and mediabunny. */
async function checkRemux(video: TestVideo, audio: TestAudio, depth: number): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mkserver-mp4-" });
  try {
    const source = await makeMkv(dir, video, audio);
    const tracks = remuxToFmp4([await Deno.readFile(source)], { partSeconds: 0.3 });
    assertEquals(tracks.map((t) => t.track.kind), ["video", "audio"]);
    const [v, a] = tracks;
    assertEquals(v.reorderDepth, depth, "reorder depth");
    // Parts are cut inside GOPs too, so chunks that start on a non-keyframe are tested.
    assert(v.chunks.length > 2 * 3, `${v.chunks.length} video chunks`);
    for (const [name, t, kind] of [["v.mp4", v, "v"], ["a.mp4", a, "a"]] as const) {
      const { path, bytes } = await writeTrackFile(dir, name, t);
      assertEquals(await decodeErrors(path), "", `${name} decodes clean`);
      await assertSamePackets(source, path, kind, t);
      await assertMediabunnyReads(bytes, t);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

// x264 declares 2 for -bf 2 (B-pyramid) in the SPS, which ffprobe derives its DTS from.
Deno.test("lib/mp4 writes H.264 (B-frames) + AAC that ffmpeg and mediabunny read as the source", () =>
  checkRemux("h264", "aac", 2));
Deno.test("lib/mp4 writes H.264 (B-frames) + Opus that ffmpeg and mediabunny read as the source", () =>
  checkRemux("h264", "opus", 2));
Deno.test("lib/mp4 writes HEVC (B-frames) + FLAC that ffmpeg and mediabunny read as the source", () =>
  checkRemux("hevc", "flac", 2));
Deno.test("lib/mp4 writes VP9 + Opus that ffmpeg and mediabunny read as the source", () =>
  checkRemux("vp9", "opus", 0));
Deno.test("lib/mp4 writes AV1 + Opus that ffmpeg and mediabunny read as the source", () =>
  checkRemux("av1", "opus", 0));

Deno.test("lib/mp4 unlaces mkvmerge's Xiph-laced AAC into one sample per frame", async () => {
  const bytes = await readFixture("h264_blockgroups.mkv");
  const [, sound] = remuxToFmp4([bytes]);
  const dir = await Deno.makeTempDir({ prefix: "mkserver-mp4-" });
  try {
    const { path, bytes: out } = await writeTrackFile(dir, "a.mp4", sound);
    assertEquals(await decodeErrors(path), "");
    const source = await probePackets(
      new URL("../testdata/h264_blockgroups.mkv", import.meta.url).pathname,
      "a",
    );
    const mine = await probePackets(path, "a");
    // ffprobe unlaces the source the same way: one packet per AAC frame, same sizes.
    assertEquals(mine.packets.map((p) => p.size), source.packets.map((p) => p.size));
    await assertMediabunnyReads(out, sound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
