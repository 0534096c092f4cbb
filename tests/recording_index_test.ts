// RecordingIndex against the fixtures: its Clusters and keyframes are what a whole-file demux
// finds, also for a file read while it grows (any prefix indexes a prefix, and the rest follows).
import { assert, assertEquals } from "@std/assert";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import { readClusterBlocks } from "../lib/matroska/file_layout.ts";
import { type ClusterEntry, RecordingIndex } from "../lib/record/recording_index.ts";
import { readFixture, TESTDATA } from "./_util.ts";

/** Each Cluster of `bytes` by a whole-file parse: offset, length, time, first primary block. */
function expected(bytes: Uint8Array, primary: number | undefined): ClusterEntry[] {
  const out: ClusterEntry[] = [];
  const starts: number[] = [];
  new EbmlReader().push(bytes, (e) => {
    if (e.id === ID.Cluster && e.type === "start") starts.push(e.offset);
    if (e.id === ID.Cluster && e.type === "end") {
      const offset = starts.pop()!;
      const raw = bytes.subarray(offset, e.offset);
      const headerSize = 4 + (raw[4] >= 0x80 ? 1 : raw[4] >= 0x40 ? 2 : raw[4] >= 0x20 ? 3 : 8);
      const { time, blocks } = readClusterBlocks(raw.subarray(headerSize));
      const first = blocks.find((b) => primary === undefined || b.track === primary);
      out.push({
        offset,
        length: e.offset - offset,
        time,
        keyframe: first?.keyframe ?? false,
        keyTime: first?.time ?? time,
      });
    }
  });
  return out;
}

const CASES: [string, number | undefined][] = [
  ["sample.webm", 1],
  ["h264_aac.mkv", 1],
  ["h264_blockgroups.mkv", 1],
  ["midgop_clusters.mkv", 1],
  ["audio_only.webm", undefined],
];

for (const [name, primary] of CASES) {
  Deno.test(`RecordingIndex finds every Cluster of ${name} and its first keyframe`, async () => {
    const index = new RecordingIndex(new URL(name, TESTDATA).pathname);
    await index.update();
    const bytes = await readFixture(name);
    assert(index.head !== undefined);
    assertEquals(index.head.primary, primary ?? index.head.tracks[0].number);
    assertEquals(index.clusters, expected(bytes, primary));
    assert(index.clusters.some((c) => c.keyframe));
    assertEquals(index.finished, true); // mkvmerge and ffmpeg wrote Cues
  });
}

Deno.test("RecordingIndex midgop_clusters.mkv: Clusters that start mid-GOP are not join points", async () => {
  const index = new RecordingIndex(new URL("midgop_clusters.mkv", TESTDATA).pathname);
  await index.update();
  const keys = index.clusters.filter((c) => c.keyframe).length;
  assert(keys > 0 && keys < index.clusters.length, `${keys} of ${index.clusters.length}`);
});

Deno.test("RecordingIndex follows a growing file: a prefix indexes a prefix, then the rest", async () => {
  const bytes = await readFixture("h264_aac.mkv");
  const all = expected(bytes, 1);
  const dir = await Deno.makeTempDir();
  const path = `${dir}/20261201T000000.000Z.mkv`;
  try {
    const index = new RecordingIndex(path);
    let written = 0;
    for (const end of [20, 400, 5000, 40_000, 41_000, 150_000, bytes.length]) {
      const file = await Deno.open(path, { write: true, create: true, append: true });
      await file.write(bytes.subarray(written, Math.min(end, bytes.length)));
      file.close();
      written = Math.min(end, bytes.length);
      await index.update();
      const whole = all.filter((c) => c.offset + c.length <= written);
      // A Cluster only half written waits for the next update.
      assertEquals(index.clusters, whole, `after ${written} bytes`);
      assertEquals(index.finished, written === bytes.length);
    }
    // Two updates at once index nothing twice.
    await Promise.all([index.update(), index.update()]);
    assertEquals(index.clusters, all);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RecordingIndex refuses a file that is not Matroska", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/x.mkv`, "not a Matroska file at all");
    const index = new RecordingIndex(`${dir}/x.mkv`);
    let error: unknown;
    await index.update().catch((e) => error = e);
    assert(error instanceof SyntaxError, String(error));
    assertEquals(index.clusters.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("RecordingIndex refuses a Cluster larger than the parser's cap instead of reading it", async () => {
  const bytes = await readFixture("sample.webm");
  const first = expected(bytes, 1)[0].offset;
  const huge = new Uint8Array([0x1F, 0x43, 0xB6, 0x75, 0x01, 0, 0, 0, 0x08, 0, 0, 0]); // 128 MiB
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(
      `${dir}/x.mkv`,
      concatBytes([bytes.subarray(0, first), huge, new Uint8Array(100)]),
    );
    const index = new RecordingIndex(`${dir}/x.mkv`);
    let error: unknown;
    await index.update().catch((e) => error = e);
    assert(error instanceof RangeError && /Cluster too large/.test(error.message), String(error));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
