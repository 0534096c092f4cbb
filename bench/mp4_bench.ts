// fMP4 (CMAF) packaging throughput, in process: a generated ~20 MB H.264 + Opus Matroska file
// (720p at 8 Mbit/s, 20 s, a keyframe every 2 s; made by makeMedia() with ffmpeg, then deleted)
// remuxed by lib/mp4 into one init segment and 0.5 s chunks per track. `deno bench -A bench/mp4_bench.ts`.
// MB/s = file size / time per iteration. The comparison with `ffmpeg -c copy -f mp4 -movflags
// frag_keyframe+empty_moov` on the same file is a shell one-liner (see the report of issue 13).
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import { writeFragment } from "../lib/mp4/fragment.ts";
import { makeMedia } from "./_live.ts";
import { remuxToFmp4 } from "./_mp4_remux.ts";

const media = await makeMedia({ seconds: 20, bitrate: 8e6, size: "1280x720" });
const bytes = await Deno.readFile(media.path);
await Deno.remove(media.dir, { recursive: true });

const chunks: Uint8Array[] = [];
for (let i = 0; i < bytes.length; i += 65536) chunks.push(bytes.subarray(i, i + 65536));
const mb = (bytes.length / 1e6).toFixed(1);
// The samples once, for the writer alone.
const tracks = remuxToFmp4(chunks);
const output = tracks.reduce((n, t) => n + t.chunks.flat().reduce((m, p) => m + p.length, 0), 0);
console.error(`${mb} MB in, ${(output / 1e6).toFixed(1)} MB of fMP4 out, ${tracks.length} tracks`);

Deno.bench({
  name: `EbmlReader + MatroskaDemuxer (${mb} MB)`,
  group: "fmp4",
  baseline: true,
  fn: () => {
    const reader = new EbmlReader();
    const demuxer = new MatroskaDemuxer();
    const emit = (e: Parameters<MatroskaDemuxer["push"]>[0]) => demuxer.push(e, () => {});
    for (const chunk of chunks) reader.push(chunk, emit);
    reader.end(emit);
  },
});

Deno.bench({
  name: `demux + unlace + DTS + init + moof/mdat per 0.5 s (${mb} MB)`,
  group: "fmp4",
  fn: () => {
    remuxToFmp4(chunks);
  },
});

Deno.bench({
  name: "writeFragment alone: every 0.5 s chunk of both tracks",
  group: "fmp4",
  fn: () => {
    for (const t of tracks) {
      const perChunk = Math.ceil(t.samples.length / t.chunks.length);
      for (let i = 0, n = 1; i < t.samples.length; i += perChunk, n++) {
        writeFragment(t.track, t.samples.slice(i, i + perChunk), { sequence: n });
      }
    }
  },
});
