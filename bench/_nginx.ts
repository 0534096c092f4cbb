// Debian's nginx as an HTTP cache in front of mkserver's segments, in a private prefix: the
// README's "Behind nginx" proxy_cache settings and nothing mkserver-specific. For
// tests/segments_cache_test.ts and bench/segments_origin.ts.
import { freePort, until } from "./_proc.ts";

/** Where Debian installs it (`.ci/run` does); missing, callers fail rather than skip. */
export const NGINX = "/usr/sbin/nginx";

function nginxConf(dir: string, port: number, origin: number, connections: number): string {
  return `daemon off;
user root;
worker_processes 1;
worker_rlimit_nofile ${2 * connections + 64};
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${connections}; }
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

/** A running nginx; `close()` stops it and removes its prefix. */
export interface CacheProxy extends AsyncDisposable {
  port: number;
  /** The master's pid (its one worker is its child). */
  pid: number;
  /** nginx's error log so far. */
  errors(): Promise<string>;
  close(): Promise<void>;
}

/**
 * Starts nginx caching `http://127.0.0.1:ORIGIN/live/NAME/…` on a free port, and waits until it
 * answers `ready` (a path it passes on) with 200.
 */
export async function startCacheProxy(
  origin: number,
  options: { ready: string; connections?: number; timeout?: number },
): Promise<CacheProxy> {
  await Deno.stat(NGINX).catch(() => {
    throw new Error(`nginx is missing: ${NGINX} not found (apt-get install nginx)`);
  });
  const dir = await Deno.makeTempDir({ prefix: "mkserver_nginx_" });
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/nginx.conf`,
    nginxConf(dir, port, origin, options.connections ?? 1024),
  );
  const child = new Deno.Command(NGINX, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let closed = false;
  const errors = () => Deno.readTextFile(`${dir}/error.log`).catch(() => "");
  const close = async () => {
    if (closed) return;
    closed = true;
    try {
      child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  };
  const proxy = { port, pid: child.pid, errors, close, [Symbol.asyncDispose]: close };
  const ok = await until(async () => {
    const r = await fetch(`http://127.0.0.1:${port}${options.ready}`).catch(() => undefined);
    await r?.body?.cancel();
    return r?.status === 200;
  }, options.timeout ?? 20_000);
  if (!ok) {
    const log = await errors();
    await close();
    throw new Error(`nginx did not pass ${options.ready} on: ${log}`);
  }
  return proxy;
}

/** Init, part and segment requests the origin served, from its `/metrics` text. */
export function originObjectRequests(metrics: string): number {
  let n = 0;
  for (const kind of ["init", "part", "segment"]) {
    const m = new RegExp(`mkserver_segment_requests_total\\{kind="${kind}"\\} (\\d+)`).exec(
      metrics,
    );
    n += Number(m?.[1] ?? 0);
  }
  return n;
}
