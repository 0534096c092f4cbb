// Requests per second for short requests: mkserver's `/time` (a 24-byte clock), `/status` and
// `/player` (its player page, a small file-sized response) against Debian's nginx serving files
// of the same sizes, in the same run, with `wrk` (keep-alive connections).
//
//   deno run -A bench/http_rps.ts [--seconds 10] [--connections 50] [--threads 1] [--rounds 3]
//
// mkserver runs as `deno task serve` does (`--v8-flags=--max-semi-space-size=2`), playing
// testdata/sample.webm in a loop so /status describes a live mount; nginx runs in a private prefix
// (a temp dir) with one worker and access_log off, serving two files whose sizes are those of
// mkserver's answers, measured just before. The rounds alternate mkserver and nginx; each figure
// is the median of the rounds. Also reported: the server's CPU seconds (all threads; nginx: its
// worker) per 10,000 answers, and wrk's p50 and p99 latency. Prints one JSON line per run, then a
// table with the ratio to nginx. `/time` is also asked of bench/_serve_engine.ts with the same
// handler on mkserver's server (`engine-listen`) and on `Deno.serve` (`engine-deno`): the cost of
// the HTTP layer itself.

import { parseArgs } from "@std/cli/parse-args";
import { MKSERVER_V8_FLAGS, percentile, round, startServer } from "./_live.ts";
import { cpuSeconds, freePort, sleep, until } from "./_proc.ts";

const NGINX = "/usr/sbin/nginx";
const SAMPLE = new URL("../testdata/sample.webm", import.meta.url).pathname;
const ENGINE = new URL("./_serve_engine.ts", import.meta.url).pathname;

const parsed = parseArgs(Deno.args, {
  string: ["seconds", "connections", "threads", "rounds"],
  boolean: ["help"],
});
if (parsed.help) {
  console.log(
    "deno run -A bench/http_rps.ts [--seconds 10] [--connections 50] [--threads 1] [--rounds 3]",
  );
  Deno.exit(0);
}
function num(key: "seconds" | "connections" | "threads" | "rounds", def: number, max: number) {
  const v = parsed[key];
  const n = v === undefined ? def : Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new TypeError(`Invalid --${key}: ${v}`);
  return n;
}
const SECONDS = num("seconds", 10, 120);
const CONNECTIONS = num("connections", 50, 1000);
const THREADS = num("threads", 1, 8);
const ROUNDS = num("rounds", 3, 10);

/** What one wrk run measured. */
interface Run {
  server: "mkserver" | "nginx" | "engine-listen" | "engine-deno";
  path: string;
  bytes: number;
  rps: number;
  p50ms: number;
  p99ms: number;
  /** Server CPU seconds per 10,000 answers. */
  cpuPer10k: number;
  errors: number;
}

function ms(value: string, unit: string): number {
  return Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? NaN);
}

/** Runs wrk on `url`, charging `pids`' CPU time to it. */
async function wrk(url: string, pids: number[]): Promise<Omit<Run, "server" | "path" | "bytes">> {
  const cpu = () => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const before = cpu();
  const out = await new Deno.Command("wrk", {
    args: [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${SECONDS}s`, "--latency", url],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const spent = cpu() - before;
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`wrk failed: ${new TextDecoder().decode(out.stderr)}`);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(text)?.[1]);
  const latency = (p: string) => {
    const m = new RegExp(`${p}%\\s+([\\d.]+)(us|ms|s)`).exec(text);
    return m ? ms(m[1], m[2]) : NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const errors = (socket ? socket.slice(1).reduce((s, n) => s + Number(n), 0) : 0) +
    Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  return {
    rps,
    p50ms: latency("50"),
    p99ms: latency("99"),
    cpuPer10k: round((spent / requests) * 10_000, 3),
    errors,
  };
}

function nginxConf(dir: string, port: number): string {
  return `daemon off;
user root;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    root ${dir}/www;
  }
}
`;
}

/** nginx's worker processes (children of its master). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry.name));
    } catch { /* gone */ }
  }
  return out;
}

const median = (values: number[]) => percentile(values, 50);

/** A server under test: where it answers and whose CPU time counts. */
interface Target {
  server: Run["server"];
  base: string;
  pids: number[];
  paths: string[];
}

/** `bench/_serve_engine.ts` with `engine`: the same handler as mkserver's, on another server. */
async function startEngine(
  engine: "listen" | "deno",
): Promise<{ pid: number; base: string; stop(): Promise<void> }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `--v8-flags=${MKSERVER_V8_FLAGS}`,
      ENGINE,
      "--engine",
      engine,
      "--loop",
      SAMPLE,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port: string | undefined;
  while (port === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`_serve_engine ${engine} exited: ${text}`);
    text += value;
    port = /Serving .* at http:\/\/[^:]+:(\d+)\//.exec(text)?.[1];
  }
  const draining = (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })();
  return {
    pid: child.pid,
    base: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await draining.catch(() => {});
    },
  };
}

async function startNginx(
  dir: string,
  sizes: Map<string, number>,
): Promise<{ pid: number; workers: number[]; base: string; stop(): Promise<void> }> {
  await Deno.mkdir(`${dir}/www`);
  for (const [path, size] of sizes) {
    await Deno.writeFile(`${dir}/www${path}`, new Uint8Array(size).fill(120));
  }
  const port = freePort();
  await Deno.writeTextFile(`${dir}/nginx.conf`, nginxConf(dir, port));
  const child = new Deno.Command(NGINX, {
    args: ["-p", dir, "-c", `${dir}/nginx.conf`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const up = await until(
    async () =>
      (await fetch(`${base}/time`).then((r) => r.arrayBuffer()).catch(() => undefined)) !==
        undefined,
    5000,
  );
  if (!up) throw new Error(`nginx did not start: ${await Deno.readTextFile(`${dir}/error.log`)}`);
  return {
    pid: child.pid,
    workers: childrenOf(child.pid),
    base,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

async function main(): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "mkserver_http_rps_" });
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const mkserver = await startServer(["--loop"], SAMPLE);
    stops.push(() => mkserver.stop());
    await until(
      async () => ((await mkserver.status().catch(() => undefined))?.blocks ?? 0) > 0,
      10_000,
    );
    const paths = ["/time", "/status", "/player"];
    const sizes = new Map<string, number>();
    for (const path of paths) {
      sizes.set(path, (await (await fetch(`${mkserver.base}${path}`)).arrayBuffer()).byteLength);
    }
    const nginx = await startNginx(dir, sizes);
    stops.push(() => nginx.stop());
    const listen = await startEngine("listen");
    stops.push(() => listen.stop());
    const deno = await startEngine("deno");
    stops.push(() => deno.stop());
    const targets: Target[] = [
      { server: "mkserver", base: mkserver.base, pids: [mkserver.pid], paths },
      { server: "nginx", base: nginx.base, pids: nginx.workers, paths },
      { server: "engine-listen", base: listen.base, pids: [listen.pid], paths: ["/time"] },
      { server: "engine-deno", base: deno.base, pids: [deno.pid], paths: ["/time"] },
    ];
    const runs: Run[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of paths) {
        for (const target of targets.filter((t) => t.paths.includes(path))) {
          const measured = await wrk(`${target.base}${path}`, target.pids);
          const run = { server: target.server, path, bytes: sizes.get(path) ?? 0, ...measured };
          console.log(JSON.stringify(run));
          runs.push(run);
          await sleep(500);
        }
      }
    }
    printTable(runs, paths);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

function printTable(runs: Run[], paths: string[]): void {
  console.log(
    `\nwrk -t${THREADS} -c${CONNECTIONS} -d${SECONDS}s, median of ${ROUNDS} rounds\n` +
      "| request | bytes | server | req/s | × nginx | p50 / p99 ms | CPU-s per 10k |\n" +
      "| --- | ---: | --- | ---: | ---: | ---: | ---: |",
  );
  const m = (rs: Run[], key: keyof Run) => median(rs.map((r) => r[key] as number));
  for (const path of paths) {
    const nginx = runs.filter((r) => r.server === "nginx" && r.path === path);
    for (const server of ["mkserver", "nginx", "engine-listen", "engine-deno"]) {
      const rs = runs.filter((r) => r.server === server && r.path === path);
      if (rs.length === 0) continue;
      const errors = rs.reduce((sum, r) => sum + r.errors, 0);
      console.log(
        `| \`GET ${path}\` | ${rs[0].bytes} | ${server} | ${round(m(rs, "rps"), 0)} | ` +
          `${round(m(rs, "rps") / m(nginx, "rps"), 2)} | ` +
          `${round(m(rs, "p50ms"), 2)} / ${round(m(rs, "p99ms"), 2)} | ${
            round(m(rs, "cpuPer10k"), 3)
          } |` +
          (errors > 0 ? ` ${errors} errors` : ""),
      );
    }
  }
}

await main();
