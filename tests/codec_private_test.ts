// A new source with another H.264 setup (SPS/PPS, here another picture size) is a different
// track set: the viewers of the old one get a clean end, and new viewers a header of their own.
// Real tools: two ffmpeg encodes pushed one after the other to /live/NAME.
import { assert, assertEquals, assertGreater } from "@std/assert";
import { encodeMedia } from "../bench/_media.ts";
import { CliServer, ffmpegPush } from "./_cli.ts";
import { decodeBytes, demux } from "./_util.ts";

const TOKEN = "push-token-for-tests";

/** Encodes 4 s of a test pattern at `size` (H.264 + Opus in Matroska, a keyframe a second). */
async function encode(dir: string, size: string): Promise<string> {
  const file = `${dir}/${size}.mkv`;
  await encodeMedia(file, { seconds: 4, bitrate: 300_000, size, gop: 25 });
  return file;
}

/** Pushes `file` at real time (`-re -c copy`) to `url` with the source token. */
function push(file: string, url: string) {
  return ffmpegPush(file, url, { token: TOKEN });
}

/**
 * Reads a whole response body: its bytes, or the error when it was cut off rather than ended
 * (settled either way, so a failing test reports it instead of leaking a rejection).
 */
async function capture(url: string): Promise<Uint8Array | Error> {
  try {
    const response = await fetch(url);
    if (response.status !== 200) {
      await response.body?.cancel();
      return new Error(`${url}: status ${response.status}`);
    }
    return new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    return error as Error;
  }
}

function assertBody(body: Uint8Array | Error, label: string): Uint8Array {
  if (body instanceof Error) throw new Error(`${label}: the body did not end cleanly: ${body}`);
  return body;
}

/** ffmpeg decodes `bytes` without a word on stderr. */
async function assertDecodes(bytes: Uint8Array, label: string): Promise<void> {
  const result = await decodeBytes(bytes, "mkv");
  assertEquals([result.code, result.text], [0, ""], `${label}: ffmpeg reported errors`);
}

Deno.test("CodecPrivate: a source of another size ends the old viewers' stream cleanly; new viewers get the new size", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver-codec-private-" });
  try {
    const [small, large] = await Promise.all([
      encode(dir, "320x240"),
      encode(dir, "640x360"),
    ]);
    await using server = await CliServer.start([
      "--port",
      "0",
      "--source-token",
      TOKEN,
      "--source-grace",
      "30",
    ]);
    const url = server.url("/live/cam");
    const first = push(small, url);
    await server.waitForLine(/Stream header/);
    const early = capture(url); // watches the 320x240 source, then its grace period
    assertEquals((await first).code, 0);
    await server.waitForLine(/source gone; keeping its viewers/);
    const second = push(large, url);
    await server.waitForLine(/other tracks or codec setup; starting a new stream/);
    const late = capture(url);
    const oldBytes = assertBody(await early, "old viewer"); // ends: the old stream is over
    const old = demux(oldBytes);
    assertEquals([old.header.tracks[0].width, old.header.tracks[0].height], [320, 240]);
    assertGreater(old.blocks.length, 25);
    assert(old.blocks.every((b) => b.frames.length > 0));
    await assertDecodes(oldBytes, "old");
    assertEquals((await second).code, 0);
    server.kill("SIGTERM"); // ends the mount in its grace period: the late viewer's end
    const lateBytes = assertBody(await late, "new viewer");
    const fresh = demux(lateBytes);
    assertEquals([fresh.header.tracks[0].width, fresh.header.tracks[0].height], [640, 360]);
    assertGreater(fresh.blocks.length, 10);
    assert(fresh.blocks[0].keyframe, "the new stream starts on a keyframe");
    await assertDecodes(lateBytes, "new");
    assertEquals(await server.exit(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
