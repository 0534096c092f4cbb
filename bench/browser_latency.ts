// The player page's distance to the live edge in a real browser: a live encoder (ffmpeg -re, the
// README's recipe: testsrc2 + sine, VP8 + Opus, WebM) is piped into `mkserver -`, headless
// Chromium opens the player page, and "seconds behind live" is sampled for --seconds after a
// --warmup (default 30 s after 5 s). Each server mode in --modes runs in turn.
//
//   deno run -A bench/browser_latency.ts [--seconds 30] [--warmup 5] [--modes normal,low-latency,500ms]
//                                        [--size 640x360] [--bitrate 1M]
//
// Two figures per sample, both "the server's newest block's media time − the playhead":
// - page: what the page itself shows and reports (its edge polled from /live/NAME/edge each
//   second, run on by the wall clock until the next);
// - bench: measured outside the page, the bench's own GET /live/stream/edge against the
//   `<video>`'s currentTime read at once after it.
// Neither counts the encoder's own delay nor bytes still in the pipe (the server has not seen
// them); "input jitter" says how unevenly the encoder's blocks reached the server. Target: the
// page within 1.0 s of live on average. Prints a report and one JSON line.

import { parseArgs } from "@std/cli/parse-args";
import { launchBrowser } from "../tests/_browser.ts";
import type { Page } from "../tests/_playwright.ts";
import { percentile, round, type Server, startPipedServer, waitLive } from "./_live.ts";
import { sleep } from "./_proc.ts";

/** What is read of the page each sample. */
interface PageSample {
  mode: string;
  behind: number | null;
  ahead: number;
  buffered: number;
  rate: number;
  jumps: number;
  nudges: number;
  currentTime: number;
  paused: boolean;
}

const SAMPLE = `(() => {
  const video = document.getElementById("video");
  const s = globalThis.mkserverPlayer.state();
  return { ...s, behind: s.behind ?? null, currentTime: video.currentTime, paused: video.paused };
})()`;

function encoder(size: string, bitrate: string): Deno.ChildProcess {
  return new Deno.Command("ffmpeg", {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-re"],
      ...["-f", "lavfi", "-i", `testsrc2=size=${size}:rate=25`],
      ...["-f", "lavfi", "-i", "sine=frequency=440"],
      ...["-c:v", "libvpx", "-b:v", bitrate, "-g", "50", "-deadline", "realtime"],
      ...["-cpu-used", "8", "-c:a", "libopus", "-f", "webm", "-"],
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/** Mean, p50, p95 and max of `values`, rounded to ms. */
function summary(values: number[]) {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    n: values.length,
    mean: round(mean, 3),
    p50: round(percentile(values, 50), 3),
    p95: round(percentile(values, 95), 3),
    max: round(Math.max(...values), 3),
  };
}

async function edgeOf(server: Server): Promise<number> {
  const response = await fetch(`${server.base}/live/stream/edge`);
  return (await response.json()).liveTime;
}

/** Samples the page every 250 ms (and the bench's own figure every second) for `ms`. */
async function sample(page: Page, server: Server, ms: number, started: number) {
  const pageBehind: number[] = [];
  const benchBehind: number[] = [];
  const inputLag: number[] = [];
  const ahead: number[] = [];
  let stalls = 0;
  let last: PageSample | undefined;
  let first: PageSample | undefined;
  const end = performance.now() + ms;
  for (let i = 0; performance.now() < end; i++) {
    const s = await page.evaluate<PageSample>(SAMPLE);
    first ??= s;
    if (s.behind !== null) pageBehind.push(s.behind);
    ahead.push(s.ahead);
    if (last && !s.paused && s.currentTime === last.currentTime) stalls++;
    last = s;
    if (i % 4 === 0) {
      const edge = await edgeOf(server);
      const t = (await page.evaluate<PageSample>(SAMPLE)).currentTime;
      benchBehind.push(edge - t);
      // Wall-clock seconds since the encoder started minus the edge: constant for an even input.
      inputLag.push((performance.now() - started) / 1000 - edge);
    }
    await sleep(250);
  }
  const minLag = Math.min(...inputLag);
  return {
    page: summary(pageBehind),
    bench: summary(benchBehind),
    ahead: summary(ahead),
    inputJitterP95: round(percentile(inputLag.map((l) => l - minLag), 95), 3),
    stalledSamples: stalls,
    jumps: (last?.jumps ?? 0) - (first?.jumps ?? 0),
    nudges: (last?.nudges ?? 0) - (first?.nudges ?? 0),
    maxBuffered: round(last?.buffered ?? 0, 2),
    playback: last?.mode,
  };
}

async function runMode(
  mode: string,
  flags: { seconds: number; warmup: number; size: string; bitrate: string },
) {
  const ffmpeg = encoder(flags.size, flags.bitrate);
  const started = performance.now();
  // A mode: normal (the default cadence), low-latency, or a --latency value such as 500ms.
  const args = mode === "normal" ? [] : mode === "low-latency" ? ["--low-latency"] : [
    "--latency",
    mode,
  ];
  const piped = await startPipedServer(args, ffmpeg);
  const server = piped.server;
  const browser = await launchBrowser();
  try {
    await waitLive(server, 15_000);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${server.base}/`);
    const joined = performance.now();
    await sleep(flags.warmup * 1000);
    const result = await sample(page, server, flags.seconds * 1000, started);
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    const count = Number(/^mkserver_viewer_latency_seconds_count\S* (\d+)/m.exec(metrics)?.[1]);
    const sum = Number(/^mkserver_viewer_latency_seconds_sum\S* ([\d.]+)/m.exec(metrics)?.[1]);
    return {
      mode,
      warmupSeconds: round((performance.now() - joined) / 1000 - flags.seconds, 1),
      ...result,
      reports: { count, mean: round(sum / count, 3) },
      pageErrors: errors,
    };
  } finally {
    await browser.close();
    await piped.stop();
  }
}

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["seconds", "warmup", "modes", "size", "bitrate"],
    default: { seconds: "30", warmup: "5", modes: "normal,low-latency", size: "640x360" },
  });
  const flags = {
    seconds: Math.min(300, Number(args.seconds)),
    warmup: Math.min(60, Number(args.warmup)),
    size: String(args.size),
    bitrate: String(args.bitrate ?? "1M"),
  };
  const results = [];
  for (const mode of String(args.modes).split(",")) {
    const r = await runMode(mode, flags);
    results.push(r);
    console.log(
      `${mode}: page ${r.page.mean} s behind live on average (p50 ${r.page.p50}, p95 ${r.page.p95}, ` +
        `max ${r.page.max}, n ${r.page.n}); bench's own ${r.bench.mean} s (p95 ${r.bench.p95}); ` +
        `buffered ahead ${r.ahead.mean} s on average; ` +
        `${r.stalledSamples} stalled samples, ${r.jumps} jumps, ${r.nudges} nudges, ` +
        `buffered ${r.maxBuffered} s, ` +
        `input jitter p95 ${r.inputJitterP95} s; /metrics: ${r.reports.count} reports, mean ` +
        `${r.reports.mean} s; playback ${r.playback}`,
    );
  }
  console.log(JSON.stringify({ bench: "browser_latency", ...flags, results }));
}
