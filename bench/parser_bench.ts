// Parser and segmenter throughput on the bundled fixtures and on two generated 100 MB files
// (bench/_big_file.ts, made once with ffmpeg; skipped with a note without it): `deno task bench`.
// Deno reports time per iteration; MB/s = file size / that time. The comparison with ffmpeg on
// the 100 MB files is bench/scan.ts. The third row of each group is the server's input path,
// `ingest()` (the stream pipeline, then segmenter and GOP ring), in-process.
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ingest } from "../lib/ingest/ingest.ts";
import { Mount } from "../lib/stream/mount.ts";
import { bigMatroska } from "./_big_file.ts";
import { segmentAll } from "./_segment_all.ts";

const FILES = ["sample.webm", "h264_blockgroups.mkv", "long_gop.webm"];
const data = new Map<string, Uint8Array>();
for (const name of FILES) {
  data.set(
    name,
    await Deno.readFile(new URL(`../testdata/${name}`, import.meta.url)),
  );
}
for (const shape of ["8M", "2M"] as const) {
  try {
    const path = await bigMatroska(shape);
    data.set(path.slice(path.lastIndexOf("/") + 1), await Deno.readFile(path));
  } catch (error) {
    console.error(`Skipping the 100 MB ${shape} file: ${(error as Error).message}`);
  }
}

/** Splits like a 64 KiB read loop would. */
function chunks(bytes: Uint8Array, size = 65536): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) {
    out.push(bytes.subarray(i, i + size));
  }
  return out;
}

function parseOnly(parts: Uint8Array[]): number {
  const reader = new EbmlReader();
  let n = 0;
  const emit = () => n++;
  for (const part of parts) reader.push(part, emit);
  reader.end(emit);
  return n;
}

for (const [name, bytes] of data) {
  const parts = chunks(bytes);
  Deno.bench({
    name: `EbmlReader ${name} (${(bytes.length / 1024).toFixed(0)} KiB)`,
    group: name,
    baseline: true,
    fn: () => {
      parseOnly(parts);
    },
  });
  Deno.bench({
    name: `EbmlReader + MatroskaDemuxer + GopSegmenter ${name}`,
    group: name,
    fn: () => {
      segmentAll(parts);
    },
  });
  // The server's own input path in-process: `ingest()` of a ReadableStream into a Mount
  // (segmenter and GOP ring), unpaced. bench/scan.ts times it as a process of its own.
  Deno.bench({
    name: `ingest() into a Mount ${name}`,
    group: name,
    fn: async () => {
      const mount = new Mount("bench");
      await ingest(ReadableStream.from(parts), mount);
      mount.end();
    },
  });
}
