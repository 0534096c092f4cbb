// A mount across sources: a new source with the same tracks continues the stream.
import { assert, assertEquals, assertMatch, assertThrows } from "@std/assert";
import { keyframeWarnings } from "../lib/server/keyframe_warnings.ts";
import { Mount } from "../lib/stream/mount.ts";
import { demux, readFixture, recorder } from "./_util.ts";

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks = await Array.fromAsync(stream);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
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
