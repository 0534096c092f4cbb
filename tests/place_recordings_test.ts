// planShift, placeRecordings and RecordingLeadIn in-process: a source file fed into a mount
// all at once (its ring keeps the last 8 s), and the same file split by mkvmerge into three
// recordings that meet end to end, as the recorder rotates them. A join 25 s back reads the
// first two files and the third, then hands over to the ring, with every frame once.
import { assert, assertEquals, assertLess } from "@std/assert";
import { concatBytes } from "../lib/ebml/writer.ts";
import { ingest } from "../lib/ingest/ingest.ts";
import { formatRecordingName } from "../lib/record/recording_name.ts";
import { RecordingStore } from "../lib/record/recordings.ts";
import { planShift } from "../lib/record/time_shift.ts";
import { Mount } from "../lib/stream/mount.ts";
import { makeMedia } from "../bench/_media.ts";
import { fixturePath } from "./_cli.ts";

const decoder = new TextDecoder();

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  assert(out.success, `${cmd} failed: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

for (const lowLatency of [false, true]) {
  Deno.test(`planShift starts 25 s back in rotated recordings and runs into the ring frame by frame${lowLatency ? " (--low-latency)" : ""}`, async () => {
    const media = await makeMedia({ seconds: 30, bitrate: 200_000, gop: 25, size: "160x90" });
    const dir = `${media.dir}/rec`;
    try {
      await Deno.mkdir(`${dir}/stream`, { recursive: true });
      await run("mkvmerge", [
        "-q",
        "-o",
        `${media.dir}/part.mkv`,
        "--split",
        "timestamps:10s,20s",
        media.path,
      ]);
      // Named and dated as the recorder would: 10 s apart, the last one 10 s ago.
      const now = Date.now();
      for (let i = 1; i <= 3; i++) {
        const start = new Date(now - (40 - 10 * i) * 1000);
        const path = `${dir}/stream/${formatRecordingName(start)}`;
        await Deno.rename(`${media.dir}/part-00${i}.mkv`, path);
        await run("mkvpropedit", [
          "-q",
          path,
          "--edit",
          "info",
          "--set",
          `date=${start.toISOString().replace(/\.\d+Z$/, "Z")}`,
        ]);
      }
      const mount = new Mount("stream", { maxDuration: 8_000, lowLatency });
      await ingest((await Deno.open(media.path)).readable, mount);
      mount.end();
      const ring = mount.ring;
      const header = mount.header!;
      const warnings: string[] = [];
      const plan = await planShift(ring, header, { ago: 25_000 }, {
        store: new RecordingStore(dir),
        mount: "stream",
        onWarning: (m) => warnings.push(m),
      });
      assertEquals(plan.kind, "recordings");
      assert(plan.kind === "recordings");
      assertEquals(warnings, []); // the newest file shares keyframes with the ring
      const client = mount.attach({ leadIn: plan.leadIn })!;
      const chunks = await Array.fromAsync(client.readable);
      const capture = `${media.dir}/capture.mkv`;
      await Deno.writeFile(capture, concatBytes(chunks));
      const lines = (await run("ffprobe", [
        ...["-v", "error", "-select_streams", "v", "-show_entries", "packet=pts_time,data_hash"],
        ...["-show_data_hash", "MD5", "-of", "csv=p=0", capture],
      ])).split("\n").filter((l) => l !== "").map((l) => l.split(","));
      const times = lines.map(([t]) => Number(t));
      const end = ring.liveTime * ring.msPerUnit / 1000;
      // The keyframe at or before 25 s back, to the end: every frame once, 40 ms apart.
      assert(end - times[0] >= 25 && end - times[0] <= 26.05, `starts ${end - times[0]} s back`);
      for (let i = 1; i < times.length; i++) {
        assert(Math.abs(times[i] - times[i - 1] - 0.04) < 0.0015, `${times[i - 1]} → ${times[i]}`);
      }
      assertEquals(new Set(lines.map(([, hash]) => hash)).size, lines.length);
      assertLess(end - times.at(-1)!, 0.1);
      const audio = (await run("ffprobe", [
        ...["-v", "error", "-select_streams", "a", "-show_entries", "packet=pts_time"],
        ...["-of", "csv=p=0", capture],
      ])).split("\n").filter((l) => l !== "").map((l) => Number(l.split(",")[0]));
      for (let i = 1; i < audio.length; i++) assertLess(audio[i - 1], audio[i]);
    } finally {
      await Deno.remove(media.dir, { recursive: true });
    }
  });
}

Deno.test("planShift answers from the ring, and too-old with the oldest time kept", async () => {
  const mount = new Mount("stream", { maxDuration: 4_000 });
  await ingest((await Deno.open(fixturePath("h264_aac.mkv"))).readable, mount);
  mount.end();
  const ring = mount.ring;
  const inRing = await planShift(ring, mount.header!, { ago: 1_000 }, { mount: "stream" });
  assertEquals(inRing.kind, "ring");
  assert(inRing.kind === "ring" && "seq" in inRing.start);
  const gop = ring.startFor(inRing.start)!;
  const target = ring.liveTime - 1_000 / ring.msPerUnit;
  // The newest GOP at or before the point.
  assert(gop.time <= target && (ring.after(gop)?.time ?? Infinity) > target);
  const old = await planShift(ring, mount.header!, { ago: 3_600_000 }, { mount: "stream" });
  assertEquals(old, { kind: "too-old", oldest: new Date(ring.oldest!.wallTime) });
  const future = await planShift(ring, mount.header!, { at: new Date(Date.now() + 60_000) }, {
    mount: "stream",
  });
  assertEquals(future, { kind: "ring", start: { gops: 1 } });
});

Deno.test("planShift places an audio-only recording by any block the ring shares, and hands over sample-exact", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_shift_" });
  try {
    await Deno.mkdir(`${dir}/stream`);
    // The recorder's Clusters begin where it likes, not where the ring cuts its GOPs.
    const start = new Date(Math.floor(Date.now() / 1000) * 1000 - 6_000);
    const path = `${dir}/stream/${formatRecordingName(start)}`;
    await run("mkvmerge", [
      ...["-q", "-o", path, "--disable-lacing", "--cluster-length", "700ms"],
      fixturePath("audio_only.webm"),
    ]);
    const date = `date=${start.toISOString().replace(/\.\d+Z$/, "Z")}`;
    await run("mkvpropedit", ["-q", path, "--edit", "info", "--set", date]);
    const mount = new Mount("stream", { maxDuration: 2_000 });
    await ingest((await Deno.open(fixturePath("audio_only.webm"))).readable, mount);
    mount.end();
    const warnings: string[] = [];
    const plan = await planShift(mount.ring, mount.header!, { ago: 4_000 }, {
      store: new RecordingStore(dir),
      mount: "stream",
      onWarning: (m) => warnings.push(m),
    });
    assert(plan.kind === "recordings", plan.kind);
    assertEquals(warnings, []);
    const client = mount.attach({ leadIn: plan.leadIn })!;
    const capture = `${dir}/capture.webm`;
    await Deno.writeFile(capture, concatBytes(await Array.fromAsync(client.readable)));
    const times = (await run("ffprobe", [
      ...["-v", "error", "-show_entries", "packet=pts_time", "-of", "csv=p=0", capture],
    ])).split("\n").filter((l) => l !== "").map((l) => Number(l.split(",")[0]));
    for (let i = 1; i < times.length; i++) {
      assert(Math.abs(times[i] - times[i - 1] - 0.02) < 0.0015, `${times[i - 1]} → ${times[i]}`);
    }
    const end = mount.ring.liveTime * mount.ring.msPerUnit / 1000;
    assert(end - times[0] >= 4 && end - times[0] <= 5, `starts ${end - times[0]} s back`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
