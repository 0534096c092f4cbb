// Debian's nginx as an HTTP cache in front of mkserver, started in a private prefix with the
// README's config ("Behind nginx": `proxy_cache` + `proxy_cache_lock`, nothing mkserver-specific).
// Used by the cache test and the segment benchmarks. Missing nginx fails (never skips).
import { freePort, until } from "../bench/_proc.ts";

/** Debian's nginx (`.ci/run` installs it). */
export const NGINX = "/usr/sbin/nginx";

function nginxConf(dir: string, port: number, origin: number): string {
  return `daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
worker_rlimit_nofile 8192;
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

/** A running nginx caching `origin` (a port on 127.0.0.1). */
export interface CachingNginx extends AsyncDisposable {
  port: number;
  pid: number;
  /** `http://127.0.0.1:PORT` */
  base: string;
  errorLog(): Promise<string>;
  close(): Promise<void>;
}

/** Starts nginx in a temp prefix in front of `origin` and waits until it passes `probe` on. */
export async function startCachingNginx(origin: number, probe: string): Promise<CachingNginx> {
  await Deno.stat(NGINX).catch(() => {
    throw new Error(`nginx is missing: ${NGINX} not found (apt-get install nginx)`);
  });
  const dir = await Deno.makeTempDir({ prefix: "mkserver_nginx_" });
  const port = freePort();
  await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConf(dir, port, origin));
  const process = new Deno.Command(NGINX, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const errorLog = () => Deno.readTextFile(`${dir}/error.log`).catch(() => "");
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      process.kill("SIGTERM");
      await process.status;
      await Deno.remove(dir, { recursive: true });
    })();
  const up = await until(async () => {
    const r = await fetch(base + probe).catch(() => undefined);
    await r?.body?.cancel();
    return r?.status === 200;
  }, 20_000);
  if (!up) {
    const log = await errorLog();
    await close();
    throw new Error(`nginx did not pass ${probe} on: ${log}`);
  }
  return { port, pid: process.pid, base, errorLog, close, [Symbol.asyncDispose]: close };
}
