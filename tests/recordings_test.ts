import { assert, assertEquals, assertThrows } from "@std/assert";
import { concatBytes } from "../lib/ebml/writer.ts";
import { RecordingMuxer } from "../lib/matroska/recording_muxer.ts";
import { formatRecordingName } from "../lib/record/recording_name.ts";
import {
  listRecordings,
  parseRecordingName,
  pruneRecordings,
} from "../lib/record/recording_list.ts";
import { repairRecordings } from "../lib/record/repair.ts";
import { CONFIG_KEYS, parseCliOptions, UsageError } from "../lib/server/cli_options.ts";
import { demux, readFixture, recorder } from "./_util.ts";

/** A recording of the fixture that started at `startMs`: finished, or as a crash left it. */
async function recording(startMs: number, finished: boolean): Promise<Uint8Array> {
  const { header, blocks } = demux(await readFixture("h264_aac.mkv"));
  const muxer = new RecordingMuxer(header, startMs);
  const parts = [muxer.head];
  for (const b of blocks) parts.push(...(muxer.push(b)?.parts ?? []));
  if (!finished) return concatBytes(parts);
  const tail = muxer.finish();
  const bytes = concatBytes([...parts, ...tail.append]);
  for (const p of tail.patches) bytes.set(p.bytes, p.at);
  return bytes;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0, 5);

Deno.test("listRecordings lists a mount's files oldest first, the one being written without a duration", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/cam1`);
    const names = [T0 + 60_000, T0, T0 + 120_000].map(formatRecordingName);
    await Deno.writeFile(`${dir}/cam1/${names[0]}`, await recording(T0 + 60_000, true));
    await Deno.writeFile(`${dir}/cam1/${names[1]}`, await recording(T0, true));
    await Deno.writeFile(`${dir}/cam1/${names[2]}`, await recording(T0 + 120_000, false));
    await Deno.writeFile(`${dir}/cam1/notes.txt`, new Uint8Array(3));
    const list = await listRecordings(dir, "cam1");
    assertEquals(list.map((e) => e.file), [names[1], names[0], names[2]]);
    assertEquals(list[0].start.getTime(), T0);
    assertEquals(list[0].durationMs, 6016);
    assertEquals(list[2].durationMs, undefined);
    assertEquals(list[0].bytes, (await Deno.stat(`${dir}/cam1/${names[1]}`)).size);
    assertEquals(await listRecordings(dir, "nobody"), []);
  });
});

Deno.test("parseRecordingName takes only names formatRecordingName writes", () => {
  assertEquals(parseRecordingName(formatRecordingName(T0))?.getTime(), T0);
  assertEquals(parseRecordingName("20261201T100000.005Z.webm"), undefined);
  assertEquals(parseRecordingName("20261201T250000.005Z.mkv"), undefined);
});

Deno.test("pruneRecordings deletes the oldest files of every mount beyond the age or the size, never a busy one", async () => {
  await withDir(async (dir) => {
    const file = await recording(T0, true);
    const paths: string[] = [];
    for (const [mount, minutes] of [["a", 0], ["b", 10], ["a", 20], ["b", 30]] as const) {
      await Deno.mkdir(`${dir}/${mount}`, { recursive: true });
      const path = `${dir}/${mount}/${formatRecordingName(T0 + minutes * 60_000)}`;
      await Deno.writeFile(path, file);
      paths.push(path);
    }
    const { log, lines } = recorder();
    const now = T0 + 40 * 60_000;
    // Older than 25 min: the first three ended 40, 30 and 20 min ago; the first is busy.
    const old = await pruneRecordings(dir, { ms: 25 * 60_000 }, {
      now,
      busy: new Set([paths[0]]),
      log,
    });
    assertEquals(old, [paths[1]]);
    assert(lines.some((l) => l.includes("too old")), lines.join("\n"));
    // At most two files' worth: the oldest goes first.
    const big = await pruneRecordings(dir, { bytes: file.length * 2 }, { now });
    assertEquals(big, [paths[0]]);
    assertEquals((await listRecordings(dir, "a")).length, 1);
    assertEquals((await listRecordings(dir, "b")).length, 1);
  });
});

Deno.test("repairRecordings finishes open files, leaves finished ones, deletes empty ones and warns about the rest", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/m`);
    const open = `${dir}/m/${formatRecordingName(T0)}`;
    const done = `${dir}/m/${formatRecordingName(T0 + 1)}`;
    const empty = `${dir}/m/${formatRecordingName(T0 + 2)}`;
    const junk = `${dir}/m/${formatRecordingName(T0 + 3)}`;
    await Deno.writeFile(open, await recording(T0, false));
    const finished = await recording(T0 + 1, true);
    await Deno.writeFile(done, finished);
    await Deno.writeFile(empty, new Uint8Array(0));
    await Deno.writeFile(junk, new TextEncoder().encode("not matroska"));
    const { log, lines } = recorder();
    assertEquals(await repairRecordings(dir, log), 2);
    assertEquals(await Deno.readFile(done), finished);
    const list = await listRecordings(dir, "m");
    assertEquals(
      list.map((e) => e.file),
      [open, done, junk].map((p) => p.slice(p.lastIndexOf("/") + 1)),
    );
    // Its last Cluster (up to 1 s) was never written: what is there ends 1 s before the fixture.
    const repaired = list[0].durationMs ?? 0;
    assert(repaired >= 5000 && repaired < 6016, `Duration ${repaired}`);
    assert(
      lines.some((l) => l.startsWith("warn Cannot repair") && l.includes(junk)),
      lines.join("\n"),
    );
    assert(lines.some((l) => l.startsWith("info Deleted") && l.includes(empty)), lines.join("\n"));
    // A second run has nothing left to do.
    assertEquals(await repairRecordings(dir, log), 0);
  });
});

Deno.test("parseCliOptions: --record, --record-segment and --record-keep take durations and sizes", () => {
  const base = ["--record", "/srv/rec", "in.mkv"];
  const o = parseCliOptions(base);
  assertEquals([o.record, o.recordSegment, o.recordKeep], [
    "/srv/rec",
    { ms: 3_600_000 },
    undefined,
  ]);
  const p = parseCliOptions([...base, "--record-segment", "10s,1GiB", "--record-keep", "7d"]);
  assertEquals(p.recordSegment, { ms: 10_000, bytes: 1024 ** 3 });
  assertEquals(p.recordKeep, { ms: 7 * 86_400_000 });
  assertEquals(parseCliOptions([...base, "--record-keep", "50GB"]).recordKeep, { bytes: 50e9 });
  assertThrows(
    () => parseCliOptions([...base, "--record-keep", "soon"]),
    UsageError,
    "--record-keep",
  );
  assertThrows(() => parseCliOptions([...base, "--record-segment", "0s"]), UsageError);
  for (const key of ["record", "record-segment", "record-keep"]) {
    assert(CONFIG_KEYS.some((k) => k.name === key), key);
  }
});
