/**
 * An HTTP cache in front of the segments: Debian's nginx, started by the test in a private prefix
 * with `proxy_cache` and `proxy_cache_lock` and nothing mkserver-specific, and 40 LL-HLS followers
 * through it. mkserver must see each init and part about once (at most 1.1 origin requests per
 * object), however many followers there are.
 */

import { assert, assertEquals } from "@std/assert";
import { CliServer } from "./_cli.ts";
import { startCachingNginx } from "./_nginx.ts";
import { followRendition, followStats } from "./_segment_clients.ts";

const FOLLOWERS = 40;

async function originObjects(server: CliServer): Promise<number> {
  const metrics = await (await fetch(server.url("/metrics"))).text();
  let n = 0;
  for (const kind of ["init", "part", "segment"]) {
    n += Number(
      new RegExp(`mkserver_segment_requests_total\\{kind="${kind}"\\} (\\d+)`).exec(metrics)?.[1] ??
        0,
    );
  }
  return n;
}

Deno.test("nginx proxy_cache in front: 40 LL-HLS followers cost the origin about one request per object", async () => {
  await using server = await CliServer.start(["--port", "0", "--loop", "testdata/h264_aac.mkv"]);
  await using nginx = await startCachingNginx(server.port, "/live/stream/hls/v1.m3u8");
  const stop = new AbortController();
  try {
    const base = `${nginx.base}/live/stream/hls/`;
    const before = await originObjects(server);
    const stats = followStats();
    const followers = [];
    for (let i = 0; i < FOLLOWERS; i++) {
      for (const rendition of ["v1.m3u8", "a2.m3u8"]) {
        followers.push(followRendition(base + rendition, stats, stop.signal));
      }
    }
    await new Promise((r) => setTimeout(r, 10_000));
    stop.abort();
    await Promise.all(followers);
    const origin = (await originObjects(server)) - before;
    const distinct = stats.objects.size;
    console.log(
      `  ${FOLLOWERS} followers: ${stats.requests} requests to nginx, ${distinct} objects, ` +
        `${origin} object requests at the origin (${(origin / distinct).toFixed(2)} per object)`,
    );
    assert(distinct >= 20, `too few objects followed: ${distinct}`);
    assert(origin / distinct <= 1.1, `${origin} origin requests for ${distinct} objects`);
    assertEquals(stats.errors[500] ?? 0, 0);
  } finally {
    stop.abort();
  }
});
