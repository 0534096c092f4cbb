// Ingest from anywhere, with the real tools: ffmpeg and curl pushing to /live/NAME, ffmpeg into a
// tcp:// listener, and one mkserver relaying another through a restart of its source.
import { assert, assertEquals, assertGreater, assertStringIncludes } from "@std/assert";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { CliServer, ffmpegPush, fixturePath, run } from "./_cli.ts";
import { demux } from "./_util.ts";

const TOKEN = "push-token-for-tests";

/** Runs `ffmpeg -v error` decoding `url` (or a file) to null; returns its stderr and exit code. */
function decode(url: string, seconds?: number) {
  const limit = seconds === undefined ? [] : ["-t", String(seconds)];
  return run("ffmpeg", ["-nostdin", "-v", "error", "-i", url, ...limit, "-f", "null", "-"], {
    timeout: 60_000,
  });
}

/** Reads a whole response body into one array. */
async function capture(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  assertEquals(response.status, 200, url);
  return new Uint8Array(await response.arrayBuffer());
}

async function decodesCleanly(bytes: Uint8Array, label: string): Promise<void> {
  const file = await Deno.makeTempFile({ suffix: ".mkv" });
  try {
    await Deno.writeFile(file, bytes);
    const result = await decode(file);
    assertEquals(result.stderr, "", `${label}: ffmpeg reported errors`);
    assertEquals(result.code, 0);
  } finally {
    await Deno.remove(file);
  }
}

function assertIncreasing(bytes: Uint8Array, label: string): void {
  const video = demux(bytes).blocks.filter((b) => b.track === 1);
  assertGreater(video.length, 10, label);
  for (let i = 1; i < video.length; i++) {
    assert(video[i].time > video[i - 1].time - 200, `${label}: time went back at frame ${i}`);
  }
}

Deno.test("ingest: ffmpeg -method PUT pushes to /live/NAME; viewers before and after the push decode without errors", async () => {
  await using server = await CliServer.start([
    "--port",
    "0",
    "--source-token",
    TOKEN,
    "--source-grace",
    "1",
  ]);
  const url = server.url("/live/cam1");
  const early = capture(url); // before any source: waits for it
  const push = ffmpegPush("sample.webm", url, { token: TOKEN });
  await server.waitForLine(/Stream header/);
  await new Promise((r) => setTimeout(r, 2500));
  const late = capture(url);
  const pushed = await push;
  assertEquals(pushed.code, 0, pushed.stderr);
  for (const [label, bytes] of [["early", await early], ["late", await late]] as const) {
    await decodesCleanly(bytes, label);
    assertIncreasing(bytes, label);
  }
  server.kill("SIGTERM");
  assertEquals(await server.exit(), 0);
});

Deno.test("ingest: curl -T pushes a file; no token gets 401, a second publisher 409", async () => {
  await using server = await CliServer.start([
    "--port",
    "0",
    "--source-token",
    TOKEN,
    "--source-grace",
    "0",
  ]);
  const url = server.url("/live/cam2");
  const denied = await run("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-T",
    fixturePath("sample.webm"),
    url,
  ]);
  assertEquals(denied.stdout, "401");
  // A slow push (a pipe at real time) holds the mount while a second one tries.
  const slow = run("bash", [
    "-c",
    `ffmpeg -nostdin -v error -re -i ${
      fixturePath("audio_only.webm")
    } -c copy -f webm - | curl -s -H "Authorization: Bearer ${TOKEN}" -T - ${url}`,
  ], { timeout: 60_000 });
  await server.waitForLine(/Source connected to \/live\/cam2/);
  const viewer = capture(url);
  const busy = await run("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "-H",
    `Authorization: Bearer ${TOKEN}`,
    "-T",
    fixturePath("sample.webm"),
    url,
  ]);
  assertEquals(busy.stdout, "409");
  const done = await slow;
  assertStringIncludes(done.stdout, "Received");
  await decodesCleanly(await viewer, "viewer of a curl -T push");
  server.kill("SIGTERM");
  assertEquals(await server.exit(), 0);
});

Deno.test("ingest: ffmpeg -f matroska tcp:// into the TCP listener is served and decodes", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  await using server = await CliServer.start(["--port", "0", `tcp://127.0.0.1:${port}`]);
  const viewer = capture(server.url());
  const push = await ffmpegPush("h264_aac.mkv", `tcp://127.0.0.1:${port}`);
  assertEquals(push.code, 0, push.stderr);
  await server.waitForLine(/Stream header/);
  server.kill("SIGTERM"); // the listener waits for the next source: stop it
  const bytes = await viewer;
  assertEquals(await server.exit(), 0);
  await decodesCleanly(bytes, "viewer of a TCP source");
  assertEquals(demux(bytes).header.tracks.map((t) => t.codecId), ["V_MPEG4/ISO/AVC", "A_AAC"]);
});

Deno.test("ingest: a relay keeps its viewer playing when its origin restarts; payloads identical to the origin's", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const originArgs = [
    "--port",
    String(port),
    "--host",
    "127.0.0.1",
    "--loop",
    fixturePath("sample.webm"),
  ];
  let origin = await CliServer.start(originArgs);
  try {
    await using relay = await CliServer.start(["--port", "0", `http://127.0.0.1:${port}/stream`]);
    const response = await fetch(relay.url());
    const reader = response.body!.getReader();
    const chunks: Uint8Array[] = [];
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        chunks.push(value);
      }
    })();
    await new Promise((r) => setTimeout(r, 3000));
    // The origin dies without warning and comes back 2 s later on the same port.
    origin.kill("SIGKILL");
    await origin.exit();
    await new Promise((r) => setTimeout(r, 2000));
    origin = await CliServer.start(originArgs);
    await relay.waitForLine(/back|reconnect|connected/i, 15_000);
    await new Promise((r) => setTimeout(r, 5000));
    await reader.cancel();
    await reading;
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.length;
    }
    // Cut at the last whole Cluster so ffmpeg sees no truncated element.
    const received = demux(bytes.subarray(0, lastClusterEnd(bytes)));
    const video = received.blocks.filter((b) => b.track === 1);
    assertGreater(video.length, 150, "the viewer kept receiving after the restart");
    for (let i = 1; i < video.length; i++) {
      assert(video[i].time > video[i - 1].time, `time went back at frame ${i}`);
    }
    // Every payload is one of the origin file's, byte for byte.
    const source = new Set(
      demux(await Deno.readFile(fixturePath("sample.webm"))).blocks.map((b) => key(b.frames)),
    );
    for (const b of received.blocks) {
      assert(source.has(key(b.frames)), "payload not from the origin");
    }
    await decodesCleanly(bytes.subarray(0, lastClusterEnd(bytes)), "relay viewer");
  } finally {
    origin.kill("SIGTERM");
    await origin.exit();
  }
});

Deno.test("ingest: a source with other tracks ends the old stream's viewers cleanly and starts a new one", async () => {
  await using server = await CliServer.start([
    "--port",
    "0",
    "--source-token",
    TOKEN,
    "--source-grace",
    "30",
  ]);
  const url = server.url("/live/switch");
  const push = (file: string) =>
    run("curl", ["-s", "-H", `Authorization: Bearer ${TOKEN}`, "-T", fixturePath(file), url]);
  const first = await push("audio_only.webm"); // ends at once (no pacing): the mount waits
  assertStringIncludes(first.stdout, "Received");
  const viewer = capture(url); // joins the mount in its grace period
  await new Promise((r) => setTimeout(r, 300));
  const second = await push("h264_aac.mkv"); // other tracks: the old viewers' stream ends
  assertStringIncludes(second.stdout, "Received");
  const old = demux(await viewer);
  assertEquals(old.header.tracks.map((t) => t.codecId), ["A_OPUS"]);
  const status = await (await fetch(server.url("/status"))).json();
  const mount = status.mounts.find((m: { name: string }) => m.name === "switch");
  assertEquals(mount.tracks.map((t: { codecId: string }) => t.codecId), [
    "V_MPEG4/ISO/AVC",
    "A_AAC",
  ]);
  server.kill("SIGTERM");
  assertEquals(await server.exit(), 0);
});

/** A cheap key for a payload: its length and a sample of its bytes. */
function key(frames: Uint8Array): string {
  let h = frames.length;
  for (let i = 0; i < frames.length; i += 7) h = (h * 31 + frames[i]) >>> 0;
  return `${frames.length}:${h}`;
}

/** Offset just past the last complete top-level Cluster in `bytes` (live streams). */
function lastClusterEnd(bytes: Uint8Array): number {
  let end = 0;
  const { events } = parseQuiet(bytes);
  for (const e of events) if (e.type === "end" && e.id === 0x1F43B675) end = e.offset;
  return end;
}

function parseQuiet(bytes: Uint8Array) {
  const events: Array<{ type: string; id: number; offset: number }> = [];
  const reader = new EbmlReader();
  try {
    reader.push(bytes, (e) => events.push({ type: e.type, id: e.id, offset: e.offset }));
  } catch { /* a cut stream */ }
  return { events };
}
