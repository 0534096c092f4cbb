// Generated Matroska files of at least 100 MB for the parser benchmarks, made once into
// /tmp/mkserver-bench-cache/: a piece from `makeMedia()` (H.264 + Opus, a keyframe every 2 s),
// looped with `ffmpeg -c copy` past 100 MB. Two shapes: "8M" is 720p at 8 Mbit/s (20 s looped
// 5 times: 100 s, about 104 MB, 40 KB video frames); "2M" is 360p at 2 Mbit/s, the fan-out
// benchmark's rate (40 s looped 10 times: 400 s, about 107 MB, 4x the packets).

import { makeMedia } from "./_live.ts";

const CACHE = "/tmp/mkserver-bench-cache";

const SHAPES = {
  "8M": { size: "1280x720", bitrate: 8e6, seconds: 20, loops: 5 },
  "2M": { size: "640x360", bitrate: 2e6, seconds: 40, loops: 10 },
};

/** The shapes `bigMatroska()` makes. */
export type BigShape = keyof typeof SHAPES;

/** The path of a 100 MB file, generating it when missing (a few seconds). */
export async function bigMatroska(shape: BigShape = "8M"): Promise<string> {
  const { size, bitrate, seconds, loops } = SHAPES[shape];
  const path = `${CACHE}/h264-opus-${shape}-${seconds * loops}s.mkv`;
  try {
    if ((await Deno.stat(path)).size >= 100e6) return path;
  } catch { /* not made yet */ }
  await Deno.mkdir(CACHE, { recursive: true });
  const piece = await makeMedia({ seconds, bitrate, size });
  const tmp = `${path}.part`;
  try {
    const out = await new Deno.Command("ffmpeg", {
      args: ["-hide_banner", "-loglevel", "error", "-y", "-stream_loop", String(loops - 1)]
        .concat(["-i", piece.path, "-c", "copy", "-f", "matroska", tmp]),
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(out.stderr)}`);
  } finally {
    await Deno.remove(piece.dir, { recursive: true });
  }
  const bytes = (await Deno.stat(tmp)).size;
  if (bytes < 100e6) throw new Error(`the generated file has only ${bytes} bytes`);
  await Deno.rename(tmp, path);
  return path;
}
