import { assert, assertEquals, assertGreater } from "@std/assert";
import type { Block } from "../lib/matroska/block.ts";
import type { LiveHeader } from "../lib/matroska/live_header.ts";
import { Recorder, type RecordingStatus } from "../lib/record/recorder.ts";
import { listRecordings, parseRecordingName } from "../lib/record/recording_list.ts";
import { demux, readFixture, recorder } from "./_util.ts";

const T0 = Date.UTC(2026, 11, 1, 12, 0, 0, 0);

/** A Recorder into a temp dir, on a clock the test moves. */
async function setup(options: { segmentMs?: number; maxPending?: number } = {}) {
  const dir = await Deno.makeTempDir();
  const clock = { now: T0 };
  const status: RecordingStatus = { state: "waiting", files: 0, bytes: 0, writes: 0, errors: 0 };
  const { log, lines } = recorder();
  const rec = new Recorder(`${dir}/cam`, {
    segmentMs: options.segmentMs ?? 3_600_000,
    segmentBytes: Infinity,
    log,
    status,
    now: () => clock.now,
    file: { maxPending: options.maxPending },
  });
  const { header, blocks } = demux(await readFixture("h264_aac.mkv"));
  return { dir, clock, status, lines, rec, header, blocks };
}

/** Feeds `blocks` shifted by `shift`, the clock at `wall` plus each block's time. */
function feed(rec: Recorder, clock: { now: number }, blocks: Block[], shift: number, wall: number) {
  for (const b of blocks) {
    clock.now = wall + b.time;
    rec.block({ ...b, time: b.time + shift });
  }
}

async function files(dir: string) {
  return (await listRecordings(dir, "cam")).map((e) => ({ ...e, startMs: e.start.getTime() }));
}

Deno.test("Recorder continues the file when a source with the same tracks resumes on time", async () => {
  const { dir, clock, rec, header, blocks, status } = await setup();
  try {
    rec.header(header);
    feed(rec, clock, blocks, 0, T0);
    rec.pause();
    rec.header(header as LiveHeader);
    // The next source, 0.3 s later in wall time, continues the timeline (the mount's shift).
    feed(rec, clock, blocks, 6040, T0 + 6040 + 300);
    rec.end();
    await rec.closed();
    const list = await files(dir);
    assertEquals(list.length, 1);
    assertEquals(list[0].startMs, T0 + 21); // the first keyframe's wall time
    assertGreater(list[0].durationMs!, 12_000 - 100);
    assertEquals(status.files, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Recorder starts a new file at the resumed source's first keyframe when the wall clock ran ahead", async () => {
  const { dir, clock, rec, header, blocks } = await setup();
  try {
    rec.header(header);
    feed(rec, clock, blocks, 0, T0);
    rec.pause();
    rec.header(header);
    // 3 s of nothing: DateUTC + timestamp would be 3 s off in the old file.
    const resumed = blocks.slice(3); // starts mid-GOP: the recorder waits for a keyframe
    feed(rec, clock, resumed, 6040, T0 + 6040 + 3000);
    rec.end();
    await rec.closed();
    const list = await files(dir);
    assertEquals(list.length, 2);
    const firstKey = resumed.find((b) => b.track === 1 && b.keyframe)!;
    assertEquals(list[1].startMs, T0 + 6040 + 3000 + firstKey.time);
    assert(Math.abs(list[0].durationMs! - 6020) <= 40, `${list[0].durationMs}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Recorder chains DateUTC across rotations: each file starts where the one before ends", async () => {
  const { dir, clock, rec, header, blocks } = await setup({ segmentMs: 2000 });
  try {
    rec.header(header);
    for (let loop = 0; loop < 3; loop++) feed(rec, clock, blocks, loop * 6040, T0 + loop * 6040);
    rec.end();
    await rec.closed();
    const list = await files(dir);
    assertGreater(list.length, 5);
    for (let i = 1; i < list.length; i++) {
      assertEquals(list[i].startMs, list[i - 1].startMs + list[i - 1].durationMs!);
      assertEquals(parseRecordingName(list[i].file)?.getTime(), list[i].startMs);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Recorder drops a file whose disk falls behind rather than buffering: one error, no throw", async () => {
  const { dir, clock, rec, header, blocks, status, lines } = await setup({ maxPending: 16 * 1024 });
  try {
    rec.header(header);
    feed(rec, clock, blocks, 0, T0); // 160 KB at once: more than 16 KiB waits for the disk
    assertEquals(status.state, "error");
    assertEquals(status.errors, 1);
    assert(/too slow/.test(status.lastError ?? ""), status.lastError);
    assertEquals(lines.filter((l) => l.startsWith("error")).length, 1, lines.join("\n"));
    rec.end();
    await rec.closed();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
