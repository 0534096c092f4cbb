// A mount across sources: a new source with the same tracks continues the stream.
import { assert, assertEquals, assertMatch, assertStrictEquals, assertThrows } from "@std/assert";
import { concatBytes } from "../lib/ebml/writer.ts";
import type { LiveHeader } from "../lib/matroska/live_header.ts";
import { keyframeWarnings } from "../lib/server/keyframe_warnings.ts";
import { Mount } from "../lib/stream/mount.ts";
import { MountRegistry } from "../lib/stream/mount_registry.ts";
import type { StreamEvent } from "../lib/stream/stream_events.ts";
import { demux, readFixture, recorder } from "./_util.ts";

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return concatBytes(await Array.fromAsync(stream));
}

Deno.test("Mount continues viewers across sources with the same tracks: one header, increasing times, clean decode", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream");
  mount.setHeader(header);
  const client = mount.attach()!;
  const body = readAll(client.readable);
  // The first source stops mid-GOP (at 5 s)...
  for (const b of blocks.filter((b) => b.time < 5000)) mount.pushBlock(b);
  // ...and a second one (the same file from its start) takes over.
  const again = demux(await readFixture("sample.webm"));
  mount.setHeader(again.header);
  for (const b of again.blocks) mount.pushBlock(b);
  mount.end();
  const bytes = await body;
  const received = demux(bytes);
  assertEquals(received.header.bytes, header.bytes);
  assertEquals(mount.sources, 2);
  // Video times keep increasing through the handover, by about a frame.
  const video = received.blocks.filter((b) => b.track === 1);
  for (let i = 1; i < video.length; i++) {
    const delta = video[i].time - video[i - 1].time;
    assert(delta > 0 && delta <= 120, `frame ${i}: ${delta} ms`);
  }
  // The second source's frames start at its first keyframe, about a frame after the first
  // source's last one (the first source stopped just before 5 s).
  const handover = video.findIndex((b) => b.time >= 5000);
  assert(video[handover].keyframe, `frame at ${video[handover].time} ms is a keyframe`);
  assert(video[handover].time - video[handover - 1].time <= 120);
  // And the whole thing decodes.
  const file = await Deno.makeTempFile({ suffix: ".webm" });
  try {
    await Deno.writeFile(file, bytes);
    const out = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-i", file, "-f", "null", "-"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(out.stderr), "");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("Mount refuses a new source whose tracks differ", async () => {
  const a = demux(await readFixture("sample.webm"));
  const b = demux(await readFixture("h264_aac.mkv"));
  const mount = new Mount("stream");
  mount.setHeader(a.header);
  assertThrows(() => mount.setHeader(b.header), TypeError, "tracks differ");
});

Deno.test("Mount warns once (through keyframeWarnings) when the source's video goes 10 s without a keyframe, and says when one comes", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const { log, lines } = recorder();
  const mount = new Mount("stream", keyframeWarnings(log));
  mount.setHeader(header);
  const video = header.tracks.find((t) => t.kind === "video")!.number;
  const first = blocks.find((b) => b.track === video && b.keyframe)!;
  const frame = blocks.find((b) => b.track === video && !b.keyframe)!;
  mount.pushBlock(first);
  // Delta frames only, 40 ms apart, for 12 s of media.
  for (let t = 40; t <= 12_000; t += 40) mount.pushBlock({ ...frame, time: first.time + t });
  const warnings = lines.filter((l) => l.startsWith("warn "));
  assertEquals(warnings.length, 1, lines.join("\n"));
  assertMatch(warnings[0], /source of stream sent no video keyframe for 10 s: new viewers wait/);
  assertMatch(warnings[0], /at most its cap \(--buffer\)$/);
  mount.pushBlock({ ...first, time: first.time + 12_040 });
  assertMatch(lines.at(-1)!, /^info The source of stream sent a video keyframe again after 12 s$/);
  // A source with keyframes says nothing.
  const quiet = recorder();
  const steady = new Mount("stream", keyframeWarnings(quiet.log));
  steady.setHeader(header);
  for (const b of blocks) steady.pushBlock(b);
  assertEquals(quiet.lines, []);
});

/** `header` with the last byte of track `track`'s CodecPrivate changed (another SPS/PPS). */
function otherCodecPrivate(header: LiveHeader, track: number): LiveHeader {
  return {
    ...header,
    tracks: header.tracks.map((t) => {
      if (t.number !== track || t.codecPrivate === undefined) return t;
      const codecPrivate = t.codecPrivate.slice();
      codecPrivate[codecPrivate.length - 1] ^= 1;
      return { ...t, codecPrivate };
    }),
  };
}

Deno.test("Mount refuses a new source whose CodecPrivate differs, and takes one with the same bytes", async () => {
  const { header } = demux(await readFixture("h264_aac.mkv"));
  const mount = new Mount("stream");
  mount.setHeader(header);
  const other = otherCodecPrivate(header, 1);
  assertEquals(mount.accepts(other), false);
  assertThrows(() => mount.setHeader(other), TypeError, "tracks differ");
  const same = demux(await readFixture("h264_aac.mkv")).header;
  assert(mount.accepts(same));
  mount.setHeader(same);
  assertEquals(mount.sources, 2);
});

Deno.test("MountRegistry: a new source with another CodecPrivate ends the viewers' stream cleanly and starts a new header", async () => {
  const first = demux(await readFixture("h264_aac.mkv"));
  const registry = new MountRegistry({ grace: 10_000 });
  try {
    const a = registry.publish("cam");
    a.setHeader(first.header);
    for (const b of first.blocks.slice(0, 100)) a.pushBlock(b);
    const viewer = registry.get("cam")!.attach()!;
    const received = readAll(viewer.readable);
    a.finish(); // the mount waits out its grace period for a source that continues it
    const b = registry.publish("cam");
    const header = otherCodecPrivate(first.header, 1);
    b.setHeader(header);
    const old = demux(await received); // ends, not cut off
    assertEquals(old.header.bytes, first.header.bytes);
    assertEquals(viewer.closed, true);
    const mount = registry.get("cam")!;
    assertEquals(mount.header, header);
    const late = mount.attach()!;
    assertStrictEquals(await late.next(), header.bytes, "a new viewer gets the new header");
    late.cancel();
    b.finish();
  } finally {
    registry.endAll();
  }
});

Deno.test("MountRegistry tells its events of each source's publish and unpublish, with that source's own bytes", async () => {
  const { header } = demux(await readFixture("h264_aac.mkv"));
  const seen: StreamEvent[] = [];
  const registry = new MountRegistry({ grace: 10_000, events: { emit: (e) => seen.push(e) } });
  try {
    const a = registry.publish("cam", { address: "192.0.2.5:4000" });
    a.setHeader(header);
    a.countBytesIn(1000);
    a.countBytesIn(500);
    // A second source for a busy name is refused, and tells nothing.
    assertThrows(() => registry.publish("cam"), Error, "already has a source");
    a.finish();
    a.finish(); // once only
    const b = registry.publish("cam"); // continues the mount within its grace
    b.setHeader(header);
    b.countBytesIn(200);
    b.finish();
    assertEquals(registry.get("cam")?.status().bytesIn, 1700); // the mount counts both
    const plain = seen.map((e) => e.type === "unpublish" ? { ...e, durationMs: 0 } : e);
    assertEquals(plain, [
      { type: "publish", mount: "cam", address: "192.0.2.5:4000" },
      { type: "unpublish", mount: "cam", address: "192.0.2.5:4000", bytes: 1500, durationMs: 0 },
      { type: "publish", mount: "cam", address: undefined },
      { type: "unpublish", mount: "cam", address: undefined, bytes: 200, durationMs: 0 },
    ]);
  } finally {
    registry.endAll();
  }
});
