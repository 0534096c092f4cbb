// Helpers for the fMP4 tests: media made with ffmpeg at test time, ffprobe's packets, and the
// remuxed tracks written to files.
import { concatBytes } from "../lib/ebml/writer.ts";
import type { RemuxedTrack } from "../bench/_mp4_remux.ts";

const decoder = new TextDecoder();

/** Runs a command; throws with its stderr when it fails. Returns stdout and stderr. */
export async function run(
  cmd: string,
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const stderr = decoder.decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} failed: ${stderr}`);
  return { stdout: decoder.decode(out.stdout), stderr };
}

/** Video encoders of the test media: libx264/libx265 with B-frames (`-bf 2`), GOP 25. */
const VIDEO_ARGS = {
  h264: ["-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "25", "-pix_fmt", "yuv420p"],
  hevc: [
    "-c:v",
    "libx265",
    "-preset",
    "ultrafast",
    "-x265-params",
    "bframes=2:keyint=25:log-level=none",
  ],
  vp9: [
    "-c:v",
    "libvpx-vp9",
    "-deadline",
    "realtime",
    "-cpu-used",
    "8",
    "-g",
    "25",
    "-b:v",
    "200k",
  ],
  av1: ["-c:v", "libsvtav1", "-preset", "12", "-g", "25", "-svtav1-params", "lp=1"],
};

const AUDIO_ARGS = {
  aac: ["-c:a", "aac", "-b:a", "64k"],
  opus: ["-c:a", "libopus", "-b:a", "48k"],
  flac: ["-c:a", "flac"],
};

/** The video and audio codecs `makeMkv` can encode. */
export type TestVideo = keyof typeof VIDEO_ARGS;
export type TestAudio = keyof typeof AUDIO_ARGS;

/**
 * Video (320x240 at 25 fps) + audio (sine, 48 kHz) in Matroska, `seconds` long, made by ffmpeg's
 * Matroska muxer into `dir`.
 */
export async function makeMkv(
  dir: string,
  video: TestVideo,
  audio: TestAudio,
  seconds = 3,
): Promise<string> {
  const path = `${dir}/${video}_${audio}.mkv`;
  await run("ffmpeg", [
    ...["-hide_banner", "-loglevel", "error", "-nostdin", "-y"],
    ...["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"],
    ...["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", String(seconds)],
    ...VIDEO_ARGS[video],
    ...AUDIO_ARGS[audio],
    ...["-f", "matroska", path],
  ]);
  return path;
}

/** A packet as ffprobe reports it, times in its stream's time base. */
export interface ProbePacket {
  pts: number;
  dts: number | undefined;
  size: number;
  keyframe: boolean;
}

/** ffprobe's packets of the first stream of `kind` in `path`, with the stream's time base. */
export async function probePackets(
  path: string,
  kind: "v" | "a",
): Promise<{ timeBase: number; packets: ProbePacket[] }> {
  const { stdout } = await run("ffprobe", [
    ...["-v", "error", "-select_streams", `${kind}:0`, "-of", "json"],
    ...["-show_entries", "stream=time_base:packet=pts,dts,size,flags", "-show_packets", path],
  ]);
  const json = JSON.parse(stdout);
  const [num, den] = String(json.streams[0].time_base).split("/").map(Number);
  const packets = json.packets.map((p: Record<string, string>) => ({
    pts: Number(p.pts),
    dts: p.dts === undefined || p.dts === "N/A" ? undefined : Number(p.dts),
    size: Number(p.size),
    keyframe: p.flags.startsWith("K"),
  }));
  return { timeBase: num / den, packets };
}

/** Writes a remuxed track (init + chunks) to `dir/name` and returns the path and the bytes. */
export async function writeTrackFile(
  dir: string,
  name: string,
  remuxed: RemuxedTrack,
): Promise<{ path: string; bytes: Uint8Array }> {
  const bytes = concatBytes([remuxed.init, ...remuxed.chunks.flat()]);
  const path = `${dir}/${name}`;
  await Deno.writeFile(path, bytes);
  return { path, bytes };
}

/** What ffmpeg prints while decoding all of `path` (empty when it decodes clean). */
export async function decodeErrors(path: string): Promise<string> {
  const { stderr } = await run("ffmpeg", [
    "-v",
    "error",
    "-nostdin",
    "-i",
    path,
    "-f",
    "null",
    "-",
  ]);
  return stderr.trim();
}
