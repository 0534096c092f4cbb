// Generated Matroska files of at least 100 MB for the parser benchmarks, made once with ffmpeg
// into /tmp/mkserver-bench-cache/: a piece of testsrc2 (H.264, x264 ultrafast, a keyframe every
// 2 s) with sine Opus, looped with `-c copy` past 100 MB. Two shapes: "8M" is 720p at 8 Mbit/s
// (20 s looped 5 times: 100 s, about 104 MB, 40 KB video frames); "2M" is 360p at 2 Mbit/s, the
// fan-out benchmark's rate (40 s looped 10 times: 400 s, about 105 MB, 4x the packets).

const CACHE = "/tmp/mkserver-bench-cache";

const SHAPES = {
  "8M": { size: "1280x720", bitrate: "8M", seconds: 20, loops: 5 },
  "2M": { size: "640x360", bitrate: "2M", seconds: 40, loops: 10 },
};

/** The shapes `bigMatroska()` makes. */
export type BigShape = keyof typeof SHAPES;

async function ffmpeg(args: string[]): Promise<void> {
  const out = await new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-loglevel", "error", "-y", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffmpeg failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** The path of a 100 MB file, generating it when missing (a few seconds). */
export async function bigMatroska(shape: BigShape = "8M"): Promise<string> {
  const { size, bitrate, seconds, loops } = SHAPES[shape];
  const path = `${CACHE}/h264-opus-${bitrate}-${seconds * loops}s.mkv`;
  try {
    if ((await Deno.stat(path)).size >= 100e6) return path;
  } catch { /* not made yet */ }
  await Deno.mkdir(CACHE, { recursive: true });
  const part = `${path}.piece`;
  await ffmpeg([
    ...["-f", "lavfi", "-i", `testsrc2=size=${size}:rate=25`],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(seconds)],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    ...["-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate, "-g", "50"],
    ...["-sc_threshold", "0", "-c:a", "libopus", "-b:a", "96k", "-f", "matroska", part],
  ]);
  const tmp = `${path}.part`;
  await ffmpeg([
    "-stream_loop",
    String(loops - 1),
    "-i",
    part,
    "-c",
    "copy",
    "-f",
    "matroska",
    tmp,
  ]);
  await Deno.remove(part);
  const bytes = (await Deno.stat(tmp)).size;
  if (bytes < 100e6) throw new Error(`the generated file has only ${bytes} bytes`);
  await Deno.rename(tmp, path);
  return path;
}
