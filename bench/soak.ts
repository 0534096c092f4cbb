// Soak: N viewers of a looped live stream for M minutes. mkserver plays a generated 2 Mbit/s
// H.264 + Opus file (or --input FILE) with --loop; each viewer is a raw TCP socket speaking
// HTTP/1.0 (a plain body, no chunk framing) that reads and discards everything. Every 5 s the
// server's RSS (/proc/PID/status VmRSS), CPU time and /status are sampled.
//
//   deno run -A bench/soak.ts --viewers N --minutes M [--input FILE] [--bitrate 2M]
//                             [--max-slope 10] [--noise MiB] [--keep]
//
// Reports the RSS slope (MiB per hour, least squares over the second half of the run) and
// errors: viewer disconnects that were not asked for (each is reconnected after 1 s), failed
// connects, viewers that got less than 90 % of the source's bytes, viewers skipped forward (fell
// behind the ring), the server's WARN and ERROR lines, and its exit code on SIGTERM. Exits 1 when
// errors occurred, or when the slope exceeds --max-slope MiB/h *and* the growth it implies over
// the fitted span exceeds --noise MiB.
//
// Why the noise guard: V8 sizes its heap to the allocation rate, so RSS climbs for the first
// minutes and then stays flat (measured at 200 viewers: 64 MiB at the start, +20 MiB during the
// second minute, flat at about 140 MiB from minute 2.5 on; with a forced GC every second RSS
// stayed at 86 MiB and the live heap at 9 MB throughout). A run whose second half starts
// before 5 minutes is in that climb: its default guard is 32 MiB, so it only catches gross leaks
// (over about 1 GB/h in a 2-minute run). Longer runs fit a flat stretch; their default guard is
// 8 MiB. Prints a report and one JSON line.

import { parseArgs } from "@std/cli/parse-args";
import { cleanup, type MountStatus, percentile, round, startServer, waitLive } from "./_live.ts";
import { makeMedia } from "./_media.ts";
import { cpuSeconds, rssMiB, sleep, until } from "./_proc.ts";

const SAMPLE_MS = 5000;
/** Viewers' rates are measured from this long after the last one joined. */
const RATE_WARMUP_MS = 5000;
/** A viewer that received less than this share of the source's bytes counts as an error. */
const RATE_SHARE = 0.9;
/** Viewers opened at once while ramping up. */
const RAMP_BATCH = 50;

const encoder = new TextEncoder();

function usage(): never {
  console.log(
    "usage: deno run -A bench/soak.ts --viewers N --minutes M [--input FILE] [--bitrate 2M]\n" +
      "                                 [--max-slope MiB/h (10)] [--noise MiB (32, or 8 when\n" +
      "                                 the run is 10 minutes or longer)] [--keep]",
  );
  Deno.exit(2);
}

const flags = parseArgs(Deno.args, {
  string: ["viewers", "minutes", "input", "bitrate", "max-slope", "noise"],
  boolean: ["keep", "help"],
});
if (flags.help) usage();
function positive(name: string, fallback?: number): number {
  const raw = (flags as Record<string, unknown>)[name];
  if (raw === undefined) {
    if (fallback === undefined) usage();
    return fallback;
  }
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`soak: invalid --${name}: ${raw}`);
    usage();
  }
  return n;
}
const VIEWERS = Math.round(positive("viewers"));
const MINUTES = positive("minutes");
const MAX_SLOPE = positive("max-slope", 10);
/** The growth guard (see the top): larger while the second half is in V8's heap climb. */
const NOISE = positive("noise", MINUTES >= 10 ? 8 : 32);
const BITRATE = (() => {
  const m = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(String(flags.bitrate ?? "2M"));
  if (m === null) usage();
  return Number(m[1]) * ({ k: 1e3, m: 1e6 }[m[2].toLowerCase()] ?? 1);
})();

/** One viewer slot: kept connected for the whole run (reconnected if the server drops it). */
class Viewer {
  /** Bytes read by the current connection. */
  bytes = 0;
  /** Bytes at the start of the rate window (of the connection that was open then). */
  windowStart = -1;
  /** Connections of this slot that ended without being asked to. */
  drops = 0;
  connectFailures = 0;
  lastError = "";
  #conn: Deno.TcpConn | undefined;
  #stopped = false;
  readonly done: Promise<void>;
  #port: number;

  constructor(port: number) {
    this.#port = port;
    this.done = this.#run();
  }

  async #run(): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    while (!this.#stopped) {
      try {
        this.#conn = await Deno.connect({ hostname: "127.0.0.1", port: this.#port });
      } catch (error) {
        this.connectFailures++;
        this.lastError = String(error);
        await sleep(1000);
        continue;
      }
      this.bytes = 0;
      try {
        await this.#conn.write(encoder.encode("GET /stream HTTP/1.0\r\n\r\n"));
        for (let n; (n = await this.#conn.read(buf)) !== null;) this.bytes += n;
        if (!this.#stopped) this.lastError = "the server closed the connection";
      } catch (error) {
        if (!this.#stopped) this.lastError = String(error);
      }
      try {
        this.#conn.close();
      } catch { /* closed */ }
      if (this.#stopped) break;
      this.drops++;
      this.windowStart = -1; // its rate is no longer measurable
      await sleep(1000);
    }
  }

  stop(): Promise<void> {
    this.#stopped = true;
    try {
      this.#conn?.close();
    } catch { /* closed */ }
    return this.done;
  }
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

interface Sample {
  /** Seconds since the viewers were all connected. */
  t: number;
  rss: number;
  cpu: number;
  status: MountStatus;
}

let dir: string | undefined;
let exitCode = 0;
const viewers: Viewer[] = [];
let server: Awaited<ReturnType<typeof startServer>> | undefined;
try {
  let input = flags.input === undefined ? undefined : String(flags.input);
  if (input === undefined) {
    const media = await makeMedia({ seconds: 60, bitrate: BITRATE });
    dir = media.dir;
    input = media.path;
  }
  const fileBytes = (await Deno.stat(input)).size;
  const live = await startServer(["--loop"], input);
  server = live; // for the cleanup below
  await waitLive(live);
  const pid = live.pid;
  const rssStart = rssMiB(pid);

  for (let i = 0; i < VIEWERS; i++) {
    viewers.push(new Viewer(server.port));
    if ((i + 1) % RAMP_BATCH === 0) await sleep(100);
  }
  await until(async () => (await live.status()).viewers >= VIEWERS, 15_000);
  const t0 = performance.now();
  const end = t0 + MINUTES * 60_000;
  console.error(
    `soak: ${VIEWERS} viewers of ${input} (${round(fileBytes / 1e6, 1)} MB, looped) for ` +
      `${MINUTES} min; server pid ${pid}, RSS ${round(rssStart)} MiB before viewers`,
  );

  const samples: Sample[] = [];
  let window: { t: number; bytesIn: number } | undefined;
  const take = async () => {
    const status = await server!.status();
    const sample = {
      t: (performance.now() - t0) / 1000,
      rss: rssMiB(pid),
      cpu: cpuSeconds(pid),
      status,
    };
    samples.push(sample);
    if (window === undefined && sample.t * 1000 >= RATE_WARMUP_MS) {
      window = { t: sample.t, bytesIn: status.bytesIn };
      for (const v of viewers) v.windowStart = v.bytes;
    }
    return sample;
  };
  let lastPrint = 0;
  while (performance.now() < end) {
    const s = await take();
    if (s.t - lastPrint >= 60 || samples.length === 1) {
      lastPrint = s.t;
      console.error(
        `  ${round(s.t / 60, 1)} min: RSS ${round(s.rss)} MiB, viewers ${s.status.viewers}, ` +
          `CPU ${round(s.cpu)} s, out ${
            round(s.status.bytesOut / 1e9, 2)
          } GB, skips ${s.status.skips}`,
      );
    }
    await sleep(Math.min(SAMPLE_MS, Math.max(0, end - performance.now())));
  }
  const last = await take();

  // Rates: the bytes each viewer read over the window, against what the source delivered.
  const sourceBytes = window === undefined ? 0 : last.status.bytesIn - window.bytesIn;
  const shares = viewers.filter((v) => v.windowStart >= 0)
    .map((v) => (v.bytes - v.windowStart) / sourceBytes);
  const slowViewers = shares.filter((s) => !(s >= RATE_SHARE)).length;

  for (const v of viewers) await v.stop();
  const drops = viewers.reduce((n, v) => n + v.drops, 0);
  const connectFailures = viewers.reduce((n, v) => n + v.connectFailures, 0);
  const viewerErrors = viewers.filter((v) => v.lastError !== "").map((v) => v.lastError);
  viewers.length = 0;
  await until(async () => (await live.status()).viewers === 0, 10_000);
  const stopped = await server.stop(5000);

  // The RSS slope over the second half of the run.
  const half = samples.filter((s) => s.t >= last.t / 2);
  const perSecond = slope(half.map((s) => ({ x: s.t, y: s.rss })));
  const slopePerHour = perSecond * 3600;
  const span = half.length > 1 ? half[half.length - 1].t - half[0].t : 0;
  const growth = perSecond * span;
  const rss = samples.map((s) => s.rss);
  const cpuPerGB = (last.cpu - samples[0].cpu) /
    ((last.status.bytesOut - samples[0].status.bytesOut) / 1e9);
  const result = {
    viewers: VIEWERS,
    minutes: MINUTES,
    sourceMbps: round(sourceBytes * 8 / 1e6 / Math.max(1e-9, last.t - (window?.t ?? 0)), 2),
    rssStartMiB: round(rssStart),
    rssMinMiB: round(Math.min(...rss)),
    rssMaxMiB: round(Math.max(...rss)),
    rssEndMiB: round(last.rss),
    rssSlopeMiBPerHour: round(slopePerHour, 1),
    rssGrowthSecondHalfMiB: round(growth, 1),
    cpuSecondsPerGB: round(cpuPerGB, 3),
    deliveredGB: round(last.status.bytesOut / 1e9, 2),
    viewerShareMin: round(Math.min(...shares), 3),
    viewerShareMedian: round(percentile(shares, 50), 3),
    errors: {
      droppedViewers: drops,
      connectFailures,
      slowViewers,
      skips: last.status.skips,
      serverWarn: server.count("WARN"),
      serverError: server.count("ERROR"),
      exitCode: stopped.code,
    },
  };
  const errorCount = result.errors.droppedViewers + result.errors.connectFailures +
    result.errors.slowViewers + result.errors.skips + result.errors.serverWarn +
    result.errors.serverError + (stopped.code === 0 ? 0 : 1);
  const leaking = slopePerHour > MAX_SLOPE && growth > NOISE;

  console.log(
    `soak: ${VIEWERS} viewers × ${MINUTES} min of a ${result.sourceMbps} Mbit/s stream, ` +
      `${result.deliveredGB} GB delivered at ${result.cpuSecondsPerGB} CPU-s/GB\n` +
      `  RSS: ${result.rssStartMiB} MiB before viewers; ${result.rssMinMiB}–${result.rssMaxMiB} ` +
      `during, ${result.rssEndMiB} at the end; slope ${result.rssSlopeMiBPerHour} MiB/h over the ` +
      `second half (${half.length} samples, ${result.rssGrowthSecondHalfMiB} MiB over ${
        round(span / 60, 1)
      } min)\n` +
      `  viewers' share of the source's bytes: min ${result.viewerShareMin}, median ${result.viewerShareMedian}\n` +
      `  errors: ${result.errors.droppedViewers} unasked disconnects, ${result.errors.connectFailures} ` +
      `failed connects, ${slowViewers} viewers under ${
        RATE_SHARE * 100
      } %, ${result.errors.skips} skips, ` +
      `${result.errors.serverWarn} WARN and ${result.errors.serverError} ERROR lines, exit code ${stopped.code}`,
  );
  for (const error of viewerErrors.slice(0, 5)) console.log(`  viewer: ${error}`);
  for (const line of server.lines.filter((l) => / (WARN|ERROR) /.test(l)).slice(0, 10)) {
    console.log(`  server: ${line}`);
  }
  console.log(JSON.stringify(result));
  if (errorCount > 0) {
    console.log("soak: FAILED: errors occurred");
    exitCode = 1;
  }
  if (leaking) {
    console.log(
      `soak: FAILED: RSS grows ${result.rssSlopeMiBPerHour} MiB/h (> ${MAX_SLOPE}), ` +
        `${result.rssGrowthSecondHalfMiB} MiB over the second half (> ${NOISE})`,
    );
    exitCode = 1;
  }
} finally {
  for (const v of viewers) await v.stop();
  await server?.stop(2000);
  await cleanup(dir, Boolean(flags.keep));
}
Deno.exit(exitCode);
