// The origin's cost of segmented delivery behind one nginx cache: mkserver serves a looped
// 2 Mbit/s H.264 + Opus file (bench/_media.ts, cached) as LL-HLS, nginx (bench/_nginx.ts, the
// README's proxy_cache settings) sits in front, and LL-HLS followers (tests/_segment_clients.ts:
// blocking reloads, every new part) follow both renditions through nginx: first a few, then
// many, then a few again, in one run. mkserver's CPU (user + system, /proc) must not grow with
// the followers: the cache takes their requests. Reported per phase: followers, what they got,
// the origin's CPU seconds and object requests, and its CPU per GB delivered at the viewers.
//
//   deno run -A bench/segments_origin.ts [--few 10] [--many 500] [--seconds 20]
//
// The followers run in this process, on the same cores: at 500 they may not keep up with every
// part (the "MB/s per follower" column says, against the stream's ~0.26 MB/s), which lowers what
// is delivered, not the origin's work.
import { parseArgs } from "@std/cli/parse-args";
import { followRendition, followStats } from "../tests/_segment_clients.ts";
import { cachedFile, encodeMedia } from "./_media.ts";
import { originObjectRequests, startCacheProxy } from "./_nginx.ts";
import { cpuSeconds, freePort, sleep, until } from "./_proc.ts";

const args = parseArgs(Deno.args, {
  string: ["few", "many", "seconds"],
  default: { few: "10", many: "500", seconds: "20" },
});
const FEW = Number(args.few);
const MANY = Number(args.many);
const SECONDS = Number(args.seconds);
const ROOT = new URL("..", import.meta.url).pathname;

const media = await cachedFile(
  "h264-opus-2M-60s.mkv",
  (path) => encodeMedia(path, { seconds: 60, bitrate: 2e6 }),
);
const port = freePort();
const origin = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", "main.ts", "--port", String(port), "--quiet", "--loop", media],
  cwd: ROOT,
  stdout: "null",
  stderr: "inherit",
}).spawn();
const metrics = async () =>
  originObjectRequests(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());

/** One phase: `followers` follow both renditions for SECONDS after a 3 s join. */
async function phase(base: string, followers: number) {
  const stats = followStats();
  const stop = new AbortController();
  const loops: Promise<void>[] = [];
  for (let i = 0; i < followers; i++) {
    for (const rendition of ["v1.m3u8", "a2.m3u8"]) {
      loops.push(followRendition(base + rendition, stats, stop.signal));
    }
  }
  await sleep(3000);
  const bytes0 = stats.bytes;
  const cpu0 = cpuSeconds(origin.pid);
  const served0 = await metrics();
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const cpu = cpuSeconds(origin.pid) - cpu0;
  const served = (await metrics()) - served0;
  const wall = (performance.now() - t0) / 1000;
  const bytes = stats.bytes - bytes0;
  stop.abort();
  await Promise.all(loops);
  return { followers, wall, cpu, served, bytes, stats };
}

try {
  const proxy = await startCacheProxy(port, {
    ready: "/live/stream/hls/v1.m3u8",
    connections: 4 * MANY + 256,
    timeout: 30_000,
  });
  try {
    const base = `http://127.0.0.1:${proxy.port}/live/stream/hls/`;
    // Let the playlist fill (the fast start) before measuring.
    await until(async () => {
      const r = await fetch(base + "v1.m3u8");
      return (await r.text()).split("#EXTINF").length > 5;
    }, 30_000);
    const results = [];
    for (const n of [FEW, MANY, FEW]) results.push(await phase(base, n));
    console.log(
      `| followers | wall s | delivered MB | MB/s per follower | origin CPU-s | origin objects | CPU-s per GB delivered | errors |`,
    );
    console.log(`| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |`);
    for (const r of results) {
      const perFollower = r.bytes / 1e6 / r.followers / r.wall;
      console.log(
        `| ${r.followers} | ${r.wall.toFixed(1)} | ${(r.bytes / 1e6).toFixed(1)} | ` +
          `${perFollower.toFixed(3)} | ${r.cpu.toFixed(2)} | ${r.served} | ` +
          `${(r.cpu / (r.bytes / 1e9)).toFixed(3)} | ${JSON.stringify(r.stats.errors)} |`,
      );
    }
    const few = (results[0].cpu + results[2].cpu) / 2;
    const many = results[1].cpu;
    console.log(
      `origin CPU with ${MANY} followers: ${many.toFixed(2)} s vs ${
        few.toFixed(2)
      } s with ${FEW} ` +
        `(${(many / few).toFixed(2)}×) over ${SECONDS} s each`,
    );
  } finally {
    await proxy.close();
  }
} finally {
  origin.kill("SIGTERM");
  await origin.status;
}
