// Parser and segmenter throughput on the bundled fixtures: `deno task bench`.
// Deno reports time per iteration; MB/s = fixture size / that time (printed once below).
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { GopSegmenter } from "../lib/matroska/gop_segmenter.ts";
import { MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";

const FILES = ["sample.webm", "h264_blockgroups.mkv", "long_gop.webm"];
const data = new Map<string, Uint8Array>();
for (const name of FILES) {
  data.set(
    name,
    await Deno.readFile(new URL(`../testdata/${name}`, import.meta.url)),
  );
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

function parseAndSegment(parts: Uint8Array[]): number {
  const reader = new EbmlReader();
  const demuxer = new MatroskaDemuxer();
  let segmenter: GopSegmenter | undefined;
  let bytes = 0;
  const emit = (e: Parameters<MatroskaDemuxer["push"]>[0]) =>
    demuxer.push(e, (m) => {
      if (m.type === "header") segmenter = new GopSegmenter(m.header);
      else if (m.type === "block") bytes += segmenter!.push(m.block)?.byteLength ?? 0;
    });
  for (const part of parts) reader.push(part, emit);
  reader.end(emit);
  return bytes + (segmenter!.flush()?.byteLength ?? 0);
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
      parseAndSegment(parts);
    },
  });
}
