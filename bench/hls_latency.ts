/**
 * How far behind the live edge hls.js plays mkserver's LL-HLS, direct and through nginx.
 *
 * A live encoder is piped in, as users run it (`ffmpeg -re -f lavfi testsrc2 … -c:v libx264
 * -c:a aac -f matroska - | mkserver -`), and headless Chromium plays `/live/stream/index.m3u8`
 * with hls.js 1.7.4 in low-latency mode. After a warm-up, hls.js's own `latency` (live edge minus
 * playhead) is sampled twice a second; the table gives mean, p50, p95 and max per path, and how
 * far the playhead advanced against wall time (1.00 = no stall).
 *
 *     npx -y deno@2.9.6 run -A bench/hls_latency.ts [--seconds 30] [--warmup 5] [--gop 2]
 *       [--part-target 0.5] [--rate 1]
 *
 * `--rate` is hls.js's `maxLiveSyncPlaybackRate` (1, its default, never speeds up to catch up).
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { launchBrowser } from "../tests/_browser.ts";
import { playerState, servePlayers } from "../tests/_players.ts";
import { percentile, round, startPipedServer, waitLive } from "./_live.ts";
import { liveEncoder } from "./_media.ts";
import { startCacheProxy } from "./_nginx.ts";
import { sleep, until } from "./_proc.ts";

const flags = parseArgs(Deno.args, {
  string: ["seconds", "warmup", "gop", "part-target", "rate"],
  default: { seconds: "30", warmup: "5", gop: "2", "part-target": "0.5", rate: "1" },
});
const seconds = Number(flags.seconds);
const warmup = Number(flags.warmup);
const gop = Number(flags.gop);
for (const [name, value] of [["seconds", seconds], ["warmup", warmup], ["gop", gop]] as const) {
  if (!(value > 0 && value <= 600)) throw new TypeError(`Invalid --${name}: ${value}`);
}

interface Row {
  path: string;
  samples: number[];
  advance: number;
  errors: string[];
}

async function measure(path: string, src: string): Promise<Row> {
  const pages = servePlayers();
  const browser = await launchBrowser();
  try {
    const page = await browser.context.newPage();
    await page.goto(pages.url("hls", src, { rate: String(flags.rate) }));
    const started = await until(async () => (await playerState(page)).currentTime > 0, 20_000);
    if (!started) throw new Error(`hls.js did not start on ${src}`);
    await sleep(warmup * 1000);
    const samples: number[] = [];
    const first = await playerState(page);
    const t0 = performance.now();
    let last = first;
    while (performance.now() - t0 < seconds * 1000) {
      await sleep(500);
      last = await playerState(page);
      if (last.latency !== null && Number.isFinite(last.latency)) samples.push(last.latency);
    }
    const wall = (performance.now() - t0) / 1000;
    return {
      path,
      samples,
      advance: (last.currentTime - first.currentTime) / wall,
      errors: last.errors,
    };
  } finally {
    await browser.close();
    await pages.close();
  }
}

const piped = await startPipedServer(
  ["--part-target", String(flags["part-target"])],
  liveEncoder({ gop }),
);
const server = piped.server;
try {
  await waitLive(server, 20_000);
  const playlist = "/live/stream/index.m3u8";
  const ready = await until(async () => {
    const r = await fetch(server.base + "/live/stream/hls/v1.m3u8").catch(() => undefined);
    await r?.body?.cancel();
    return r?.status === 200;
  }, 20_000);
  if (!ready) throw new Error("the HLS playlist never answered 200");
  const rows = [await measure("direct", server.base + playlist)];
  await using proxy = await startCacheProxy(server.port, { ready: "/live/stream/hls/v1.m3u8" });
  const nginx = { pid: proxy.pid, base: `http://127.0.0.1:${proxy.port}` };
  rows.push(await measure("through nginx (proxy_cache)", nginx.base + playlist));
  console.log(
    `hls.js 1.7.4 lowLatencyMode, maxLiveSyncPlaybackRate ${flags.rate}, live encoder (GOP ${gop} s, part target ` +
      `${flags["part-target"]} s), ${seconds} s after ${warmup} s warm-up, ${
        new Date().toISOString()
      }`,
  );
  console.log("| path | samples | latency mean s | p50 | p95 | max | playhead/wall | errors |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) {
    const mean = r.samples.reduce((a, b) => a + b, 0) / r.samples.length;
    console.log(
      `| ${r.path} | ${r.samples.length} | ${round(mean, 2)} | ${
        round(percentile(r.samples, 50), 2)
      } | ${round(percentile(r.samples, 95), 2)} | ${round(Math.max(...r.samples), 2)} | ${
        round(r.advance, 2)
      } | ${r.errors.length} |`,
    );
  }
} finally {
  await piped.stop();
}
