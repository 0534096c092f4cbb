/**
 * What segment followers behind one nginx cost the origin: the same live stream followed by 10
 * and then by 500 LL-HLS clients (blocking reloads, every new part and init of both renditions,
 * as tests/_segment_clients.ts does) through Debian's nginx with the README's `proxy_cache` +
 * `proxy_cache_lock` config. A cache that shares objects makes the origin's CPU independent of the
 * client count; the table gives the origin's CPU seconds in the window, the objects it served,
 * and its CPU per GB delivered at the clients.
 *
 * A live encoder is piped in (ffmpeg `-re` testsrc2 → H.264 + AAC → `mkserver -`). Each client
 * count gets a fresh nginx (cold cache).
 *
 *     npx -y deno@2.9.6 run -A bench/segments_origin.ts [--clients 10,500] [--seconds 20]
 *
 * @module
 */

import { parseArgs } from "@std/cli/parse-args";
import { followRendition, followStats } from "../tests/_segment_clients.ts";
import { round, startPipedServer, waitLive } from "./_live.ts";
import { liveEncoder } from "./_media.ts";
import { originObjectRequests, startCacheProxy } from "./_nginx.ts";
import { cpuSeconds, sleep, treeCpuSeconds, until } from "./_proc.ts";

const flags = parseArgs(Deno.args, {
  string: ["clients", "seconds", "warmup"],
  default: { clients: "10,500", seconds: "20", warmup: "4" },
});
const counts = String(flags.clients).split(",").map(Number);
const seconds = Number(flags.seconds);
const warmup = Number(flags.warmup);
if (counts.some((n) => !(Number.isInteger(n) && n > 0 && n <= 2000))) {
  throw new TypeError(`Invalid --clients: ${flags.clients} (1 to 2000 each)`);
}
if (!(seconds > 0 && seconds <= 300)) throw new TypeError(`Invalid --seconds: ${flags.seconds}`);

async function originObjects(base: string): Promise<number> {
  return originObjectRequests(await (await fetch(`${base}/metrics`)).text());
}

interface Row {
  clients: number;
  originCpu: number;
  nginxCpu: number;
  originObjects: number;
  delivered: number;
  requests: number;
  errors: number;
}

async function measure(server: { base: string; port: number; pid: number }, clients: number) {
  await using proxy = await startCacheProxy(server.port, {
    ready: "/live/stream/hls/v1.m3u8",
    connections: 4096,
  });
  const nginx = { pid: proxy.pid, base: `http://127.0.0.1:${proxy.port}` };
  const stop = new AbortController();
  const stats = followStats();
  const followers = [];
  for (let i = 0; i < clients; i++) {
    for (const rendition of ["v1.m3u8", "a2.m3u8"]) {
      const url = `${nginx.base}/live/stream/hls/${rendition}`;
      followers.push(followRendition(url, stats, stop.signal).catch(() => {}));
    }
  }
  await sleep(warmup * 1000);
  const cpu0 = cpuSeconds(server.pid);
  const nginx0 = treeCpuSeconds(nginx.pid);
  const objects0 = await originObjects(server.base);
  const bytes0 = stats.bytes;
  const requests0 = stats.requests;
  await sleep(seconds * 1000);
  const row: Row = {
    clients,
    originCpu: cpuSeconds(server.pid) - cpu0,
    nginxCpu: treeCpuSeconds(nginx.pid) - nginx0,
    originObjects: (await originObjects(server.base)) - objects0,
    delivered: stats.bytes - bytes0,
    requests: stats.requests - requests0,
    errors: Object.values(stats.errors).reduce((a, b) => a + b, 0),
  };
  stop.abort();
  await Promise.all(followers);
  return row;
}

const piped = await startPipedServer([], liveEncoder());
const server = piped.server;
try {
  await waitLive(server, 20_000);
  const ready = await until(async () => {
    const r = await fetch(`${server.base}/live/stream/hls/v1.m3u8`).catch(() => undefined);
    await r?.body?.cancel();
    return r?.status === 200;
  }, 20_000);
  if (!ready) throw new Error("the HLS playlist never answered 200");
  const idle0 = cpuSeconds(server.pid);
  await sleep(seconds * 1000);
  const idle = cpuSeconds(server.pid) - idle0;
  const rows: Row[] = [];
  for (const n of counts) rows.push(await measure(server, n));
  console.log(
    `LL-HLS followers through nginx, live encoder piped in, ${seconds} s windows, ` +
      new Date().toISOString(),
  );
  console.log(
    "| clients | origin CPU-s | origin objects | delivered MB | origin CPU-s/GB | nginx CPU-s | " +
      "client requests | Mbit/s per client | errors |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  console.log(`| 0 (ingest + packaging only) | ${round(idle, 2)} | 0 | 0 | – | – | 0 | – | 0 |`);
  for (const r of rows) {
    console.log(
      `| ${r.clients} | ${round(r.originCpu, 2)} | ${r.originObjects} | ${
        round(r.delivered / 1e6, 1)
      } | ${round(r.originCpu / (r.delivered / 1e9), 2)} | ${
        round(r.nginxCpu, 2)
      } | ${r.requests} | ${
        round((r.delivered * 8) / 1e6 / seconds / r.clients, 2)
      } | ${r.errors} |`,
    );
  }
} finally {
  await piped.stop();
}
