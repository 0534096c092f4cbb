/**
 * Bad sources through the `mkserver` command line: absurd element sizes, garbage before the
 * EBML header, garbage in the middle of a live stream, and a source whose video never sends a
 * keyframe (again). Each must give the documented exit code and one clear log line, never a
 * stack trace, and must not make memory grow past the buffer's cap.
 *
 * The bad inputs are made at test time from `testdata/sample.webm` (and, for the keyframe
 * cases, a few seconds of H.264 made with ffmpeg), so no binary fixture has to be kept in sync
 * with the good ones.
 */

import {
  assert,
  assertEquals,
  assertGreater,
  assertLessOrEqual,
  assertMatch,
  assertNotMatch,
  assertStringIncludes,
} from "@std/assert";
import { type EbmlEvent, EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { measureVintLength } from "../lib/ebml/vint.ts";
import { rssMiB, until } from "../bench/_proc.ts";
import { cliArgs, CliServer, ROOT, run, runCli } from "./_cli.ts";
import { demux, prng, readFixture } from "./_util.ts";

/** A stack frame as V8 prints it ("    at main (file:///…)"). */
const STACK_FRAME = /^\s+at /m;

/** The unknown size at 8 bytes (RFC 8794 section 6.2). */
const UNKNOWN_8 = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/** 2^50 as an 8-byte vint: marker 0x01, then 7 bytes of value (2^50 = 0x04 << 48). */
const SIZE_2_50 = [0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];

function logLines(text: string): string[] {
  return text.split("\n").filter((line) => line !== "");
}

/** The ERROR and WARN lines of a log. */
function problems(log: string): string[] {
  return logLines(log).filter((line) => / (ERROR|WARN) /.test(line));
}

/** Asserts no stack trace and no uncaught-error report in `log`. */
function assertNoTrace(log: string): void {
  assertNotMatch(log, STACK_FRAME);
  assertNotMatch(log, /Uncaught|error: /);
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Walks `bytes` with the library's reader and returns every event (the data are views). */
function events(bytes: Uint8Array): EbmlEvent[] {
  const reader = new EbmlReader();
  const out: EbmlEvent[] = [];
  reader.push(bytes, (e) => out.push(e));
  reader.end((e) => out.push(e));
  return out;
}

/** Offsets of the Clusters of a file, and of its Segment's size field. */
function layout(bytes: Uint8Array): { clusters: number[]; segmentSize: number } {
  const all = events(bytes);
  const segment = all.find((e) => e.type === "start" && e.id === ID.Segment);
  assert(segment?.type === "start");
  return {
    clusters: all.filter((e) => e.type === "start" && e.id === ID.Cluster)
      .map((e) => e.offset),
    segmentSize: segment.offset + 4,
  };
}

/**
 * The header of `sample.webm` (EBML header, Segment, SeekHead, Info, Tracks: everything before
 * the first Cluster), with the Segment's size made unknown when `unknownSegment` is set.
 */
async function sampleHead(unknownSegment: boolean): Promise<Uint8Array> {
  const sample = await readFixture("sample.webm");
  const { clusters, segmentSize } = layout(sample);
  const head = sample.slice(0, clusters[0]);
  if (unknownSegment) head.set(UNKNOWN_8, segmentSize);
  return head;
}

/** A Cluster of unknown size with Timestamp 0, then an element header with an 8-byte size. */
function hugeElement(id: number, size: readonly number[]): Uint8Array {
  return concat(
    [0x1F, 0x43, 0xB6, 0x75, 0xFF], // Cluster, unknown size (1-byte form)
    [0xE7, 0x81, 0x00], // Timestamp 0
    [id],
    size,
    [0x81, 0x00, 0x00, 0x80], // what a SimpleBlock would start with: track 1, time 0, keyframe
    new Uint8Array(4096),
  );
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_bad_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs mkserver on the file `bytes`; returns the result and its ERROR/WARN lines. */
function serveBytes(bytes: Uint8Array) {
  return withTempDir(async (dir) => {
    const path = `${dir}/bad.webm`;
    await Deno.writeFile(path, bytes);
    const result = await runCli(["--port", "0", "--host", "127.0.0.1", path], {
      timeout: 20_000,
    });
    assertEquals(result.stdout, "");
    assertNoTrace(result.stderr);
    return { ...result, problems: problems(result.stderr) };
  });
}

Deno.test("`mkserver` exits 1 naming the size cap when a SimpleBlock claims 2^50 bytes", async () => {
  // Segment and Cluster of unknown size, so no parent bounds the block: only the cap can.
  const result = await serveBytes(
    concat(await sampleHead(true), hugeElement(ID.SimpleBlock, SIZE_2_50)),
  );
  assertEquals(result.code, 1, result.stderr);
  assertEquals(result.problems.length, 1, result.stderr);
  assertMatch(result.problems[0], / ERROR /);
  assertStringIncludes(result.problems[0], "too large to buffer");
  assertStringIncludes(result.problems[0], `${2 ** 50} bytes exceeds the cap of`);
});

Deno.test("`mkserver` exits 1 when a SimpleBlock claims 2^50 bytes inside a Segment of known size", async () => {
  const result = await serveBytes(
    concat(await sampleHead(false), hugeElement(ID.SimpleBlock, SIZE_2_50)),
  );
  assertEquals(result.code, 1, result.stderr);
  assertEquals(result.problems.length, 1, result.stderr);
  assertMatch(result.problems[0], / ERROR .*overruns its parent/);
});

Deno.test("`mkserver` skips an element it does not keep that claims 2^50 bytes, then warns at the cut", async () => {
  // A Void element is skipped, not buffered: the claim costs nothing, and the input ends inside
  // it (a truncated input: one WARN, exit 0).
  const start = performance.now();
  const result = await serveBytes(
    concat(await sampleHead(true), hugeElement(ID.Void, SIZE_2_50)),
  );
  assertEquals(result.code, 0, result.stderr);
  assertEquals(result.problems.length, 1, result.stderr);
  assertMatch(result.problems[0], / WARN Input ended mid-element/);
  assertLessOrEqual(performance.now() - start, 15_000);
});

/** 1,000 random bytes (never the EBML magic, never text), then all of `sample.webm`. */
async function garbageFirst(): Promise<Uint8Array> {
  const rand = prng(7);
  const garbage = Uint8Array.from({ length: 1000 }, () => Math.floor(rand() * 256));
  garbage[0] = 0x00;
  return concat(garbage, await readFixture("sample.webm"));
}

/** An environment in which ffmpeg cannot be found (as in `cli_test.ts`). */
const NO_FFMPEG = { PATH: "/nonexistent" };

/**
 * Runs `mkserver … -` with `bytes` on standard input (the pipe closed after them) and `env`;
 * returns the exit code and log.
 */
async function serveStdin(
  bytes: Uint8Array,
  env?: Record<string, string>,
): Promise<{ code: number; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: cliArgs(["--port", "0", "--host", "127.0.0.1", "-"]),
    cwd: ROOT,
    env,
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  try {
    const writer = child.stdin.getWriter();
    // The server stops reading at the first bytes it refuses (closing the pipe): writes may fail.
    await writer.write(bytes).catch(() => {});
    await writer.close().catch(() => {});
    const output = await child.output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asserts how a non-Matroska input fails: exit 1, one ERROR line, no stack trace. With ffmpeg
 * installed mkserver hands such input to ffmpeg (which refuses it); ffmpeg's own complaints come
 * in that ERROR line only.
 */
function assertRefused(
  result: { code: number; stderr: string },
  withFfmpeg: boolean,
): string {
  assertEquals(result.code, 1, result.stderr);
  assertNoTrace(result.stderr);
  const lines = problems(result.stderr);
  const errors = lines.filter((l) => / ERROR /.test(l));
  assertEquals(errors.length, 1, result.stderr);
  if (withFfmpeg) {
    assertMatch(result.stderr, / INFO .* is not Matroska: remuxing it with ffmpeg/);
    assertMatch(errors[0], / ERROR Input failed: ffmpeg exited with code 1: .*Invalid data/);
    assertEquals(lines, errors, "nothing but the ERROR line");
  } else {
    assertEquals(lines, errors, "nothing but the ERROR line");
    assertMatch(errors[0], /not Matroska\/WebM: install ffmpeg/);
  }
  return errors[0];
}

Deno.test("`mkserver` exits 1 with one 'not Matroska' line when garbage comes before the EBML header", async () => {
  const bytes = await garbageFirst();
  await withTempDir(async (dir) => {
    const path = `${dir}/bad.webm`;
    await Deno.writeFile(path, bytes);
    const args = ["--port", "0", "--host", "127.0.0.1", path];
    // Without ffmpeg: refused before listening, with one line naming what is needed.
    const without = await runCli(args, { env: NO_FFMPEG, timeout: 20_000 });
    assertStringIncludes(assertRefused(without, false), path);
    assertNotMatch(without.stderr, /Serving/);
    // With ffmpeg: handed to it, which finds no Matroska either.
    assertRefused(await runCli(args, { timeout: 20_000 }), true);
  });
});

Deno.test("`mkserver -` exits 1 with one 'not Matroska' line when standard input starts with garbage", async () => {
  const bytes = await garbageFirst();
  assertStringIncludes(assertRefused(await serveStdin(bytes, NO_FFMPEG), false), "standard input");
  assertRefused(await serveStdin(bytes), true);
});

/** `GET /status`, `mounts[0]`. */
async function status(server: CliServer) {
  const response = await fetch(server.url("/status"));
  return (await response.json()).mounts[0];
}

/** Reads a response body to its end in the background, collecting its bytes. */
function collect(response: Response) {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  const done = (async () => {
    for await (const chunk of response.body!) {
      chunks.push(chunk);
      bytes += chunk.length;
    }
  })();
  return {
    get bytes() {
      return bytes;
    },
    get all() {
      return concat(...chunks);
    },
    done,
  };
}

Deno.test("a live viewer keeps what it had and its response ends cleanly when the source sends garbage mid-stream", async () => {
  const sample = await readFixture("sample.webm");
  const { clusters } = layout(sample);
  assert(clusters.length >= 4, "sample.webm has 5 Clusters");
  await using server = await CliServer.start(["--port", "0", "--host", "127.0.0.1", "-"], {
    stdin: true,
  });
  // Two GOPs in: the stream is live.
  await server.write(sample.subarray(0, clusters[2]));
  assert(await until(async () => (await status(server)).blocks > 0, 10_000), server.log);
  const response = await fetch(server.url());
  assertEquals(response.status, 200);
  const viewer = collect(response);
  // It receives the newest GOP so far, then the third GOP as it arrives.
  assert(await until(() => viewer.bytes > 20_000, 10_000), "the viewer received a GOP");
  await server.write(sample.subarray(clusters[2], clusters[3]));
  const had = viewer.bytes;
  // Then garbage where the next element should begin.
  const rand = prng(42);
  await server.write(Uint8Array.from({ length: 64 * 1024 }, () => Math.floor(rand() * 256)))
    .catch(() => {}); // the server may stop reading (and close the pipe) at the first bad byte
  await server.closeStdin();
  // The response completes (a clean end of the chunked body, or `fetch` would throw).
  await viewer.done;
  assertEquals(await server.exit(), 1, server.log);
  const lines = problems(server.log);
  assertEquals(lines.length, 1, server.log);
  assertMatch(lines[0], / ERROR Input failed: /);
  assertNoTrace(server.log);
  // The viewer kept everything it had, and got the rest of the third GOP.
  const capture = viewer.all;
  assertGreater(capture.length, had);
  const { blocks } = demux(capture);
  const video = blocks.filter((b) => b.track === 1);
  assert(video[0].keyframe, "the capture starts on a keyframe");
  assertEquals(video.filter((b) => b.keyframe).length, 2, "two whole GOPs");
  // And it decodes without a single error.
  await withTempDir(async (dir) => {
    await Deno.writeFile(`${dir}/capture.webm`, capture);
    const decoded = await run("ffmpeg", [
      "-nostdin",
      "-v",
      "error",
      "-i",
      `${dir}/capture.webm`,
      "-f",
      "null",
      "-",
    ]);
    assertEquals(decoded.code, 0, decoded.stderr);
    assertEquals(decoded.stderr, "");
  });
});

/**
 * Makes `seconds` of noisy H.264 (6 Mbit/s, a keyframe every second) and Opus in Matroska:
 * incompressible enough that a few seconds outweigh a 2 MiB buffer.
 */
async function makeH264(path: string, seconds: number): Promise<void> {
  const made = await run("ffmpeg", [
    "-nostdin",
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=size=320x240:rate=25",
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000",
    "-t",
    String(seconds),
    "-vf",
    "noise=alls=40:allf=t",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-b:v",
    "6M",
    "-maxrate",
    "6M",
    "-bufsize",
    "1M",
    "-g",
    "25",
    "-keyint_min",
    "25",
    "-sc_threshold",
    "0",
    "-c:a",
    "libopus",
    "-b:a",
    "48k",
    "-f",
    "matroska",
    "-y",
    path,
  ]);
  assertEquals(made.code, 0, made.stderr);
}

/**
 * Clears the keyframe flag of every SimpleBlock of `track` after the first `keep` keyframes
 * (in place): a source whose encoder stopped sending keyframes, or never sent one.
 */
function clearKeyframes(bytes: Uint8Array, track: number, keep: number): number {
  let seen = 0;
  let cleared = 0;
  for (const e of events(bytes)) {
    if (e.type !== "element" || e.id !== ID.SimpleBlock) continue;
    const trackLength = measureVintLength(e.data[0]);
    const number = e.data[0] & (0xff >> trackLength); // 1-byte track numbers here
    if (trackLength !== 1 || number !== track) continue;
    const flags = trackLength + 2;
    if ((e.data[flags] & 0x80) === 0) continue;
    if (seen++ < keep) continue;
    e.data[flags] &= 0x7f; // a view into `bytes`
    cleared++;
  }
  return cleared;
}

/** The byte cap given with `--buffer` below. */
const BUFFER_CAP = 2 * 1024 * 1024;

/**
 * Serves `source` (already made keyframe-less) through standard input with
 * `--buffer 2s,2MiB`, a viewer watching; returns what /status, the viewer and RSS showed.
 */
async function serveWithoutKeyframes(source: Uint8Array) {
  await using server = await CliServer.start([
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--buffer",
    "2s,2MiB",
    "-",
  ], { stdin: true });
  const rssBefore = rssMiB(server.child.pid);
  // The first half, then a viewer, then the rest: all of it as fast as the pipe takes it.
  const half = Math.floor(source.length / 2);
  await server.write(source.subarray(0, half));
  assert(await until(async () => (await status(server)).blocks > 0, 10_000), server.log);
  const response = await fetch(server.url());
  assertEquals(response.status, 200);
  const viewer = collect(response);
  await server.write(source.subarray(half));
  assert(
    await until(async () => (await status(server)).bytesIn === source.length, 10_000),
    "the server read the whole source",
  );
  await new Promise((r) => setTimeout(r, 300)); // let the last blocks reach the ring and viewer
  const live = await status(server);
  const rss = rssMiB(server.child.pid);
  const bytesWhileLive = viewer.bytes;
  await server.closeStdin();
  await viewer.done;
  const code = await server.exit();
  assertNoTrace(server.log);
  return { live, rssBefore, rss, bytesWhileLive, bytesAtEnd: viewer.bytes, code, server };
}

Deno.test("a source that never sends a video keyframe holds nothing: the viewer gets the header, waits, then a clean end", async () => {
  await withTempDir(async (dir) => {
    await makeH264(`${dir}/src.mkv`, 12);
    const source = await Deno.readFile(`${dir}/src.mkv`);
    assertGreater(source.length, 2 * BUFFER_CAP, "the source outweighs the buffer");
    assertGreater(clearKeyframes(source, 1, 0), 0);
    const header = demux(source).header.bytes.length;
    const seen = await serveWithoutKeyframes(source);
    // Blocks before the first keyframe are dropped: the ring stays empty.
    assertEquals(seen.live.ring.bytes, 0, JSON.stringify(seen.live));
    assertEquals(seen.live.ring.gops, 0);
    assertGreater(seen.live.blocks, 0);
    // The viewer got the header and waited; it had no more at the source's end.
    assertLessOrEqual(seen.bytesWhileLive, header + 16, "only the header (as a chunk)");
    assertEquals(seen.bytesAtEnd, seen.bytesWhileLive);
    assertLessOrEqual(seen.rss - seen.rssBefore, 40, `RSS ${seen.rssBefore} → ${seen.rss} MiB`);
    assertEquals(seen.code, 0, seen.server.log);
    // One warning tells the operator why nothing plays.
    const said = problems(seen.server.log);
    assertEquals(said.length, 1, seen.server.log);
    assertMatch(said[0], / WARN The source of stream sent no video keyframe for 10 s/);
  });
});

Deno.test({
  // The GOP in progress is trimmed from its front once it alone exceeds the byte cap.
  name: "a source that stops sending video keyframes keeps the ring within --buffer's byte cap",
  async fn() {
    await withTempDir(async (dir) => {
      await makeH264(`${dir}/src.mkv`, 10);
      const source = await Deno.readFile(`${dir}/src.mkv`);
      assertGreater(source.length, 2 * BUFFER_CAP, "the source outweighs the buffer");
      assertGreater(clearKeyframes(source, 1, 1), 0);
      const seen = await serveWithoutKeyframes(source);
      assertLessOrEqual(seen.live.ring.bytes, BUFFER_CAP, JSON.stringify(seen.live));
      assertLessOrEqual(seen.rss - seen.rssBefore, 40, `RSS ${seen.rssBefore} → ${seen.rss} MiB`);
      assertEquals(seen.code, 0, seen.server.log);
    });
  },
});
