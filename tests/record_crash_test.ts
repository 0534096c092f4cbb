import { assert, assertEquals, assertGreater } from "@std/assert";
import { concatBytes } from "../lib/ebml/writer.ts";
import { listRecordings } from "../lib/record/recording_list.ts";
import { until } from "../bench/_proc.ts";
import { CliServer, fixturePath } from "./_cli.ts";
import { decode, fileBlocks, headInfo, mkvinfo, tool } from "./_recordings.ts";

/** Packets per stream as ffprobe reads them (it stops at the first it cannot read). */
async function packets(path: string): Promise<number[]> {
  const r = await tool("ffprobe", [
    ...["-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets"],
    ...["-of", "csv=p=0", path],
  ]);
  assertEquals(r.code, 0, r.out);
  return r.out.trim().split("\n").map(Number);
}

/** The offset of the last Cluster ID in `bytes`. */
function lastClusterAt(bytes: Uint8Array): number {
  for (let i = bytes.length - 4; i >= 0; i--) {
    if (
      bytes[i] === 0x1F && bytes[i + 1] === 0x43 && bytes[i + 2] === 0xB6 && bytes[i + 3] === 0x75
    ) {
      return i;
    }
  }
  throw new Error("No Cluster");
}

Deno.test("A recording cut by SIGKILL decodes to its end, and the next start repairs it (and cuts a half-written Cluster)", async () => {
  const dir = await Deno.makeTempDir();
  const args = ["--port", "0", "--loop", "--record", dir, fixturePath("h264_aac.mkv")];
  try {
    {
      await using server = await CliServer.start(args);
      // Several batches on disk: about 8 s of this 220 kbit/s stream.
      const written = await until(async () => {
        const status = await (await fetch(server.url("/status"))).json();
        return status.mounts[0].recording?.writes >= 3;
      }, 20_000);
      assert(written, server.log);
      server.kill("SIGKILL");
      await server.exit();
    }
    const [entry] = await listRecordings(dir, "stream");
    const path = `${dir}/stream/${entry.file}`;
    assertEquals(entry.durationMs, undefined); // left open
    const open = await mkvinfo(path);
    assert(open.segmentUnknown, open.out);
    // It plays up to its end: ffmpeg complains of nothing and reads every block.
    const whole = await decode(path);
    assertEquals([whole.code, whole.out], [0, ""]);
    const blocks = await fileBlocks(path);
    const perTrack = [1, 2].map((t) => blocks.filter((b) => b.track === t).length);
    assertGreater(perTrack[0], 100);
    assertEquals(await packets(path), perTrack);

    // Power loss: half a Cluster more at the end, which the repair must cut.
    const bytes = await Deno.readFile(path);
    const at = lastClusterAt(bytes);
    const half = bytes.subarray(at, at + Math.floor((bytes.length - at) / 2));
    await Deno.writeFile(path, concatBytes([bytes, half]));

    {
      await using server = await CliServer.start(args);
      const repaired = await server.waitForLine(
        /INFO Repaired (\S+), left open by a crash: cut (\d+) bytes .* added (\d+) cues/,
      );
      assertEquals(repaired[1], path);
      assertEquals(Number(repaired[2]), half.length);
      server.kill("SIGTERM");
      assertEquals(await server.exit(), 0);
    }
    const info = await mkvinfo(path);
    assertEquals(info.code, 0, info.out);
    assert(!/error|warning/i.test(info.out), info.out);
    assert(!info.segmentUnknown);
    const keyframes = blocks.filter((b) => b.track === 1 && b.keyframe).length;
    assertEquals(info.cues, keyframes);
    const head = await headInfo(path);
    assert(head.finished);
    const lastVideo = Math.max(...blocks.filter((b) => b.track === 1).map((b) => b.time));
    assert(Math.abs(head.durationMs! - (lastVideo + 40)) <= 40, `Duration ${head.durationMs}`);
    assertEquals((await Deno.stat(path)).size, bytes.length + (await cuesLength(path)));
    const seek = await decode(path, 2);
    assertEquals([seek.code, seek.out], [0, ""]);
    assertEquals(await packets(path), perTrack);
    // The second run recorded a file of its own beside the repaired one.
    assertEquals((await listRecordings(dir, "stream")).length, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The size of a finished file's Cues element (what the repair appended). */
async function cuesLength(path: string): Promise<number> {
  const bytes = await Deno.readFile(path);
  for (let i = bytes.length - 4; i >= 0; i--) {
    if (
      bytes[i] === 0x1C && bytes[i + 1] === 0x53 && bytes[i + 2] === 0xBB && bytes[i + 3] === 0x6B
    ) {
      return bytes.length - i;
    }
  }
  throw new Error("No Cues");
}
