// Time-shifted joins from a long recording: how long indexing a recording takes (cold, then
// as a listing finds it again), how long a join 10 % into it takes to plan (the keyframe
// anchor on the ring included), and how fast its lead-in reads the recording into Clusters.
// The recording is a generated H.264 + Opus file (2 s GOP) copied under a recorder's name; the
// mount is fed the same file at once, so its ring holds the file's last 20 s.
//
//   deno run -A bench/shift_join.ts [--minutes 10] [--bitrate 2000000]
//
// Prints one JSON line.

import { parseArgs } from "@std/cli/parse-args";
import { ingest } from "../lib/ingest/ingest.ts";
import { formatRecordingName } from "../lib/record/recording_name.ts";
import { RecordingStore } from "../lib/record/recordings.ts";
import { planShift } from "../lib/record/time_shift.ts";
import { Mount } from "../lib/stream/mount.ts";
import { cachedFile, encodeMedia } from "./_media.ts";

const flags = parseArgs(Deno.args, { string: ["minutes", "bitrate"] });
const minutes = Number(flags.minutes ?? 10);
const bitrate = Number(flags.bitrate ?? 2_000_000);
const source = await cachedFile(
  `shift_${minutes}m_${bitrate}.mkv`,
  (path) => encodeMedia(path, { seconds: minutes * 60, bitrate, size: "640x360" }),
);
const dir = await Deno.makeTempDir({ prefix: "mkserver-shift-" });
try {
  await Deno.mkdir(`${dir}/stream`);
  const name = formatRecordingName(new Date(Date.now() - minutes * 60_000));
  // The index walks every Cluster header (it does not use Cues: a growing file has none).
  await Deno.copyFile(source, `${dir}/stream/${name}`);
  const bytes = (await Deno.stat(source)).size;
  const mount = new Mount("stream");
  await ingest((await Deno.open(source)).readable, mount);
  mount.end();
  const store = new RecordingStore(dir);
  let t = performance.now();
  const [recording] = await store.list("stream");
  const indexMs = performance.now() - t;
  t = performance.now();
  await store.list("stream");
  const relistMs = performance.now() - t;
  t = performance.now();
  const plan = await planShift(mount.ring, mount.header!, { ago: minutes * 60_000 * 0.9 }, {
    store,
    mount: "stream",
    onWarning: (m) => console.error(m),
  });
  const planMs = performance.now() - t;
  if (plan.kind !== "recordings") throw new Error(`Planned ${plan.kind}`);
  const client = mount.attach({ leadIn: plan.leadIn })!;
  t = performance.now();
  let out = 0;
  for (;;) {
    const chunk = await client.next();
    if (chunk === null) break;
    out += chunk.length;
  }
  const readS = (performance.now() - t) / 1000;
  console.log(JSON.stringify({
    minutes,
    bitrate,
    fileMiB: Math.round(bytes / 2 ** 20),
    clusters: recording.index.clusters.length,
    indexMs: Math.round(indexMs),
    relistMs: Math.round(relistMs * 10) / 10,
    planMs: Math.round(planMs),
    leadInMiB: Math.round(out / 2 ** 20),
    leadInMiBps: Math.round(out / 2 ** 20 / readS),
    mediaSpeed: Math.round(minutes * 60 * 0.9 / readS),
  }));
} finally {
  await Deno.remove(dir, { recursive: true });
}
