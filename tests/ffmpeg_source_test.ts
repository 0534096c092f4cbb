import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { concatBytes } from "../lib/ebml/writer.ts";
import {
  describeFfmpegMissing,
  ffmpegAvailable,
  openFfmpegSource,
} from "../lib/ingest/ffmpeg_source.ts";
import type { Logger } from "../lib/log.ts";
import { demux, randomChunks } from "./_util.ts";

const EBML_MAGIC = [0x1A, 0x45, 0xDF, 0xA3];

/** Runs a tool to completion, failing with its error output. */
async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assertEquals(out.code, 0, `${cmd} failed: ${text.decode(out.stderr)}`);
  return text.decode(out.stdout);
}

/** The codec names ffprobe lists for a file, in stream order. */
async function codecs(path: string): Promise<string[]> {
  const out = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_name",
    "-of",
    "json",
    path,
  ]);
  const streams: { codec_name: string }[] = JSON.parse(out).streams;
  return streams.map((s) => s.codec_name);
}

/** `seconds` of test pattern and tone, H.264 + AAC, as `name` (an `.mp4` is written faststart). */
async function makeClip(
  dir: string,
  name: string,
  seconds = 1,
): Promise<string> {
  const path = `${dir}/${name}`;
  await run("ffmpeg", [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    "-f",
    "lavfi",
    "-i",
    "testsrc=size=160x120:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    String(seconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "25",
    "-c:a",
    "aac",
    "-b:a",
    "64k",
    ...(name.endsWith(".mp4") ? ["-movflags", "+faststart"] : []),
    path,
  ]);
  return path;
}

function recorder() {
  const lines: string[] = [];
  const add = (level: string) => (message: string) => lines.push(`${level} ${message}`);
  const log: Logger = {
    error: add("error"),
    warn: add("warn"),
    info: add("info"),
    debug: add("debug"),
  };
  return { log, lines };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return concatBytes(chunks);
}

/** The PIDs of running processes whose argv[0] is `exe` (Linux /proc). */
async function pidsOf(exe: string): Promise<number[]> {
  const pids: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const cmdline = await Deno.readTextFile(`/proc/${entry.name}/cmdline`);
      if (cmdline.split("\0")[0] === exe) pids.push(Number(entry.name));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

Deno.test("openFfmpegSource remuxes MP4 and MPEG-TS files to Matroska with the same codecs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_ffmpeg_" });
  try {
    for (const name of ["clip.mp4", "clip.ts"]) {
      const input = await makeClip(dir, name);
      const { log, lines } = recorder();
      const bytes = await readAll(openFfmpegSource(input, { log }));
      assertEquals(Array.from(bytes.subarray(0, 4)), EBML_MAGIC, name);
      const output = `${dir}/${name}.mkv`;
      await Deno.writeFile(output, bytes);
      assertEquals(await codecs(output), await codecs(input), name);
      assertEquals(await codecs(output), ["h264", "aac"]);
      // mkserver's own demuxer reads it: both tracks, 25 video frames.
      const { header, blocks } = demux(bytes);
      assertEquals(header.tracks.length, 2);
      const video = header.tracks.find((t) => t.kind === "video")!;
      assertEquals(blocks.filter((b) => b.track === video.number).length, 25);
      if (name === "clip.mp4") assertEquals(lines, []);
      else {
        // ADTS AAC cannot be copied into piped Matroska: ffmpeg is restarted to re-encode it.
        assertStringIncludes(lines.join("\n"), "Error parsing AAC extradata");
        assertStringIncludes(lines.at(-1)!, "restarting it with the audio re-encoded");
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFfmpegSource remuxes MP4 bytes fed as a stream", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_ffmpeg_" });
  try {
    const input = await makeClip(dir, "clip.mp4");
    const file = await Deno.open(input);
    const bytes = await readAll(openFfmpegSource(file.readable));
    assertEquals(Array.from(bytes.subarray(0, 4)), EBML_MAGIC);
    await Deno.writeFile(`${dir}/out.mkv`, bytes);
    assertEquals(await codecs(`${dir}/out.mkv`), ["h264", "aac"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFfmpegSource replays a piped MPEG-TS to the restarted ffmpeg", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_ffmpeg_" });
  try {
    // Longer than ffmpeg's probe (5 s): the first ffmpeg fails having read only part of it.
    const ts = await Deno.readFile(await makeClip(dir, "clip.ts", 12));
    const { log, lines } = recorder();
    const bytes = await readAll(
      openFfmpegSource(ReadableStream.from(randomChunks(ts, 7, 3000)), { log }),
    );
    assertStringIncludes(lines.join("\n"), "restarting it with the audio re-encoded");
    await Deno.writeFile(`${dir}/out.mkv`, bytes);
    assertEquals(await codecs(`${dir}/out.mkv`), ["h264", "aac"]);
    const { header, blocks } = demux(bytes);
    const video = header.tracks.find((t) => t.kind === "video")!;
    assertEquals(blocks.filter((b) => b.track === video.number).length, 300);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFfmpegSource cancel() kills ffmpeg and stops feeding it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_ffmpeg_" });
  // A link with a unique path: it tells this test's ffmpeg from any other.
  const exe = `${dir}/ffmpeg`;
  await Deno.symlink((await run("which", ["ffmpeg"])).trim(), exe);
  try {
    // An endless source that ffmpeg opens itself.
    const clip = await makeClip(dir, "clip.mp4");
    const endless = openFfmpegSource(clip, {
      ffmpegPath: exe,
      inputArgs: ["-stream_loop", "-1"],
    });
    const reader = endless.getReader();
    assert((await reader.read()).value!.length > 0);
    const [pid] = await pidsOf(exe);
    assert(pid > 0, "ffmpeg is running");
    await reader.cancel();
    assertEquals(await pidsOf(exe), []);
    await assertRejects(() => Deno.stat(`/proc/${pid}`), Deno.errors.NotFound);

    // An endless input stream: cancelling the output also cancels the input.
    let inputCancelled = false;
    const input = new ReadableStream<Uint8Array>({
      pull: () => new Promise(() => {}), // nothing ever arrives
      cancel() {
        inputCancelled = true;
      },
    });
    const fed = openFfmpegSource(input, { ffmpegPath: exe });
    const fedReader = fed.getReader();
    const pending = fedReader.read();
    while ((await pidsOf(exe)).length === 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    await fedReader.cancel();
    assertEquals((await pending).done, true);
    assertEquals(inputCancelled, true);
    assertEquals(await pidsOf(exe), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFfmpegSource ends cleanly on signal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_ffmpeg_" });
  try {
    const stop = new AbortController();
    const stream = openFfmpegSource(await makeClip(dir, "clip.mp4"), {
      inputArgs: ["-stream_loop", "-1", "-re"],
      signal: stop.signal,
    });
    const reader = stream.getReader();
    assert((await reader.read()).value!.length > 0);
    stop.abort();
    while (!(await reader.read()).done) {
      // what ffmpeg wrote before it died
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openFfmpegSource errors with ffmpeg's exit code and message on bad input", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_ffmpeg_" });
  try {
    const bad = `${dir}/bad.mp4`;
    await Deno.writeTextFile(bad, "this is not a video\n".repeat(100));
    const { log, lines } = recorder();
    const error = await assertRejects(
      () => readAll(openFfmpegSource(bad, { log })),
      Error,
      "ffmpeg exited with code 1: ",
    );
    assertStringIncludes(error.message, "Invalid data found when processing input");
    // What ffmpeg said is in the error, not logged apart as well (debug lines aside).
    assert(lines.some((l) => l.startsWith("debug ffmpeg: ")), lines.join("\n"));
    assertEquals(lines.filter((l) => !l.startsWith("debug ")), []);

    // The same through a stream: ffmpeg stops reading, the error is still ffmpeg's.
    await assertRejects(
      () =>
        readAll(
          openFfmpegSource(
            ReadableStream.from([new TextEncoder().encode("garbage ".repeat(10000))]),
          ),
        ),
      Error,
      "ffmpeg exited with code",
    );
    await assertRejects(
      () => readAll(openFfmpegSource(`${dir}/missing.mp4`)),
      Error,
      "No such file or directory",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ffmpegAvailable and a missing ffmpeg", async () => {
  assertEquals(await ffmpegAvailable(), true);
  assertEquals(
    await ffmpegAvailable({ ffmpegPath: "/nonexistent/ffmpeg" }),
    false,
  );
  assertThrows(
    () => openFfmpegSource("x.mp4", { ffmpegPath: "/nonexistent/ffmpeg" }),
    Deno.errors.NotFound,
  );
  assertEquals(
    describeFfmpegMissing("mp4", "movie.mp4"),
    "Input movie.mp4 is mp4, not Matroska/WebM: install ffmpeg to have mkserver remux it (apt-get install ffmpeg)",
  );
  assertStringIncludes(
    describeFfmpegMissing("unknown", "-"),
    "Input - is not Matroska/WebM: install ffmpeg",
  );
});
