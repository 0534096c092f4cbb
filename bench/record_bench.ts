// Recording: what --record costs one process, run by run. mkserver plays a generated H.264 +
// Opus file (--bitrate, default 8 Mbit/s) with --loop, twice: without --record, then with
// --record DIR --record-segment S. Every 5 s the server's RSS (/proc/PID/status VmRSS) and CPU
// time and its /status are sampled.
//
//   deno run -A bench/record_bench.ts [--seconds 120] [--bitrate 8M] [--segment 20s] [--keep]
//
// Reports per run: CPU (% of a core), RSS start/end/max and its slope over the second half
// (MiB per hour, least squares), and for the recording run the bytes per write (the writer
// batches Clusters into writes of at least 64 KiB), files finished, and whether each file passes
// `mkvinfo` with Cues and a Duration. Prints a table and one JSON line per run.

import { parseArgs } from "@std/cli/parse-args";
import { cleanup, parseBitrate, round, type Server, startServer, waitLive } from "./_live.ts";
import { makeMedia } from "./_media.ts";
import { cpuSeconds, rssMiB, sleep } from "./_proc.ts";

const SAMPLE_MS = 5000;

const args = parseArgs(Deno.args, {
  string: ["seconds", "bitrate", "segment"],
  boolean: ["keep", "help"],
}) as Record<string, unknown>;
if (args.help) {
  console.log("deno run -A bench/record_bench.ts [--seconds 120] [--bitrate 8M] [--segment 20s]");
  Deno.exit(0);
}
const SECONDS = Number(args.seconds ?? 120);
if (!(SECONDS >= 10 && SECONDS <= 3600)) throw new TypeError(`Invalid --seconds: ${args.seconds}`);
const BITRATE = parseBitrate(String(args.bitrate ?? "8M"));
const SEGMENT = String(args.segment ?? "20s");

interface Sample {
  t: number;
  rss: number;
  cpu: number;
}

/** Least-squares slope of RSS over the second half, MiB per hour. */
function slope(samples: readonly Sample[]): number {
  const half = samples.slice(Math.floor(samples.length / 2));
  const n = half.length;
  if (n < 2) return 0;
  const mt = half.reduce((s, x) => s + x.t, 0) / n;
  const mr = half.reduce((s, x) => s + x.rss, 0) / n;
  const num = half.reduce((s, x) => s + (x.t - mt) * (x.rss - mr), 0);
  const den = half.reduce((s, x) => s + (x.t - mt) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 3600;
}

async function sampleRun(server: Server): Promise<Sample[]> {
  const samples: Sample[] = [];
  const start = performance.now();
  const cpu0 = cpuSeconds(server.pid);
  while (performance.now() - start < SECONDS * 1000) {
    await sleep(SAMPLE_MS);
    samples.push({
      t: (performance.now() - start) / 1000,
      rss: rssMiB(server.pid),
      cpu: cpuSeconds(server.pid) - cpu0,
    });
  }
  return samples;
}

async function checkFiles(dir: string) {
  let ok = 0;
  let total = 0;
  for await (const e of Deno.readDir(`${dir}/stream`)) {
    total++;
    const out = await new Deno.Command("mkvinfo", {
      args: ["-a", `${dir}/stream/${e.name}`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    if (out.success && /\+ Cue point/.test(text) && /\+ Duration:/.test(text)) ok++;
  }
  return { ok, total };
}

async function run(input: string, record: string | undefined) {
  const extra = record === undefined ? [] : ["--record", record, "--record-segment", SEGMENT];
  const server = await startServer(["--loop", ...extra], input);
  try {
    await waitLive(server);
    const samples = await sampleRun(server);
    const status = await fetch(`${server.base}/status`).then((r) => r.json());
    const recording = status.mounts[0].recording;
    const exit = await server.stop(10_000);
    const last = samples.at(-1)!;
    return {
      config: record === undefined ? "mkserver" : "mkserver --record",
      seconds: SECONDS,
      cpuCorePct: round((last.cpu / last.t) * 100, 2),
      rssStart: round(samples[0].rss),
      rssEnd: round(last.rss),
      rssMax: round(Math.max(...samples.map((s) => s.rss))),
      slopeMiBPerHour: round(slope(samples), 1),
      bytesPerWrite: recording ? Math.round(recording.bytes / recording.writes) : undefined,
      recording,
      files: record === undefined ? undefined : await checkFiles(record),
      errors: server.count("ERROR") + server.count("WARN"),
      exit: exit.code,
    };
  } finally {
    await server.stop(2000);
  }
}

const media = await makeMedia({ seconds: 30, bitrate: BITRATE });
const recDir = await Deno.makeTempDir({ prefix: "mkserver-record-bench-" });
try {
  console.error(`${(BITRATE / 1e6).toFixed(1)} Mbit/s, ${SECONDS} s a run, segments ${SEGMENT}`);
  const results = [await run(media.path, undefined), await run(media.path, recDir)];
  console.log(
    "config              CPU %core  RSS start/end/max MiB  slope MiB/h  bytes/write  files ok",
  );
  for (const r of results) {
    console.log(
      [
        r.config.padEnd(19),
        String(r.cpuCorePct).padStart(9),
        `${r.rssStart}/${r.rssEnd}/${r.rssMax}`.padStart(22),
        String(r.slopeMiBPerHour).padStart(12),
        String(r.bytesPerWrite ?? "-").padStart(12),
        r.files ? `${r.files.ok}/${r.files.total}`.padStart(9) : "        -",
      ].join(" "),
    );
  }
  for (const r of results) console.log(JSON.stringify(r));
} finally {
  await cleanup(media.dir, Boolean(args.keep));
  await cleanup(recDir, Boolean(args.keep));
}
