/**
 * VLC 3 plays mkserver's HLS (CMAF) of an H.264 + AAC source. VLC decodes both renditions and
 * re-encodes what it decoded into an MPEG-TS file (`--sout '#transcode{…}'`), which ffprobe then
 * counts frame by frame and ffmpeg decodes: frames in that file can only come from VLC's own
 * decoders. VLC refuses to run as root, so as root it runs as `nobody` (`runuser`), writing into a
 * directory open to it.
 */

import { assert, assertEquals } from "@std/assert";
import { until } from "../bench/_proc.ts";
import { CliServer, run } from "./_cli.ts";

/** `cvlc ARGS`, as `nobody` when this process is root. */
function vlcCommand(args: string[]): [string, string[]] {
  return Deno.uid() === 0 ? ["runuser", ["-u", "nobody", "--", "cvlc", ...args]] : ["cvlc", args];
}

/** ffprobe's frame count per codec of `path`. */
async function frameCounts(path: string): Promise<Map<string, number>> {
  const probe = await run("ffprobe", [
    "-v",
    "error",
    "-count_frames",
    "-show_entries",
    "stream=codec_name,nb_read_frames",
    "-of",
    "csv=p=0",
    path,
  ]);
  assertEquals(probe.code, 0, probe.stderr);
  const counts = new Map<string, number>();
  for (const line of probe.stdout.trim().split("\n")) {
    const [codec, frames] = line.split(",");
    if (codec) counts.set(codec, Math.max(counts.get(codec) ?? 0, Number(frames)));
  }
  return counts;
}

Deno.test("VLC 3 plays the HLS of H.264 + AAC: video and audio decoded", async () => {
  await using server = await CliServer.start(["--port", "0", "--loop", "testdata/h264_aac.mkv"]);
  const url = server.url("/live/stream/index.m3u8");
  // VLC starts three segments back from the newest: wait until the playlist has six.
  assert(
    await until(async () => {
      const r = await fetch(server.url("/live/stream/hls/v1.m3u8")).catch(() => undefined);
      const text = (await r?.text()) ?? "";
      return r?.status === 200 && text.split("#EXTINF:").length > 6;
    }, 40_000),
    `the playlist never held six segments:\n${server.log}`,
  );
  const dir = await Deno.makeTempDir();
  try {
    await Deno.chmod(dir, 0o777);
    const out = `${dir}/decoded.ts`;
    const [command, args] = vlcCommand([
      "-vv",
      "--play-and-exit",
      "--run-time=20",
      "--sout",
      `#transcode{vcodec=mp2v,vb=800,acodec=mpga,ab=128}:std{access=file,mux=ts,dst=${out}}`,
      url,
    ]);
    const vlc = await run("timeout", ["-s", "KILL", "40", command, ...args], {
      timeout: 45_000,
    });
    const log = vlc.stderr;
    assert(!log.includes("Failed to create demuxer"), log.slice(-4000));
    assert(/using video decoder module "avcodec"/.test(log), "no H.264 decoder in VLC's log");
    assert(/using audio decoder module "faad"/.test(log), "no AAC decoder in VLC's log");
    // It fetched the init and media segments of both renditions from mkserver.
    for (const rendition of ["v1", "a2"]) {
      const segments = new Set(
        [...log.matchAll(new RegExp(`GET /live/stream/e/\\w+/${rendition}/(\\d+)\\.m4s`, "g"))]
          .map((m) => m[1]),
      );
      assert(segments.size >= 3, `VLC fetched ${segments.size} ${rendition} segments`);
    }
    // What VLC decoded, re-encoded: at least 4 s of each (25 fps video; MPEG audio frames of
    // 1152 samples at 48 kHz).
    const counts = await frameCounts(out);
    const video = counts.get("mpeg2video") ?? 0;
    const audio = counts.get("mp2") ?? 0;
    assert(video >= 100 && audio >= 166, `VLC decoded ${video} video, ${audio} audio frames`);
    // A/V in step: their durations within 1 s of each other.
    assert(Math.abs(video / 25 - audio * 1152 / 48000) < 1, `${video} vs ${audio} frames`);
    const decoded = await run("ffmpeg", ["-v", "error", "-nostdin", "-i", out, "-f", "null", "-"]);
    assertEquals([decoded.code, decoded.stderr], [0, ""]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
