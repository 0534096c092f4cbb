import {
  assert,
  assertEquals,
  assertGreater,
  assertLessOrEqual,
  assertStrictEquals,
} from "@std/assert";
import { type EbmlEvent, EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { readUint } from "../lib/ebml/values.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import { type Block, readRelativeTime, readSimpleBlock } from "../lib/matroska/block.ts";
import { GopSegmenter } from "../lib/matroska/gop_segmenter.ts";
import { BLOCK_PARTS, MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import { demux, FIXTURES, randomChunks, readFixture, segment } from "./_util.ts";

/** The blocks the segmenter keeps: everything from the first GOP start on. */
function kept(blocks: Block[], primary: number | undefined): Block[] {
  const first = primary === undefined
    ? 0
    : blocks.findIndex((b) => b.track === primary && b.keyframe);
  return blocks.slice(first);
}

/** A one-track video block with a small payload. */
function videoBlock(
  time: number,
  keyframe: boolean,
  frames = new Uint8Array([1, 2, 3]),
): Block {
  return {
    track: 1,
    time,
    keyframe,
    group: false,
    flags: keyframe ? 0x80 : 0,
    frames,
    extra: [],
  };
}

for (const name of FIXTURES) {
  Deno.test(`GopSegmenter round-trips ${name}: payloads identical, GOPs start on keyframes, times kept`, async () => {
    const source = await readFixture(name);
    const { header, blocks, clusters, output } = segment(source);
    const primary = header.tracks.find((t) => t.kind === "video")?.number;
    const again = demux(output);
    // Same header, same tracks.
    assertEquals(again.header.tracks, header.tracks);
    // Every kept block comes back with the same track, time, flags and payload bytes.
    const expected = kept(blocks, primary);
    assertEquals(again.blocks.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
      const a = again.blocks[i];
      const b = expected[i];
      assertEquals([a.track, a.time, a.keyframe, a.flags, a.group], [
        b.track,
        b.time,
        b.keyframe,
        b.flags,
        b.group,
      ], `block ${i}`);
      assertEquals(a.frames, b.frames, `block ${i} payload`);
      assertEquals(
        a.extra.map((e) => Array.from(e)),
        b.extra.map((e) => Array.from(e)),
      );
    }
    // The first Cluster begins a GOP; every GOP-start Cluster begins with a keyframe of the
    // primary video track (audio only: any block).
    assert(clusters[0].keyframe);
    let index = 0;
    for (const cluster of clusters) {
      const first = again.blocks[index];
      if (cluster.keyframe && primary !== undefined) {
        assertEquals(first.track, primary);
        assert(
          first.keyframe,
          `cluster at ${cluster.time} starts with a keyframe`,
        );
      }
      assertEquals(cluster.time, Math.max(0, first.time));
      index += cluster.blocks;
    }
    assertEquals(index, again.blocks.length);
    // Video keyframes of the primary track start Clusters, and only those start GOPs.
    if (primary !== undefined) {
      const keyframes = expected.filter((b) => b.track === primary && b.keyframe).length;
      assertEquals(clusters.filter((c) => c.keyframe).length, keyframes);
    }
  });
}

Deno.test("GopSegmenter passes payloads through as views of the input, not copies", async () => {
  const source = await readFixture("sample.webm");
  const { clusters } = segment(source);
  let views = 0;
  for (const c of clusters) {
    for (const part of c.parts) if (part.buffer === source.buffer) views++;
  }
  const blocks = clusters.reduce((n, c) => n + c.blocks, 0);
  assertGreater(views, blocks - 1); // at least one view (the frames) per block
});

Deno.test("GopSegmenter cuts the GOP in progress into Clusters of at most about a second", async () => {
  const { clusters, header } = segment(await readFixture("long_gop.webm"));
  assertEquals(clusters.filter((c) => c.keyframe).length, 1);
  assertGreater(clusters.length, 10);
  const ms = header.timestampScale / 1e6;
  for (let i = 1; i < clusters.length; i++) {
    assertLessOrEqual((clusters[i].time - clusters[i - 1].time) * ms, 1100);
  }
});

Deno.test("GopSegmenter cuts audio-only streams about every second, each Cluster a GOP start", async () => {
  const { clusters } = segment(await readFixture("audio_only.webm"));
  assertGreater(clusters.length, 4);
  assert(clusters.every((c) => c.keyframe));
});

Deno.test("GopSegmenter splits a Cluster before the int16 relative time overflows", () => {
  // TimestampScale 10 µs: a second is 100,000 units, beyond int16, so the overflow rule cuts.
  const header = {
    timestampScale: 10_000,
    tracks: [{ number: 1, kind: "video" as const, type: 1, codecId: "V_VP8" }],
  };
  const segmenter = new GopSegmenter(header, { maxClusterDuration: 1000 });
  const clusters = [];
  const times: number[] = [];
  for (let t = 0; t <= 90_000; t += 4_000) {
    times.push(t);
    const c = segmenter.push(videoBlock(t, t === 0));
    if (c) clusters.push(c);
  }
  clusters.push(segmenter.flush()!);
  assertGreater(clusters.length, 2);
  // Parse the Clusters back: every relative time fits int16 and gives the original time.
  const reader = new EbmlReader();
  const seen: number[] = [];
  let clusterTime = 0;
  for (const c of clusters) {
    reader.push(concatBytes(c.parts), (e) => {
      if (e.type === "element" && e.id === ID.Timestamp) {
        clusterTime = readUint(e.data);
      }
      if (e.type === "element" && e.id === ID.SimpleBlock) {
        const relative = readRelativeTime(e.data);
        assert(relative >= -32768 && relative <= 32767);
        seen.push(readSimpleBlock(e.data, clusterTime).time);
      }
    });
  }
  assertEquals(seen, times);
  assertStrictEquals(clusters[0].keyframe, true);
  assert(clusters.slice(1).every((c) => !c.keyframe));
});

Deno.test("GopSegmenter drops blocks before the first keyframe", () => {
  const header = {
    timestampScale: 1e6,
    tracks: [{ number: 1, kind: "video" as const, type: 1, codecId: "V_VP8" }],
  };
  const segmenter = new GopSegmenter(header);
  assertEquals(segmenter.push(videoBlock(0, false)), undefined);
  assertEquals(segmenter.push(videoBlock(40, false)), undefined);
  segmenter.push(videoBlock(80, true));
  const cluster = segmenter.flush()!;
  assertEquals(segmenter.droppedBlocks, 2);
  assertEquals(cluster.blocks, 1);
  assertEquals(cluster.time, 80);
});

Deno.test("GopSegmenter writes the same bytes from blocks in pieces (BLOCK_PARTS), copying none", async () => {
  for (const name of FIXTURES) {
    const source = await readFixture(name);
    const { output } = segment(source);
    const chunks = randomChunks(source, 3, 5000);
    const buffers = new Set(chunks.map((c) => c.buffer));
    const reader = new EbmlReader({ inParts: BLOCK_PARTS });
    const demuxer = new MatroskaDemuxer();
    let segmenter: GopSegmenter | undefined;
    const parts: Uint8Array[] = [];
    let pieced = 0;
    const emit = (e: EbmlEvent) =>
      demuxer.push(e, (m) => {
        if (m.type === "header") {
          segmenter = new GopSegmenter(m.header);
          parts.push(m.header.bytes);
        } else if (m.type === "block") {
          if (m.block.more) {
            pieced++;
            // Every piece of the frames is a view of an input chunk: nothing was copied.
            for (const piece of [m.block.frames, ...m.block.more]) {
              assert(buffers.has(piece.buffer), `${name}: a copied piece`);
            }
          }
          const cluster = segmenter?.push(m.block);
          if (cluster) parts.push(...cluster.parts);
        }
      });
    for (const chunk of chunks) reader.push(chunk, emit);
    reader.end(emit);
    const last = segmenter?.flush();
    if (last) parts.push(...last.parts);
    assertEquals(concatBytes(parts), output, name);
    if (!name.includes("blockgroups")) assertGreater(pieced, 0, name);
  }
});
