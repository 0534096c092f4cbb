// Pushed sources under --record: a new CodecPrivate starts a new file; a gap longer than
// --source-grace closes the file. Real tools: ffmpeg pushes at real time, mkvinfo and ffmpeg
// read the files.
import { assert, assertEquals } from "@std/assert";
import { encodeMedia } from "../bench/_media.ts";
import { listRecordings } from "../lib/record/recording_list.ts";
import { CliServer, ffmpegPush } from "./_cli.ts";
import { decode, mkvinfo } from "./_recordings.ts";
import { demux } from "./_util.ts";

const TOKEN = "push-token-for-tests";

/** 4 s of a test pattern at `size` (H.264 + Opus, a keyframe a second). */
async function encode(dir: string, size: string): Promise<string> {
  const file = `${dir}/${size}.mkv`;
  await encodeMedia(file, { seconds: 4, bitrate: 300_000, size, gop: 25 });
  return file;
}

/** The recordings of mount `cam`: each file's picture width, Duration, and ffmpeg's verdict. */
async function recorded(dir: string) {
  const out = [];
  for (const entry of await listRecordings(dir, "cam")) {
    const path = `${dir}/cam/${entry.file}`;
    const info = await mkvinfo(path);
    assertEquals(info.code, 0, info.out);
    assert(!info.segmentUnknown && info.cues > 0, info.out);
    const decoded = await decode(path);
    assertEquals([decoded.code, decoded.out], [0, ""], entry.file);
    const width = demux(await Deno.readFile(path)).header.tracks[0].width;
    out.push({ width, durationMs: entry.durationMs });
  }
  return out;
}

function near(ms: number | undefined, target: number, slack: number): boolean {
  return ms !== undefined && Math.abs(ms - target) <= slack;
}

Deno.test("--record: a source with another CodecPrivate starts a new file, a gap past --source-grace closes one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver-record-push-" });
  const rec = `${dir}/rec`;
  try {
    const [small, large] = await Promise.all([encode(dir, "320x240"), encode(dir, "640x360")]);
    await using server = await CliServer.start([
      ...["--port", "0", "--source-token", TOKEN, "--source-grace", "1", "--record", rec],
    ]);
    const url = server.url("/live/cam");
    // 1. Then a gap past the grace: the mount ends, and with it the file.
    assertEquals((await ffmpegPush(small, url, { token: TOKEN })).code, 0);
    await server.waitForLine(/Mount cam ended/);
    await server.waitForLine(/INFO Recorded \S+cam\/\S+\.mkv: /);
    // 2. The same tracks again, then at once another picture size (a new SPS and PPS).
    assertEquals((await ffmpegPush(small, url, { token: TOKEN })).code, 0);
    assertEquals((await ffmpegPush(large, url, { token: TOKEN })).code, 0);
    server.kill("SIGTERM");
    assertEquals(await server.exit(), 0);
    const files = await recorded(rec);
    assertEquals(files.map((f) => f.width), [320, 320, 640], JSON.stringify(files));
    for (const f of files) assert(near(f.durationMs, 4000, 1000), JSON.stringify(files));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
