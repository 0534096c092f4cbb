// Isolation: V viewers of a generated 4 Mbit/s live stream (file played at real time), of which
// 10 % read at a third of the bitrate (4 KiB reads with sleeps), 5 % never read past the
// response head (stalled), and the rest read as fast as data comes. mkserver runs with
// --buffer 4s so slow viewers fall off the ring within the run. Reports the normal viewers'
// received rate against the stream's (the server's ingest rate over the same window), the
// server's RSS sampled each second (/proc/PID/status VmRSS), and /status skips and ring bytes.
//
//   deno run -A bench/isolation.ts [--viewers 100] [--seconds 30] [--input FILE] [--bitrate 4M]
//                                  [--buffer 4s] [--slow 0.1] [--stalled 0.05] [--keep]
//
// The point: normal viewers keep full rate, and RSS stays within the ring's bound.
// Why 4 Mbit/s: the kernel queues up to about 4 MB per connection (send buffer), so a viewer at a
// third of 2 Mbit/s (175 KB/s short) takes over 30 s to fall off a 4 s ring (0 skips in 30 s);
// at 4 Mbit/s the slow viewers skip within the run.
// Prints a report and one JSON line.

import {
  cleanup,
  fileRate,
  HttpViewer,
  inputOrMedia,
  type MountStatus,
  parseBenchFlags,
  percentile,
  round,
  startServer,
  waitLive,
} from "./_live.ts";
import { cpuSeconds, rssMiB, sleep } from "./_proc.ts";

type Kind = "normal" | "slow" | "stalled";

interface Viewer {
  kind: Kind;
  http?: HttpViewer;
  bytes: number;
  /** bodyBytes at the start and end of the measurement window. */
  at0: number;
  at1: number;
  error?: string;
}

const WARMUP_MS = 4000;

const args = parseBenchFlags(Deno.args, {
  viewers: 100,
  seconds: 30,
  bitrate: "4M",
}, ["buffer", "slow", "stalled"]);
const buffer = String(args.flags.buffer ?? "4s");
const slowShare = Number(args.flags.slow ?? 0.1);
const stalledShare = Number(args.flags.stalled ?? 0.05);
if (args.seconds * 1000 <= WARMUP_MS + 2000) {
  throw new TypeError(`--seconds must be more than ${WARMUP_MS / 1000 + 2}`);
}

let dir: string | undefined;
try {
  const media = await inputOrMedia(args, Math.ceil(args.seconds) + 15);
  const input = media.input;
  dir = media.dir;
  const rate = fileRate(await Deno.readFile(input));
  const bytesPerSecond = rate.bitrate / 8;

  const server = await startServer(["--buffer", buffer], input);
  const viewers: Viewer[] = [];
  const rss: number[] = [];
  const statuses: MountStatus[] = [];
  let stop = false;
  let loops: Promise<void>[] = [];
  let cpu0 = 0;
  let cpu1 = 0;
  let ingest0 = 0;
  let ingest1 = 0;
  let windowMs = 0;
  try {
    await waitLive(server);
    rss.push(rssMiB(server.pid));
    cpu0 = cpuSeconds(server.pid);
    const nSlow = Math.round(args.viewers * slowShare);
    const nStalled = Math.round(args.viewers * stalledShare);
    // Spread the kinds evenly through the connection order.
    const order: { kind: Kind; key: number }[] = [];
    const add = (kind: Kind, n: number) => {
      for (let i = 0; i < n; i++) order.push({ kind, key: (i + 0.5) / n });
    };
    add("slow", nSlow);
    add("stalled", nStalled);
    add("normal", args.viewers - nSlow - nStalled);
    order.sort((x, y) => x.key - y.key);
    for (const { kind } of order) {
      viewers.push({ kind, bytes: 0, at0: 0, at1: 0 });
    }

    const run = async (v: Viewer) => {
      try {
        v.http = await HttpViewer.open(server.port, {
          readSize: v.kind === "stalled" ? 1024 : 65536,
        });
        const h = v.http;
        if (v.kind === "stalled") {
          while (!stop && h.status === 0) {
            if (await h.read() === null) break;
          }
          while (!stop) await sleep(200); // never reads again
          return;
        }
        if (v.kind === "slow") h.setReadSize(4096);
        const target = bytesPerSecond / 3;
        const t0 = performance.now();
        while (!stop) {
          const parts = await h.read();
          if (parts === null) {
            if (!stop) v.error = "the stream ended";
            break;
          }
          if (v.kind === "slow") {
            const ahead = h.bodyBytes - target * (performance.now() - t0) /
                1000;
            if (ahead > 0) await sleep((ahead / target) * 1000);
          }
        }
      } catch (error) {
        if (!stop) v.error = String((error as Error)?.message ?? error);
      }
    };
    for (const v of viewers) {
      loops.push(run(v));
      await sleep(5);
    }
    const started = performance.now();
    const end = started + args.seconds * 1000;
    let windowStart = 0;
    let next = started + 1000;
    while (performance.now() < end) {
      await sleep(next - performance.now());
      next += 1000;
      rss.push(rssMiB(server.pid));
      const s = await server.status();
      statuses.push(s);
      if (windowStart === 0 && performance.now() - started >= WARMUP_MS) {
        windowStart = performance.now();
        ingest0 = s.bytesIn;
        for (const v of viewers) v.at0 = v.http?.bodyBytes ?? 0;
      }
    }
    const last = await server.status();
    windowMs = performance.now() - windowStart;
    ingest1 = last.bytesIn;
    for (const v of viewers) v.at1 = v.http?.bodyBytes ?? 0;
    statuses.push(last);
    rss.push(rssMiB(server.pid));
    cpu1 = cpuSeconds(server.pid);
  } finally {
    stop = true;
    for (const v of viewers) v.http?.close();
    await Promise.all(loops);
    loops = [];
    await server.stop();
  }

  const ingestRate = ((ingest1 - ingest0) * 8) / (windowMs / 1000);
  const rateOf = (v: Viewer) => ((v.at1 - v.at0) * 8) / (windowMs / 1000);
  const byKind = (k: Kind) => viewers.filter((v) => v.kind === k);
  const normal = byKind("normal").map(rateOf);
  const slow = byKind("slow").map(rateOf);
  const stalled = byKind("stalled").map(rateOf);
  const last = statuses[statuses.length - 1];
  const result = {
    bench: "isolation",
    viewers: args.viewers,
    seconds: args.seconds,
    buffer,
    counts: {
      normal: normal.length,
      slow: slow.length,
      stalled: stalled.length,
    },
    fileBitrateKbps: round(rate.bitrate / 1000),
    ingestKbps: round(ingestRate / 1000),
    windowSeconds: round(windowMs / 1000, 2),
    normalKbps: {
      min: round(percentile(normal, 0) / 1000),
      median: round(percentile(normal, 50) / 1000),
      max: round(percentile(normal, 100) / 1000),
    },
    normalRatio: {
      min: round(percentile(normal, 0) / ingestRate, 3),
      median: round(percentile(normal, 50) / ingestRate, 3),
    },
    slowKbps: {
      min: round(percentile(slow, 0) / 1000),
      median: round(percentile(slow, 50) / 1000),
    },
    stalledKbps: { max: round(percentile(stalled, 100) / 1000) },
    viewerErrors: viewers.filter((v) => v.error).length,
    firstViewerError: viewers.find((v) => v.error)?.error,
    rssMiB: {
      start: round(rss[0]),
      max: round(Math.max(...rss)),
      end: round(rss[rss.length - 1]),
    },
    skips: last.skips,
    skipLogLines: server.count("fell behind"),
    ring: {
      bytesMax: Math.max(...statuses.map((s) => s.ring.bytes)),
      bytesEnd: last.ring.bytes,
      seconds: last.ring.seconds,
      gops: last.ring.gops,
      pinnedBytesMax: Math.max(...statuses.map((s) => s.ring.pinnedBytes)),
      evictedGops: last.ring.evictedGops,
    },
    serverViewersEnd: last.viewers,
    serverCpuSeconds: round(cpu1 - cpu0, 2),
    bytesOut: last.bytesOut,
  };
  const r = result;
  console.log(
    `isolation: ${r.viewers} viewers (${r.counts.normal} normal, ${r.counts.slow} at 1/3 rate, ${r.counts.stalled} stalled), ${r.seconds} s, --buffer ${buffer}`,
  );
  console.log(
    `  stream: file ${r.fileBitrateKbps} kbit/s, server ingest ${r.ingestKbps} kbit/s over the ${r.windowSeconds} s window`,
  );
  console.log(
    `  normal viewers: min ${r.normalKbps.min} kbit/s (${r.normalRatio.min}×), median ${r.normalKbps.median} kbit/s (${r.normalRatio.median}×)`,
  );
  console.log(
    `  slow viewers: median ${r.slowKbps.median} kbit/s; stalled: max ${r.stalledKbps.max} kbit/s; viewer errors ${r.viewerErrors}`,
  );
  console.log(
    `  server RSS MiB: start ${r.rssMiB.start}, max ${r.rssMiB.max}, end ${r.rssMiB.end}; CPU ${r.serverCpuSeconds} s`,
  );
  console.log(
    `  skips ${r.skips}; ring bytes max ${r.ring.bytesMax} (${r.ring.seconds} s, ${r.ring.gops} GOPs at the end), pinned max ${r.ring.pinnedBytesMax}, evicted GOPs ${r.ring.evictedGops}`,
  );
  console.log(JSON.stringify(result));
} finally {
  await cleanup(dir, args.keep);
}
