import { assert, assertEquals, assertGreater, assertGreaterOrEqual } from "@std/assert";
import { listRecordings } from "../lib/record/recording_list.ts";
import { sleep } from "../bench/_proc.ts";
import { CliServer, fixturePath } from "./_cli.ts";
import { decode, fileBlocks, headInfo, mkvinfo } from "./_recordings.ts";
import { demux } from "./_util.ts";

const GOP_MS = 2000; // testdata/h264_aac.mkv: a keyframe every 2 s, 25 fps, AAC at 48 kHz

Deno.test("--record with --record-segment 10s: 35 s of a looped H.264 + AAC file make seekable files that tile the stream", async () => {
  const dir = await Deno.makeTempDir();
  try {
    {
      await using server = await CliServer.start([
        "--port",
        "0",
        "--loop",
        "--record",
        dir,
        "--record-segment",
        "10s",
        fixturePath("h264_aac.mkv"),
      ]);
      await sleep(35_000);
      const status = await (await fetch(server.url("/status"))).json();
      const recording = status.mounts[0].recording;
      assertEquals(recording.state, "recording");
      assertGreaterOrEqual(recording.files, 3);
      // Batched: every write but each file's last two (the rest, then the Cues) is >= 64 KiB.
      assert(recording.bytes / recording.writes >= 48 * 1024, JSON.stringify(recording));
      const metrics = await (await fetch(server.url("/metrics"))).text();
      assert(/mkserver_record_up\{mount="stream"\} 1/.test(metrics), metrics);
      assert(/mkserver_record_errors_total\{mount="stream"\} 0/.test(metrics), metrics);
      server.kill("SIGTERM");
      assertEquals(await server.exit(), 0);
      assert(!/ERROR|WARN/.test(server.log), server.log);
    }
    const files = await listRecordings(dir, "stream");
    assertGreaterOrEqual(files.length, 4, JSON.stringify(files)); // 10 + 10 + 10 + the rest
    // What the looped source sent: the fixture's blocks, the demuxer continuing each loop.
    const fixture = await Deno.readFile(fixturePath("h264_aac.mkv"));
    const sent = demux(new Array(12).fill(fixture)).blocks;
    const start = sent.find((b) => b.track === 1 && b.keyframe)!.time;
    const expected = (track: number) =>
      sent.filter((b) => b.track === track && (track === 1 || b.time >= start))
        .map((b) => b.time);
    const recorded = new Map<number, number[]>([[1, []], [2, []]]);
    let mountTime = start; // where each file begins on the stream's timeline: the Durations so far
    for (const [i, entry] of files.entries()) {
      const path = `${dir}/stream/${entry.file}`;
      const info = await mkvinfo(path);
      assertEquals(info.code, 0, info.out);
      assert(!/error|warning/i.test(info.out), info.out);
      assert(!info.segmentUnknown);
      assertGreater(info.cues, 0);
      const head = await headInfo(path);
      assert(head.finished);
      assertEquals(head.startMs, entry.start.getTime()); // DateUTC is the name
      assertEquals(head.durationMs, entry.durationMs);
      const duration = entry.durationMs!;
      const blocks = await fileBlocks(path);
      const keyframes = blocks.filter((b) => b.track === 1 && b.keyframe);
      assertEquals(info.cues, keyframes.length, "one Cue per video keyframe");
      assertEquals(blocks[0].time, 0);
      assert(blocks[0].keyframe && blocks[0].track === 1);
      assert(blocks.every((b) => b.time >= 0), `${entry.file} has negative timestamps`);
      if (i < files.length - 1) {
        assert(Math.abs(duration - 10_000) <= GOP_MS, `${entry.file}: ${duration} ms`);
        const seek = await decode(path, 5);
        assertEquals([seek.code, seek.out], [0, ""], `${entry.file} from 5 s`);
      }
      for (const b of blocks) recorded.get(b.track)!.push(mountTime + b.time);
      mountTime += duration;
    }
    // The files tile the stream: per track, every block the source sent from the first
    // keyframe on, in order, each once, up to where the recording stopped.
    for (const [track, times] of recorded) {
      assertGreater(times.length, 35 * (track === 1 ? 20 : 40));
      assertEquals(times, expected(track).slice(0, times.length), `track ${track}`);
    }
    const whole = await decode(`${dir}/stream/${files[0].file}`);
    assertEquals([whole.code, whole.out], [0, ""]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
