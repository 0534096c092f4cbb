/**
 * Test media for the benchmarks, generated with ffmpeg from its `testsrc2` and `sine` sources
 * (so no media file has to be kept in the repository), and a cache for the files that take long
 * to make.
 *
 * @module
 */

const decoder = new TextDecoder();

/** Where generated files are kept across runs (`cachedFile`). */
export const MEDIA_CACHE = "/tmp/mkserver-bench-cache";

/** What `encodeMedia` and `makeMedia` generate. */
export interface MediaOptions {
  /** Length of the stream. */
  seconds: number;
  /** Video bitrate, bits/s. */
  bitrate: number;
  /** Frames per second. Default 25. */
  fps?: number;
  /** Frames from one keyframe to the next. Default `2 * fps` (a 2-s GOP). */
  gop?: number;
  /** Video size. Default `640x360`. */
  size?: string;
  /**
   * `h264` (default): x264 ultrafast in Matroska, which encodes a minute in about 2 s here.
   * `vp8`: libvpx realtime in WebM, about 11 s a minute, for servers that take only WebM
   * (Icecast).
   */
  codec?: "h264" | "vp8";
  /** Opus bitrate, bits/s. Default 64000. */
  audioBitrate?: number;
}

/**
 * The video encoder's arguments. Both hold the bitrate per GOP (x264 with VBV at one second,
 * libvpx in CBR: min = max = target) and put a keyframe exactly every `gop` frames, never one
 * more on a scene cut, so every GOP is the same length; neither uses B-frames or alternate
 * reference frames, so frames arrive in presentation order, as a live encoder sends them.
 */
function videoArgs(codec: "h264" | "vp8", kbps: number, gop: number): string[] {
  const keyframes = ["-g", String(gop), "-keyint_min", String(gop)];
  if (codec === "vp8") {
    return [
      ...["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"],
      ...["-b:v", `${kbps}k`, "-minrate", `${kbps}k`, "-maxrate", `${kbps}k`],
      ...["-bufsize", `${Math.round(kbps / 2)}k`],
      ...keyframes,
      ...["-auto-alt-ref", "0", "-lag-in-frames", "0", "-threads", "2"],
    ];
  }
  return [
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"],
    ...["-b:v", `${kbps}k`, "-maxrate", `${kbps}k`, "-bufsize", `${kbps}k`],
    ...keyframes,
    ...["-sc_threshold", "0"],
  ];
}

/** Generates a test stream into `path` (overwritten): video (see `MediaOptions`) and Opus. */
export async function encodeMedia(path: string, options: MediaOptions): Promise<void> {
  const fps = options.fps ?? 25;
  const codec = options.codec ?? "h264";
  const args = [
    ...["-hide_banner", "-loglevel", "error", "-y"],
    ...["-f", "lavfi", "-i", `testsrc2=size=${options.size ?? "640x360"}:rate=${fps}`],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
    ...["-t", String(options.seconds)],
    ...videoArgs(codec, Math.round(options.bitrate / 1000), options.gop ?? 2 * fps),
    ...["-c:a", "libopus", "-b:a", `${Math.round((options.audioBitrate ?? 64_000) / 1000)}k`],
    ...["-f", codec === "vp8" ? "webm" : "matroska", path],
  ];
  const out = await new Deno.Command("ffmpeg", { args, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`ffmpeg failed: ${decoder.decode(out.stderr)}`);
}

/**
 * Generates a test stream (see `MediaOptions`) in a new temporary directory `dir`, which the
 * caller removes.
 */
export async function makeMedia(options: MediaOptions): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "mkserver-bench-" });
  const path = `${dir}/live.${options.codec === "vp8" ? "webm" : "mkv"}`;
  try {
    await encodeMedia(path, options);
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
  return { path, dir };
}

/** Options of `cachedFile`. */
export interface CachedFileOptions {
  /** A smaller file counts as missing, and a smaller result of `make` is an error. Default 1. */
  minBytes?: number;
  /** The cache directory. Default `MEDIA_CACHE`. */
  dir?: string;
}

/**
 * The path of `name` in the cache, made first with `make(path)` when it is missing or too small.
 * `make` writes a temporary file of this process, renamed into place once complete, so an
 * interrupted run or another run making the same file at once never leaves a partial file under
 * the cached name.
 */
export async function cachedFile(
  name: string,
  make: (path: string) => Promise<void>,
  options: CachedFileOptions = {},
): Promise<string> {
  const minBytes = options.minBytes ?? 1;
  const dir = options.dir ?? MEDIA_CACHE;
  const path = `${dir}/${name}`;
  try {
    if ((await Deno.stat(path)).size >= minBytes) return path;
  } catch { /* not made yet */ }
  await Deno.mkdir(dir, { recursive: true });
  const tmp = `${path}.${Deno.pid}.tmp`;
  try {
    await make(tmp);
    const bytes = (await Deno.stat(tmp)).size;
    if (bytes < minBytes) throw new RangeError(`The generated ${name} has only ${bytes} bytes`);
    await Deno.rename(tmp, path);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return path;
}

/** What `liveEncoder` sends. */
export interface LiveEncoderOptions {
  /** Seconds from one keyframe to the next. Default 2. */
  gop?: number;
  /** Video bitrate, bits/s. Default 1.5 Mbit/s. */
  bitrate?: number;
}

/**
 * ffmpeg as a live encoder, the way users feed mkserver: `-re` from `testsrc2` and `sine`, 25 fps
 * 640x360 H.264 (x264 veryfast, B-frames, a fixed GOP) + AAC, Matroska on stdout. Pipe its
 * `stdout` into `mkserver -`; it runs until killed.
 */
export function liveEncoder(options: LiveEncoderOptions = {}): Deno.ChildProcess {
  const gop = String(Math.round((options.gop ?? 2) * 25));
  const kbps = Math.round((options.bitrate ?? 1_500_000) / 1000);
  return new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"],
      ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"],
      ...["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-b:v", `${kbps}k`],
      ...["-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-bf", "2"],
      ...["-c:a", "aac", "-b:a", "96k", "-f", "matroska", "-"],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}
