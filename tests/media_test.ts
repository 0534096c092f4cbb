// bench/_media.ts: the generated bench media keeps the shape the benchmarks count on, and the
// cache never leaves a partial file under a cached name.
import { assert, assertEquals, assertRejects } from "@std/assert";
import { cachedFile, encodeMedia, type MediaOptions } from "../bench/_media.ts";
import { demux } from "./_util.ts";

/** The codec IDs and the video keyframes' frame numbers of a generated stream. */
async function shapeOf(options: MediaOptions) {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/media`;
    await encodeMedia(path, options);
    const { header, blocks } = demux(await Deno.readFile(path));
    const video = header.tracks.find((t) => t.kind === "video");
    assert(video !== undefined, "a video track");
    const frames = blocks.filter((b) => b.track === video.number);
    return {
      codecs: header.tracks.map((t) => t.codecId).sort(),
      size: `${video.width}x${video.height}`,
      frames: frames.length,
      keyframes: frames.flatMap((b, i) => b.keyframe ? [i] : []),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("encodeMedia makes H.264 + Opus with a keyframe exactly every `gop` frames", async () => {
  const shape = await shapeOf({ seconds: 2, bitrate: 300_000, fps: 10, gop: 5, size: "160x90" });
  assertEquals(shape.codecs, ["A_OPUS", "V_MPEG4/ISO/AVC"]);
  assertEquals(shape.size, "160x90");
  assertEquals(shape.frames, 20);
  assertEquals(shape.keyframes, [0, 5, 10, 15]);
});

Deno.test("encodeMedia with codec vp8 makes VP8 + Opus with a keyframe exactly every `gop` frames", async () => {
  const shape = await shapeOf({
    codec: "vp8",
    seconds: 2,
    bitrate: 300_000,
    fps: 10,
    gop: 5,
    size: "160x90",
  });
  assertEquals(shape.codecs, ["A_OPUS", "V_VP8"]);
  assertEquals(shape.frames, 20);
  assertEquals(shape.keyframes, [0, 5, 10, 15]);
});

Deno.test("cachedFile makes a file once, and keeps nothing when making it fails or falls short", async () => {
  const dir = await Deno.makeTempDir();
  try {
    let made = 0;
    const make = async (path: string) => {
      made++;
      await Deno.writeTextFile(path, "media");
    };
    const path = await cachedFile("a.mkv", make, { dir });
    assertEquals(path, `${dir}/a.mkv`);
    assertEquals(await cachedFile("a.mkv", make, { dir }), path);
    assertEquals(made, 1);
    assertEquals(await Deno.readTextFile(path), "media");

    await assertRejects(
      () => cachedFile("b.mkv", make, { dir, minBytes: 100 }),
      RangeError,
      "has only 5 bytes",
    );
    await assertRejects(
      () =>
        cachedFile("c.mkv", async (p) => {
          await Deno.writeTextFile(p, "part");
          throw new Error("ffmpeg failed");
        }, { dir }),
      Error,
      "ffmpeg failed",
    );
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
    assertEquals(left, ["a.mkv"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
