/**
 * An HTTP cache in front of the segments: Debian's nginx, started by the test in a private prefix
 * with `proxy_cache` and `proxy_cache_lock` and nothing mkserver-specific, and 40 LL-HLS followers
 * through it. mkserver must see each init and part about once (at most 1.1 origin requests per
 * object), however many followers there are.
 */

import { assert, assertEquals } from "@std/assert";
import { freePort, until } from "../bench/_proc.ts";
import { CliServer } from "./_cli.ts";
import { followRendition, followStats } from "./_segment_clients.ts";

const FOLLOWERS = 40;
/** Debian's nginx (`.ci/run` installs it); missing, the test fails rather than skips. */
const NGINX = "/usr/sbin/nginx";

function nginxConf(dir: string, port: number, origin: number): string {
  return `daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  # As in the README's "Behind nginx".
  proxy_cache_path ${dir}/cache levels=1:2 keys_zone=mk:10m max_size=256m inactive=1m;
  server {
    listen 127.0.0.1:${port};
    location ~ ^/live/[^/]+/ {
      proxy_pass http://127.0.0.1:${origin};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache mk;
      proxy_cache_lock on;
      proxy_cache_lock_timeout 10s;
      proxy_read_timeout 15s;
    }
  }
}
`;
}

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
  const dir = await Deno.makeTempDir({ prefix: "mkserver_nginx_" });
  const port = freePort();
  await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConf(dir, port, server.port));
  await Deno.stat(NGINX).catch(() => {
    throw new Error(`nginx is missing: ${NGINX} not found (apt-get install nginx)`);
  });
  const nginx = new Deno.Command(NGINX, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stop = new AbortController();
  try {
    const base = `http://127.0.0.1:${port}/live/stream/hls/`;
    assert(
      await until(async () => {
        const r = await fetch(base + "v1.m3u8").catch(() => undefined);
        await r?.body?.cancel();
        return r?.status === 200;
      }, 20_000),
      `nginx did not pass the playlist on: ${await Deno.readTextFile(`${dir}/error.log`)}`,
    );
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
    nginx.kill("SIGTERM");
    await nginx.status;
    await nginx.stderr.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
