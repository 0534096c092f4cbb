// Generated Matroska files of at least 100 MB for the parser benchmarks, made once into
// /tmp/mkserver-bench-cache/: a piece from `makeMedia()` (H.264 + Opus, a keyframe every 2 s),
// looped with `ffmpeg -c copy` past 100 MB. Two shapes: "8M" is 720p at 8 Mbit/s (20 s looped
// 5 times: 100 s, about 104 MB, 40 KB video frames); "2M" is 360p at 2 Mbit/s, the fan-out
// benchmark's rate (40 s looped 10 times: 400 s, about 107 MB, 4x the packets).

import { cachedFile, makeMedia } from "./_media.ts";

const SHAPES = {
  "8M": { size: "1280x720", bitrate: 8e6, seconds: 20, loops: 5 },
  "2M": { size: "640x360", bitrate: 2e6, seconds: 40, loops: 10 },
};

/** The shapes `bigMatroska()` makes. */
export type BigShape = keyof typeof SHAPES;

/** The path of a 100 MB file, generating it when missing (a few seconds). */
export async function bigMatroska(shape: BigShape = "8M"): Promise<string> {
  const { size, bitrate, seconds, loops } = SHAPES[shape];
  return await cachedFile(`h264-opus-${shape}-${seconds * loops}s.mkv`, async (path) => {
    const piece = await makeMedia({ seconds, bitrate, size });
    try {
      const out = await new Deno.Command("ffmpeg", {
        args: ["-hide_banner", "-loglevel", "error", "-y", "-stream_loop", String(loops - 1)]
          .concat(["-i", piece.path, "-c", "copy", "-f", "matroska", path]),
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(out.stderr)}`);
    } finally {
      await Deno.remove(piece.dir, { recursive: true });
    }
  }, { minBytes: 100e6 });
}
