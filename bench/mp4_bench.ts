// fMP4 (CMAF) packaging throughput, in process: Matroska H.264 + Opus remuxed by lib/mp4 into
// one init segment and 0.5 s chunks per track (bench/_mp4_remux.ts: EbmlReader +
// MatroskaDemuxer + unlace + DTS + init + moof/mdat), against `ffmpeg -c copy -f mp4 -movflags
// frag_keyframe+empty_moov` of the same file into a pipe (a process, start-up included).
//
//   deno bench -A bench/mp4_bench.ts
//
// Files: a generated ~20 MB one (720p at 8 Mbit/s, 20 s, made by makeMedia() and deleted after
// reading), and bench/_big_file.ts's 100 MB "8M" file (made once, cached; skipped with a note if
// ffmpeg fails). Input is split into 64 KiB reads (a socket's) and 1 MiB reads (a file's, as in
// bench/scan.ts): blocks spanning reads are reassembled by EbmlReader, which is most of the cost.
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { BLOCK_PARTS, MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import { writeFragment } from "../lib/mp4/fragment.ts";
import { bigMatroska } from "./_big_file.ts";
import { makeMedia } from "./_media.ts";
import { remuxToFmp4 } from "./_mp4_remux.ts";

const files: { name: string; path?: string; bytes: Uint8Array }[] = [];
const media = await makeMedia({ seconds: 20, bitrate: 8e6, size: "1280x720" });
files.push({ name: "20 s 720p", bytes: await Deno.readFile(media.path) });
await Deno.remove(media.dir, { recursive: true });
try {
  const path = await bigMatroska("8M");
  files.push({ name: "100 s 720p", path, bytes: await Deno.readFile(path) });
} catch (error) {
  console.error(`Skipping the 100 MB file: ${(error as Error).message}`);
}

function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

for (const { name, path, bytes } of files) {
  const group = `${name}, ${(bytes.length / 1e6).toFixed(1)} MB`;
  const small = split(bytes, 1 << 16);
  const large = split(bytes, 1 << 20);
  Deno.bench({
    name: "EbmlReader (BLOCK_PARTS) + MatroskaDemuxer, 64 KiB reads",
    group,
    baseline: true,
    fn: () => {
      const reader = new EbmlReader({ inParts: BLOCK_PARTS });
      const demuxer = new MatroskaDemuxer();
      const emit = (e: Parameters<MatroskaDemuxer["push"]>[0]) => demuxer.push(e, () => {});
      for (const chunk of small) reader.push(chunk, emit);
      reader.end(emit);
    },
  });
  Deno.bench({ name: "fMP4 remux, 64 KiB reads", group, fn: () => void remuxToFmp4(small) });
  Deno.bench({ name: "fMP4 remux, 1 MiB reads", group, fn: () => void remuxToFmp4(large) });
  const tracks = remuxToFmp4(large);
  Deno.bench({
    name: "writeFragment alone, every 0.5 s chunk of both tracks",
    group,
    fn: () => {
      for (const t of tracks) {
        const perChunk = Math.ceil(t.samples.length / t.chunks.length);
        for (let i = 0, n = 1; i < t.samples.length; i += perChunk, n++) {
          writeFragment(t.track, t.samples.slice(i, i + perChunk), { sequence: n });
        }
      }
    },
  });
  if (path === undefined) continue;
  Deno.bench({
    name: "ffmpeg -c copy -f mp4 -movflags frag_keyframe+empty_moov pipe:1 (process)",
    group,
    n: 10,
    warmup: 1,
    fn: async () => {
      const out = await new Deno.Command("ffmpeg", {
        args: ["-v", "error", "-nostdin", "-i", path, "-c", "copy", "-f", "mp4"]
          .concat(["-movflags", "frag_keyframe+empty_moov", "pipe:1"]),
        stdout: "null",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error("ffmpeg failed");
    },
  });
}
