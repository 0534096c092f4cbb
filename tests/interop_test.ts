/**
 * Interoperability: real tools (ffmpeg, ffprobe, mkvinfo) against the `mkserver` CLI serving
 * each fixture over HTTP, from a file (paced) and from standard input (as it arrives).
 *
 * These tests need ffmpeg, ffprobe and mkvinfo (MKVToolNix) on PATH, and fail (not skip)
 * without them: a missing tool must not pass as green.
 *
 * Decoding runs at `-v warning`, not `-v error`: ffmpeg's VP8 decoder reports a stream that
 * starts mid-GOP ("Discarding interframe without a prior keyframe!", then "Error while
 * decoding stream") at warning level only, so `-v error` would not see a bad join. The
 * fixtures decode with no warning at all from the files themselves.
 */

import {
  assert,
  assertEquals,
  assertGreater,
  AssertionError,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
} from "@std/assert";
import { CliServer, fixturePath, run, type RunResult } from "./_cli.ts";

/** What each fixture is served as. */
interface Fixture {
  name: string;
  contentType: string;
  video: boolean;
}

const FIXTURES: Fixture[] = [
  { name: "sample.webm", contentType: "video/webm", video: true },
  { name: "h264_aac.mkv", contentType: "video/x-matroska", video: true },
  {
    name: "h264_blockgroups.mkv",
    contentType: "video/x-matroska",
    video: true,
  },
  { name: "midgop_clusters.mkv", contentType: "video/x-matroska", video: true },
  { name: "unknown_size.webm", contentType: "video/webm", video: true },
  { name: "audio_only.webm", contentType: "audio/webm", video: false },
  { name: "long_gop.webm", contentType: "video/webm", video: true },
];

/** Seconds of media each decode check decodes from a paced file. */
const DECODE_SECONDS = "3";
/** How long the mkvinfo check records the stream (ms). */
const CAPTURE_MS = 2500;

const TOOLS: Array<[string, string[]]> = [
  ["ffmpeg", ["-version"]],
  ["ffprobe", ["-version"]],
  ["mkvinfo", ["--version"]],
];

let toolCheck: Promise<void> | undefined;

/** Fails (with what to install) unless ffmpeg, ffprobe and mkvinfo all run. */
function requireTools(): Promise<void> {
  toolCheck ??= (async () => {
    const missing: string[] = [];
    for (const [tool, args] of TOOLS) {
      try {
        const { code } = await run(tool, args, { timeout: 10_000 });
        if (code !== 0) {
          missing.push(`${tool} (\`${tool} ${args[0]}\` exited ${code})`);
        }
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        missing.push(`${tool} (not found on PATH)`);
      }
    }
    if (missing.length > 0) {
      throw new AssertionError(
        `The interop tests need ffmpeg, ffprobe and mkvinfo; missing: ${
          missing.join(", ")
        }. Install them (Debian: apt-get install ffmpeg mkvtoolnix).`,
      );
    }
  })();
  return toolCheck;
}

/**
 * Like `Promise.all`, but waits for every promise before throwing the first rejection, so a
 * failing check never leaves another check's child process running past the test.
 */
async function all<T extends readonly unknown[]>(
  promises: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(promises);
  for (const result of results) {
    if (result.status === "rejected") throw result.reason;
  }
  return results.map((result) => (result as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Asserts a tool run exited 0 and printed nothing on stderr. */
function assertClean(result: RunResult, what: string): void {
  assertEquals(
    { code: result.code, stderr: result.stderr },
    { code: 0, stderr: "" },
    `${what} failed`,
  );
}

/**
 * Decodes `input` with ffmpeg into the null muxer. Returns the run and the number of video
 * frames decoded (from `-progress`).
 */
async function decode(
  input: string,
  extra: readonly string[] = [],
): Promise<{ result: RunResult; frames: number }> {
  const result = await run("ffmpeg", [
    "-nostdin",
    "-nostats",
    "-v",
    "warning",
    "-i",
    input,
    ...extra,
    "-progress",
    "pipe:1",
    "-f",
    "null",
    "-",
  ], { timeout: 30_000 });
  const frames = [...result.stdout.matchAll(/^frame=(\d+)$/gm)].at(-1)?.[1];
  return { result, frames: Number(frames ?? 0) };
}

/** The codec name and type of each stream ffprobe finds in `input`. */
async function probeStreams(
  input: string,
): Promise<Array<{ codec_name: string; codec_type: string }>> {
  const result = await run("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "stream=codec_name,codec_type",
    "-of",
    "json",
    input,
  ], { timeout: 30_000 });
  assertClean(result, `ffprobe ${input}`);
  const streams = JSON.parse(result.stdout).streams;
  assert(
    Array.isArray(streams),
    `ffprobe printed no streams: ${result.stdout}`,
  );
  return streams;
}

/**
 * Records the stream at `url` for `ms` milliseconds, then cancels the body (the recording may
 * end inside a Cluster, as any live recording stopped at an arbitrary moment does).
 */
async function capture(url: string, ms: number): Promise<Uint8Array> {
  const response = await fetch(url);
  const reader = response.body!.getReader();
  const chunks: Uint8Array[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), ms);
  });
  try {
    assertEquals(response.status, 200);
    for (;;) {
      const read = await Promise.race([reader.read(), expired]);
      if (read === "expired" || read.done) break;
      chunks.push(read.value);
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/**
 * Records ~2.5 s of the stream into a file and checks it with mkvinfo: a clean parse (exit 0,
 * no warnings), the live header's shape (Segment of unknown size, no Duration, the file's
 * tracks), and the first video frame (or, audio-only, the first frame) a keyframe.
 *
 * mkvinfo exits 0 on a recording cut inside a Cluster (it stops at the end of the data, as
 * for `truncated.webm`), so the recording is not trimmed to whole Clusters.
 */
async function checkCaptureWithMkvinfo(
  url: string,
  fixture: Fixture,
  dir: string,
): Promise<void> {
  const bytes = await capture(url, CAPTURE_MS);
  assertGreater(bytes.length, 1000, "the recording is nearly empty");
  const path = `${dir}/capture_${fixture.name}`;
  await Deno.writeFile(path, bytes);

  const [info, summary, original] = await all([
    run("mkvinfo", [path]),
    run("mkvinfo", ["--summary", path]),
    run("mkvinfo", [fixturePath(fixture.name)]),
  ]);
  assertClean(info, `mkvinfo on the recording of ${fixture.name}`);
  assertClean(summary, `mkvinfo --summary on the recording of ${fixture.name}`);
  assertStringIncludes(info.stdout, "+ Segment: size unknown");
  assertNotMatch(info.stdout, /^\| \+ Duration:/m, "Info has a Duration");
  assertNotMatch(info.stdout, /^\|\+ (Seek head|Cues|Chapters)/m);
  const tracks = (text: string) => text.match(/^\| \+ Track$/gm)?.length ?? 0;
  assertEquals(tracks(info.stdout), tracks(original.stdout), "track count");
  assertMatch(info.stdout, /^\|\+ Cluster$/m, "no Cluster in the recording");

  const frames = summary.stdout.split("\n").filter((line) => / frame, track \d+,/.test(line));
  assertGreater(frames.length, 0, `no frames:\n${summary.stdout}`);
  const first = fixture.video ? frames.find((line) => line.includes(", track 1,")) : frames[0];
  assertMatch(
    first ?? "(none)",
    /^I frame/,
    `the first ${fixture.video ? "video " : ""}frame is not a keyframe`,
  );
}

/** Checks the stream response's headers with a HEAD request. */
async function checkHeaders(url: string, fixture: Fixture): Promise<void> {
  const response = await fetch(url, { method: "HEAD" });
  await response.body?.cancel();
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), fixture.contentType);
  assertEquals(response.headers.get("content-length"), null);
  assertEquals(response.headers.get("cache-control"), "no-store");
  assertEquals(response.headers.get("access-control-allow-origin"), "*");
}

/** Stops a server that may still be playing its file, and asserts a clean exit. */
async function stopCleanly(server: CliServer): Promise<void> {
  server.kill("SIGTERM");
  const code = await server.exit(15_000);
  assertEquals(code, 0, `mkserver exited ${code}; its log:\n${server.log}`);
  const bad = server.lines.filter((line) => / (ERROR|WARN) /.test(line));
  assertEquals(bad, [], `mkserver logged errors or warnings:\n${server.log}`);
}

Deno.test("interop: ffmpeg, ffprobe and mkvinfo are installed", async () => {
  await requireTools();
});

for (const fixture of FIXTURES) {
  Deno.test(
    `interop: ffmpeg decodes ${fixture.name} served over HTTP without errors, mkvinfo parses a recording and ffprobe sees the file's streams`,
    async () => {
      await requireTools();
      const file = fixturePath(fixture.name);
      const [expected, fromFile] = await all([
        probeStreams(file),
        decode(file, ["-t", DECODE_SECONDS]),
      ]);
      assertClean(fromFile.result, `ffmpeg on the file ${fixture.name}`);
      const dir = await Deno.makeTempDir({ prefix: "mkserver_interop_" });
      try {
        await using server = await CliServer.start(["--port", "0", file]);
        const url = server.url();
        await checkHeaders(url, fixture);
        // Three viewers at once: the file is played in real time, so running them one after
        // the other would make the later ones miss a short file's end.
        const [decoded, , probed] = await all([
          decode(url, ["-t", DECODE_SECONDS]),
          checkCaptureWithMkvinfo(url, fixture, dir),
          probeStreams(url),
        ]);
        assertClean(decoded.result, `ffmpeg on ${url}`);
        if (fixture.video) assertGreater(decoded.frames, 0, "no video frames");
        assertEquals(probed, expected, "ffprobe: stream vs file");
        await stopCleanly(server);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

/** The byte offset of the second Cluster of a fixture (where its second GOP begins). */
function secondClusterOffset(bytes: Uint8Array): number {
  const offsets: number[] = [];
  for (let i = 0; i + 4 <= bytes.length && offsets.length < 2; i++) {
    if (
      bytes[i] === 0x1F && bytes[i + 1] === 0x43 && bytes[i + 2] === 0xB6 &&
      bytes[i + 3] === 0x75
    ) offsets.push(i);
  }
  assertEquals(offsets.length, 2, "no second Cluster found");
  return offsets[1];
}

/** Polls `/status` until `done(mount)` holds. */
async function waitForStatus(
  server: CliServer,
  done: (mount: { viewers: number; bytesOut: number }) => boolean,
  timeout = 10_000,
): Promise<void> {
  const deadline = performance.now() + timeout;
  for (;;) {
    const response = await fetch(server.url("/status"));
    const mount = (await response.json()).mounts[0];
    if (done(mount)) return;
    if (performance.now() > deadline) {
      throw new Error(
        `/status never reached the expected state: ${JSON.stringify(mount)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const name of ["sample.webm", "h264_aac.mkv"]) {
  Deno.test(
    `interop: ffmpeg decodes ${name} piped into \`mkserver -\` without errors`,
    async () => {
      await requireTools();
      const file = fixturePath(name);
      const [bytes, fromFile] = await all([
        Deno.readFile(file),
        decode(file),
      ]);
      assertClean(fromFile.result, `ffmpeg on the file ${name}`);
      const split = secondClusterOffset(bytes);
      await using server = await CliServer.start(["--port", "0", "-"], {
        stdin: true,
      });
      assertStringIncludes(server.log, "Serving standard input at");
      // Standard input is not paced: it all arrives at once, and a viewer starts at the newest
      // keyframe. To check that a viewer gets every frame, start it first (it waits for the
      // stream's header), send the first GOP, wait until the viewer is reading it, and only
      // then send the rest.
      const viewer = decode(server.url());
      try {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await server.write(bytes.subarray(0, split));
        await server.waitForLine(/ INFO Viewer #1 joined/, 10_000);
        // More than the header was handed out: its cursor is on the first GOP.
        await waitForStatus(server, (m) => m.bytesOut > 10_000);
        await server.write(bytes.subarray(split));
        await server.closeStdin();
      } catch (error) {
        server.kill("SIGKILL"); // so the viewer ends too
        await viewer.catch(() => {});
        throw error;
      }
      const { result, frames } = await viewer;
      assertClean(result, `ffmpeg on ${server.url()} (stdin)`);
      assertEquals(frames, fromFile.frames, "video frames: stream vs file");
      // The input ended and the only viewer got everything: mkserver exits 0 by itself.
      const code = await server.exit(15_000);
      assertEquals(code, 0, server.log);
      assertStringIncludes(
        server.log,
        `Input ended after ${bytes.length} bytes`,
      );
      assertMatch(server.log, /Viewer #1 finished/);
    },
  );
}

// A viewer that joined before the first Cluster was cut must get every GOP that arrives in a
// burst after it joined (standard input, a source catching up), not only the newest.
Deno.test({
  name:
    "interop: a viewer that joins `mkserver -` before the first Cluster gets every frame of h264_aac.mkv",
  async fn() {
    await requireTools();
    const file = fixturePath("h264_aac.mkv");
    const [bytes, fromFile] = await all([
      Deno.readFile(file),
      decode(file),
    ]);
    await using server = await CliServer.start(["--port", "0", "-"], {
      stdin: true,
    });
    const viewer = decode(server.url());
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      // The header and less than one Cluster's worth of the first GOP.
      await server.write(bytes.subarray(0, 16_384));
      await server.waitForLine(/ INFO Viewer #1 joined/, 10_000);
      await server.write(bytes.subarray(16_384));
      await server.closeStdin();
    } catch (error) {
      server.kill("SIGKILL");
      await viewer.catch(() => {});
      throw error;
    }
    const { result, frames } = await viewer;
    assertClean(result, `ffmpeg on ${server.url()} (stdin)`);
    assertEquals(frames, fromFile.frames, "video frames: stream vs file");
    assertEquals(await server.exit(15_000), 0, server.log);
  },
});

Deno.test(
  "interop: three viewers joining sample.webm at 0 s, 1 s and 2.5 s each start on a keyframe and decode without errors",
  async () => {
    await requireTools();
    await using server = await CliServer.start([
      "--port",
      "0",
      fixturePath("sample.webm"),
    ]);
    const url = server.url();
    const joinAfter = (ms: number) =>
      new Promise((resolve) => setTimeout(resolve, ms)).then(() =>
        decode(url, ["-t", DECODE_SECONDS])
      );
    const viewers = await all([0, 1000, 2500].map(joinAfter));
    for (const [i, { result, frames }] of viewers.entries()) {
      assertClean(result, `viewer ${i + 1}`);
      assertGreater(frames, 0, `viewer ${i + 1} decoded no video`);
    }
    assertMatch(server.log, /Viewer #3 joined/);
    await stopCleanly(server);
  },
);
