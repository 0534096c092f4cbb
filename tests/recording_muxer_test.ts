import { assert, assertEquals, assertGreater } from "@std/assert";
import { concatBytes } from "../lib/ebml/writer.ts";
import type { Block } from "../lib/matroska/block.ts";
import { fromDateUtc } from "../lib/matroska/recording_layout.ts";
import { RecordingMuxer } from "../lib/matroska/recording_muxer.ts";
import { type ByteSource, scanRecording } from "../lib/matroska/recording_scan.ts";
import { tool } from "./_recordings.ts";
import { demux, readFixture } from "./_util.ts";

/** Muxes a fixture's blocks into a finished recording; returns the bytes and the pieces. */
async function record(fixture: string) {
  const { header, blocks } = demux(await readFixture(fixture));
  const start = Date.UTC(2026, 11, 1, 11, 32, 39, 123);
  const muxer = new RecordingMuxer(header, start);
  const parts: Uint8Array[] = [muxer.head];
  for (const block of blocks) {
    const cluster = muxer.push(block);
    if (cluster) parts.push(...cluster.parts);
  }
  const open = concatBytes(parts);
  const tail = muxer.finish();
  const finished = concatBytes([open, ...tail.append]);
  for (const p of tail.patches) finished.set(p.bytes, p.at);
  return { header, blocks, muxer, open, finished, tail };
}

function memory(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: (at, length) => Promise.resolve(bytes.slice(at, at + length)),
  };
}

async function withFile<T>(bytes: Uint8Array, fn: (path: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/r.mkv`, bytes);
    return await fn(`${dir}/r.mkv`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("RecordingMuxer writes a file mkvinfo reads whole: SeekHead, Duration, DateUTC, one Cue per keyframe", async () => {
  const { finished, tail, blocks } = await record("h264_aac.mkv");
  const keyframes = blocks.filter((b) => b.track === 1 && b.keyframe).length;
  assertEquals(tail.cues, keyframes);
  assertEquals(tail.byteLength, finished.length);
  await withFile(finished, async (path) => {
    const info = await tool("mkvinfo", ["-a", path]);
    assertEquals(info.code, 0, info.out);
    assert(!/error|warning/i.test(info.out), info.out);
    assertEquals(info.out.match(/\+ Seek entry/g)?.length, 4); // Info, Tracks, Tags, Cues
    assertEquals(info.out.match(/\+ Cue point/g)?.length, keyframes);
    const duration = /\+ Duration: ([\d:.]+)/.exec(info.out)?.[1];
    assert(duration?.startsWith("00:00:06.0"), `Duration ${duration}`);
    assert(/Date: 2026-12-01 11:32:39/.test(info.out), info.out);
    // The source's tags stay, but not its per-track DURATION (the source file's length).
    assert(/Name: ENCODER/.test(info.out) && !/Name: DURATION/.test(info.out), info.out);
    const probe = await tool("ffprobe", ["-v", "error", "-show_entries", "format=duration", path]);
    assert(/duration=6\.0/.test(probe.out), probe.out);
    const seek = await tool("ffmpeg", ["-v", "error", "-ss", "3", "-i", path, "-f", "null", "-"]);
    assertEquals(seek.code, 0);
    assertEquals(seek.out, "");
    // mpv knows the length and starts where it is asked to (through the Cues).
    const mpv = await tool("mpv", [
      ...["--no-config", "--vo=null", "--ao=null", "--start=3", "--frames=5"],
      "--term-playing-msg=POS=${time-pos} DUR=${duration}",
      path,
    ]);
    assertEquals(mpv.code, 0, mpv.out);
    assert(/POS=00:00:03 DUR=00:00:06/.test(mpv.out), mpv.out);
  });
});

Deno.test("RecordingMuxer's Cues and SeekHead point at what they name", async () => {
  const { finished, muxer } = await record("h264_aac.mkv");
  const at = muxer.layout.segmentDataAt;
  const idAt = (position: number) =>
    Array.from(finished.subarray(at + position, at + position + 4));
  const scan = await scanRecording(memory(concatBytes([finished])));
  assert(scan.finished);
  // CueClusterPosition: read back from the Cues with mkvinfo's numbers.
  const info = await withFile(finished, (path) => tool("mkvinfo", ["-a", path]));
  const positions = [...info.out.matchAll(/Cue cluster position: (\d+)/g)].map((m) => Number(m[1]));
  assertGreater(positions.length, 0);
  for (const p of positions) assertEquals(idAt(p), [0x1F, 0x43, 0xB6, 0x75], `Cluster at ${p}`);
  const seeks = [
    ...info.out.matchAll(/Seek ID: ((?:0x[0-9a-f]{2} ?)+).*\n.*Seek position: (\d+)/g),
  ];
  assertEquals(seeks.length, 4);
  for (const [, id, position] of seeks) {
    const bytes = id.trim().split(" ").map((h) => parseInt(h, 16));
    assertEquals(idAt(Number(position)), bytes);
  }
});

Deno.test("RecordingMuxer rebases the file to 0 at its first keyframe and drops what came before", async () => {
  const { header, blocks } = demux(await readFixture("h264_aac.mkv"));
  const shifted: Block[] = blocks.map((b) => ({ ...b, time: b.time + 100_000 }));
  const muxer = new RecordingMuxer(header, 0);
  const firstKey = shifted.findIndex((b) => b.track === 1 && b.keyframe);
  const audio = shifted.find((b) => b.track === 2)!;
  assertEquals(muxer.push({ ...audio, time: shifted[firstKey].time - 10 }), undefined);
  for (const b of shifted) muxer.push(b);
  assertEquals(muxer.startTime, shifted[firstKey].time);
  const tail = muxer.finish(shifted[firstKey].time + 7000);
  assertEquals(tail.duration, 7000); // the next file's start
});

Deno.test("scanRecording reads a finished file's head only, and an open file's Clusters, Cues and end", async () => {
  const { finished, open, tail } = await record("h264_aac.mkv");
  const done = await scanRecording(memory(finished));
  assert(done.finished);
  const scan = await scanRecording(memory(open));
  assert(!scan.finished);
  assertEquals(scan.clustersEnd, open.length);
  // The open file's last Cluster is the one finish() flushed: all Cues but that one's.
  assertGreater(scan.cues.length, 0);
  assert(scan.cues.length <= tail.cues);
  assertEquals(scan.layout.info, done.layout.info);
  assertEquals(fromDateUtc(0n), Date.UTC(2001, 0, 1));
  // Its Cues point at Clusters, in time order.
  for (const cue of scan.cues) {
    const at = scan.layout.segmentDataAt + cue.clusterAt;
    assertEquals(Array.from(open.subarray(at, at + 4)), [0x1F, 0x43, 0xB6, 0x75]);
  }
  assertEquals(scan.cues.map((c) => c.time), scan.cues.map((c) => c.time).sort((a, b) => a - b));
  // Cut mid-Cluster: the scan stops at the last complete one.
  const cut = open.subarray(0, open.length - 100);
  const partial = await scanRecording(memory(cut));
  assert(partial.clustersEnd < cut.length);
  assertEquals(partial.clusters, scan.clusters - 1);
  // Zeros after it (a file system's unwritten blocks after power loss) are not a Cluster.
  const zeros = concatBytes([open, new Uint8Array(4096)]);
  assertEquals((await scanRecording(memory(zeros))).clustersEnd, open.length);
});

for (const fixture of ["sample.webm", "audio_only.webm", "h264_blockgroups.mkv"]) {
  Deno.test(`RecordingMuxer records ${fixture} into a file mkvinfo, ffmpeg and mpv read whole`, async () => {
    const { finished, tail } = await record(fixture);
    assertGreater(tail.cues, 0); // audio only: one per Cluster (about a second)
    await withFile(finished, async (path) => {
      const info = await tool("mkvinfo", ["-a", path]);
      assertEquals(info.code, 0, info.out);
      assert(!/error|warning/i.test(info.out), info.out);
      assertEquals(info.out.match(/\+ Cue point/g)?.length, tail.cues);
      const seek = await tool("ffmpeg", ["-v", "error", "-ss", "1", "-i", path, "-f", "null", "-"]);
      assertEquals([seek.code, seek.out], [0, ""]);
      const mpv = await tool("mpv", [
        ...["--no-config", "--vo=null", "--ao=null", "--start=1", "--frames=3"],
        "--term-playing-msg=POS=${time-pos}",
        path,
      ]);
      assert(/POS=00:00:01/.test(mpv.out), mpv.out);
    });
  });
}
