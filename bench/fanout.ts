// Fan-out cost: server CPU-seconds per delivered GB, RSS, and whether every viewer keeps the
// stream's rate, for mkserver and Icecast 2 on the same generated stream in the same run.
//
//   deno run -A bench/fanout.ts [--viewers 500] [--seconds 30]
//                               [--only mkserver|icecast|cadence|engines|modes[,…]]
//                               [--configs NAME,…] [--input FILE] [--settle 3] [--captures 3]
//                               [--http10] [--perf S] [--keep]
//
// Configurations (`--only` takes a comma list of groups; default mkserver,cadence):
//   mkserver  mkserver fed by a live encoder (`mkserver`: `ffmpeg -re -stream_loop -1 -i FILE
//             -c copy -f webm -` piped into `main.ts -`, the common live case; ffmpeg writing
//             into a pipe cuts a Cluster every ~32 KB), the same file paced by mkserver itself
//             (`mkserver-file`: `--loop FILE`, the easy case), and Icecast 2 (when `icecast2` is
//             installed) fed by the same ffmpeg command into `icecast://`
//   icecast   Icecast 2 alone
//   cadence   the live encoder at other cadences: `--latency 250ms`, `--latency 40ms`,
//             `--low-latency` (one write per video frame at most: ffmpeg's own pipe writes
//             already hold several frames, ~7 a second), and with ffmpeg cutting and flushing
//             a Cluster per packet (`-flush_packets 1 -cluster_time_limit 1`: 75 a second)
//             `--low-latency` (`mkserver-frame-perpacket`: 25 writes a second) and the default
//             cadence (`mkserver-perpacket`: still one a second)
//   engines   bench/_serve_engine.ts (a paced file) with engine "listen" (Deno.listen) vs "deno"
//             (Deno.serve)
//   modes     the live encoder with --stall-timeout 0 (no stall watchdog), and with V8's
//             default young generation (mkserver-v8default)
// `--configs` picks configurations by name instead (mkserver, mkserver-file, icecast,
// mkserver-500ms, mkserver-250ms, mkserver-40ms, mkserver-frame, mkserver-frame-perpacket, mkserver-perpacket,
// engine-listen, engine-deno, mkserver-nostall, mkserver-v8default, mkserver-record: with
// --record into the run's temp dir), e.g. `--viewers 5000
// --configs mkserver`.
// Deno servers run with `--v8-flags=--max-semi-space-size=2` as `deno task serve` does
// (bench/_live.ts MKSERVER_V8_FLAGS), except mkserver-v8default.
// The stream: a ~2.1 Mbit/s VP8 + Opus WebM (2 s GOP, 25 fps, generated once with ffmpeg into
// /tmp/mkserver-bench-cache/), looped. bench/loadclient.c (compiled with gcc into a temp dir)
// opens N viewers from one epoll process; once all have their response head and `--settle`
// seconds passed, a window of `--seconds` is measured: the server's CPU time (utime + stime of
// /proc/PID/stat, all threads), RSS (VmRSS; max sampled every 0.5 s), bytes each viewer
// received. A feeding ffmpeg's CPU is reported apart (mkserver-file's figure includes its own
// file reading).
// The first `--captures` viewers' bodies are saved and checked with `ffmpeg -v error -f null`.
// `--perf S` records `perf` on each Deno server for S seconds after its window (not counted) and
// prints the top DSOs and symbols (JS frames named through --perf-basic-prof).
// Prints one JSON line per configuration, then a table.

import { parseArgs } from "@std/cli/parse-args";
import { buildClient, fileRate, MKSERVER_V8_FLAGS, MkvWatcher, round } from "./_live.ts";
import { cachedFile, encodeMedia, MEDIA_CACHE } from "./_media.ts";
import { clockTicksPerSecond, cpuSeconds, freePort, rssMiB, sleep, until } from "./_proc.ts";

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const ROOT = new URL("..", import.meta.url).pathname;

const parsed = parseArgs(Deno.args, {
  string: ["viewers", "seconds", "only", "configs", "input", "settle", "captures", "perf"],
  boolean: ["http10", "keep", "help"],
}) as Record<string, unknown>;
if (parsed.help) {
  console.log(
    "deno run -A bench/fanout.ts [--viewers 500] [--seconds 30] " +
      "[--only mkserver|icecast|cadence|engines|modes[,…]] [--configs NAME,…] [--input FILE] [--settle 3] " +
      "[--captures 3] " +
      "[--http10] [--perf SECONDS] [--keep]",
  );
  Deno.exit(0);
}
function num(key: string, def: number, max = Infinity): number {
  const v = parsed[key];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > max) {
    throw new TypeError(`Invalid --${key}: ${v}`);
  }
  return n;
}
const VIEWERS = Math.round(num("viewers", 500, 20000));
const SECONDS = num("seconds", 30, 600);
const SETTLE = num("settle", 3, 60);
const CAPTURES = Math.round(num("captures", 3, 50));
const PERF = num("perf", 0, 60);
const HTTP10 = Boolean(parsed.http10);
const ONLY = new Set(
  String(parsed.only ?? "mkserver,cadence").split(",").map((s) => s.trim()),
);
for (const o of ONLY) {
  if (!["mkserver", "icecast", "cadence", "engines", "modes", "record"].includes(o)) {
    throw new TypeError(`Invalid --only: ${o}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

/** The soft open-file limit of this process. */
function nofileLimit(): number {
  const m = /Max open files\s+(\d+)/.exec(Deno.readTextFileSync("/proc/self/limits"));
  return m ? Number(m[1]) : 1024;
}

/** `prlimit --nofile` prefix when `need` descriptors exceed the inherited limit. */
function withFiles(need: number, cmd: string[]): string[] {
  if (need <= nofileLimit()) return cmd;
  const n = Math.max(need, 1024);
  return ["prlimit", `--nofile=${n}:${n}`, "--", ...cmd];
}

/** A spawned process whose stdout/stderr lines are collected and can be waited for. */
class Proc {
  readonly child: Deno.ChildProcess;
  readonly name: string;
  readonly lines: string[] = [];
  #waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  #exited = false;
  #stdin: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly exited: Promise<Deno.CommandStatus>;

  constructor(
    name: string,
    cmd: string[],
    options: {
      stdin?: boolean;
      stdinFrom?: ReadableStream<Uint8Array>;
      /** Leave stdout unread, for the caller to pipe (only stderr is collected). */
      stdoutPiped?: boolean;
      cwd?: string;
      keepLines?: number;
    } = {},
  ) {
    this.name = name;
    this.child = new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      stdin: options.stdin || options.stdinFrom ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      cwd: options.cwd,
    }).spawn();
    if (options.stdin) this.#stdin = this.child.stdin.getWriter();
    else if (options.stdinFrom) options.stdinFrom.pipeTo(this.child.stdin).catch(() => {});
    const keep = options.keepLines ?? 5000;
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      let pending = "";
      for await (const chunk of stream) {
        pending += decoder.decode(chunk, { stream: true });
        let nl;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          this.#line(line, keep);
        }
      }
      if (pending) this.#line(pending, keep);
    };
    const pumps = Promise.all([
      options.stdoutPiped ? Promise.resolve() : pump(this.child.stdout),
      pump(this.child.stderr),
    ]);
    this.exited = this.child.status.then(async (s) => {
      await pumps.catch(() => {});
      this.#exited = true;
      return s;
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  #line(line: string, keep: number) {
    if (this.lines.length < keep || /^(C |DONE|MARK|READY|MEM )/.test(line)) {
      this.lines.push(line);
    }
    for (const w of [...this.#waiters]) {
      const m = w.re.exec(line);
      if (m) {
        this.#waiters.splice(this.#waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  }

  /** Resolves with the first line (from now on) matching `re`; rejects after `ms` or at exit. */
  waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${this.name}: no line matching ${re} within ${ms} ms`));
      }, ms);
      const waiter = {
        re,
        resolve: (m: RegExpExecArray) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      this.#waiters.push(waiter);
      this.exited.then(() => {
        if (this.#waiters.includes(waiter)) {
          clearTimeout(timer);
          reject(
            new Error(`${this.name} exited:\n${this.lines.slice(-15).join("\n")}`),
          );
        }
      });
    });
  }

  async send(text: string): Promise<void> {
    await this.#stdin?.write(encoder.encode(text));
  }

  async closeStdin(): Promise<void> {
    await this.#stdin?.close().catch(() => {});
  }

  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves at exit. */
  async stop(graceMs = 3000, signal: Deno.Signal = "SIGTERM"): Promise<void> {
    if (this.#exited) return;
    try {
      this.child.kill(signal);
    } catch { /* gone */ }
    const timer = setTimeout(() => {
      try {
        this.child.kill("SIGKILL");
      } catch { /* gone */ }
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return {
    ok: out.success,
    out: decoder.decode(out.stdout) + decoder.decode(out.stderr),
  };
}

async function which(cmd: string): Promise<string | undefined> {
  const r = await run("sh", ["-c", `command -v ${cmd}`]).catch(() => undefined);
  return r?.ok ? r.out.trim() : undefined;
}

// ---------------------------------------------------------------------------------------------
// Media and load client

/** A ~2.1 Mbit/s VP8 + Opus WebM, 2 s GOP, 60 s, cached across runs. */
async function media(): Promise<string> {
  if (parsed.input !== undefined) return String(parsed.input);
  const name = "vp8-opus-2100k-gop2s-60s.webm";
  return await cachedFile(name, (path) => {
    console.error(`making ${MEDIA_CACHE}/${name} (libvpx realtime, about 10 s)`);
    // testsrc2 at 720p with libvpx in CBR (min = max = target rate) holds 2.0 Mbit/s within 1 %
    // per GOP; Opus at 96 kbit/s brings the total to about 2.1 Mbit/s.
    return encodeMedia(path, {
      codec: "vp8",
      seconds: 60,
      bitrate: 2_000_000,
      size: "1280x720",
      audioBitrate: 96_000,
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Servers

interface Target {
  /** The process whose CPU and RSS are measured. */
  server: Proc;
  port: number;
  path: string;
  /** A feeding process measured apart (Icecast's ffmpeg). */
  feeder?: Proc;
  /**
   * Most viewers connecting at once. Icecast 2.4 listens with a backlog of 5 and accepts
   * slowly: with hundreds of SYNs at once, handshakes overflow its accept queue and retry with
   * exponential backoff (a third of 500 viewers still waited after 90 s), so it gets 8.
   */
  pending: number;
  stop(): Promise<void>;
}

interface Config {
  name: string;
  kind: "mkserver" | "icecast";
  start(file: string, dir: string): Promise<Target>;
}

function v8FlagArgs(flags: string[]): string[] {
  const list = flags.filter((f) => f !== "");
  return list.length > 0 ? [`--v8-flags=${list.join(",")}`] : [];
}

/**
 * A Deno server playing the bench file: paced by mkserver itself (`--loop FILE`, the easy
 * case: one Cluster per second), or, with `live`, as a live encoder sends it: `ffmpeg -re
 * -stream_loop -1 -i FILE -c copy -f webm -` piped into the server's standard input, which is
 * how Icecast is fed (ffmpeg writing into a pipe cuts a Cluster every ~32 KB).
 */
function denoServer(
  name: string,
  script: string,
  extra: string[],
  options: { v8Flags?: string; live?: boolean; feedArgs?: string[] } = {},
): Config {
  const { v8Flags = MKSERVER_V8_FLAGS, live = false, feedArgs = [] } = options;
  return {
    name,
    kind: "mkserver",
    async start(file) {
      const cmd = withFiles(VIEWERS + 256, [
        Deno.execPath(),
        "run",
        "-A",
        ...v8FlagArgs([v8Flags, ...(PERF > 0 ? ["--perf-basic-prof"] : [])]),
        `${ROOT}${script}`,
        "--port",
        "0",
        "--host",
        "127.0.0.1",
        ...extra,
        ...(live ? ["-"] : ["--loop", file]),
      ]);
      const feeder = live ? liveFeeder(file, [...feedArgs, "-f", "webm", "-"]) : undefined;
      const server = new Proc(name, cmd, { keepLines: 200, stdinFrom: feeder?.child.stdout });
      const m = await server.waitFor(/Serving .* at http:\/\/[^:]+:(\d+)\/stream/, 20_000);
      const port = Number(m[1]);
      // Live once the ring has a GOP: /status reports blocks.
      const live_ = async () => {
        const s = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json())
          .catch(() => undefined);
        return s?.mounts?.[0]?.state === "live" && s.mounts[0].ring?.gops > 0;
      };
      if (!(await until(live_, 15_000, { every: 50 }))) throw new Error(`${name} did not go live`);
      if (feeder) await sleep(2000); // as for Icecast: let -re pacing reach a steady state
      return {
        server,
        port,
        path: "/stream",
        pending: 256,
        feeder,
        async stop() {
          await feeder?.stop(2000, "SIGINT");
          await server.stop(3000);
        },
      };
    },
  };
}

/** `ffmpeg -re -stream_loop -1 -i FILE -c copy` into `output` (its stdout kept for a pipe). */
function liveFeeder(file: string, output: string[]): Proc {
  return new Proc("ffmpeg feeder", [
    "ffmpeg",
    ...["-hide_banner", "-loglevel", "error", "-nostdin"],
    ...["-re", "-stream_loop", "-1", "-i", file, "-c", "copy"],
    ...output,
  ], { keepLines: 200, stdoutPiped: output.at(-1) === "-" });
}

// The engines log Deno.memoryUsage() every 5 s (MEM lines): the last one goes in the result.
const ENGINE_LISTEN = denoServer("engine-listen", "bench/_serve_engine.ts", [
  "--engine",
  "listen",
  "--mem-log",
  "5",
]);
const ENGINE_DENO = denoServer("engine-deno", "bench/_serve_engine.ts", [
  "--engine",
  "deno",
  "--mem-log",
  "5",
]);

const ICECAST: Config = {
  name: "icecast",
  kind: "icecast",
  async start(file, dir) {
    const port = freePort();
    const password = crypto.randomUUID().slice(0, 12);
    const icedir = `${dir}/icecast`;
    await Deno.mkdir(icedir, { recursive: true });
    const cfg = `${icedir}/icecast.xml`;
    const limit = VIEWERS + 10;
    await Deno.writeTextFile(
      cfg,
      `<icecast>
  <location>loopback</location>
  <admin>bench@localhost</admin>
  <limits>
    <clients>${limit}</clients>
    <sources>2</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>65535</burst-size>
  </limits>
  <authentication>
    <source-password>${password}</source-password>
    <relay-password>${password}</relay-password>
    <admin-user>admin</admin-user>
    <admin-password>${password}</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>${port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <mount type="normal">
    <mount-name>/live.webm</mount-name>
    <max-listeners>${limit}</max-listeners>
  </mount>
  <fileserve>1</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>${icedir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>2</loglevel>
  </logging>
  <security>
    <chroot>0</chroot>${
        Deno.uid() === 0
          ? "\n    <changeowner><user>icecast2</user><group>icecast</group></changeowner>"
          : ""
      }
  </security>
</icecast>
`,
    );
    if (Deno.uid() === 0) {
      // Icecast refuses to run as root: it switches to icecast2, which must write its logs.
      const pw = /^icecast2:[^:]*:(\d+):(\d+):/m.exec(await Deno.readTextFile("/etc/passwd"));
      if (pw) {
        await Deno.chown(icedir, Number(pw[1]), Number(pw[2]));
        await Deno.chmod(dir, 0o755);
        await Deno.chmod(cfg, 0o644);
      }
    }
    const server = new Proc(
      "icecast2",
      withFiles(VIEWERS + 256, ["icecast2", "-c", cfg]),
      { keepLines: 200 },
    );
    // Icecast logs to its files, not to stderr: wait for the port.
    const deadline = performance.now() + 10_000;
    const listening = () =>
      fetch(`http://127.0.0.1:${port}/status-json.xsl`).then(async (r) => {
        await r.body?.cancel();
        return r.ok;
      }).catch(() => false);
    if (!(await until(listening, 10_000))) {
      await server.stop(1000);
      throw new Error(`icecast2 did not start:\n${server.lines.join("\n")}`);
    }
    const feeder = liveFeeder(file, [
      ...["-content_type", "video/webm", "-f", "webm"],
      `icecast://source:${password}@127.0.0.1:${port}/live.webm`,
    ]);
    // Live once the mount answers 200 with bytes.
    const live = () =>
      fetch(`http://127.0.0.1:${port}/live.webm`).then(async (r) => {
        if (!r.ok || r.body === null) {
          await r.body?.cancel();
          return false;
        }
        const reader = r.body.getReader();
        const { value } = await reader.read();
        await reader.cancel();
        return (value?.length ?? 0) > 0;
      }).catch(() => false);
    if (!(await until(live, deadline + 10_000 - performance.now()))) {
      await feeder.stop(1000);
      await server.stop(1000);
      throw new Error(`the Icecast mount did not go live:\n${feeder.lines.join("\n")}`);
    }
    // Let the feeder's -re pacing and Icecast's queue reach a steady state.
    await sleep(2000);
    return {
      server,
      port,
      path: "/live.webm",
      feeder,
      pending: 8,
      async stop() {
        await feeder.stop(2000, "SIGINT");
        await server.stop(3000);
      },
    };
  },
};

// ---------------------------------------------------------------------------------------------
// One measured run

interface Result {
  config: string;
  viewers: number;
  seconds: number;
  /** Viewers that got a 200 and a response head. */
  connected: number;
  failed: number;
  /** Viewers whose connection closed before the end. */
  closedEarly: number;
  /** Stream rate (file average), bit/s. */
  streamBps: number;
  /** Viewers that received at least 95 % of the stream's rate in the window. */
  fullRate: number;
  minRateRatio: number;
  medianRateRatio: number;
  deliveredGB: number;
  serverCpuS: number;
  cpuPerGB: number;
  /** Server CPU as a share of one core over the window. */
  serverCorePct: number;
  rssStartMiB: number;
  rssEndMiB: number;
  rssMaxMiB: number;
  clientCpuS: number;
  feederCpuS?: number;
  /** The server's last `Deno.memoryUsage()` in the window (engine configurations). */
  memory?: string;
  connectSeconds: number;
  /**
   * Saved bodies decoded by ffmpeg: error lines (not counting the cut at the capture's end) and
   * whether the first video block is a keyframe (a clean join).
   */
  captures: {
    file: string;
    bytes: number;
    errors: number;
    first?: string;
    cutAtEnd: boolean;
    startsOnKeyframe: boolean;
  }[];
  ratioVsIcecast?: number;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

async function measure(
  config: Config,
  file: string,
  streamBps: number,
  client: string,
  dir: string,
  profile: boolean,
): Promise<Result> {
  console.error(`--- ${config.name}: starting`);
  const target = await config.start(file, dir);
  const capDir = `${dir}/captures-${config.name}`;
  await Deno.mkdir(capDir, { recursive: true });
  const load = new Proc(
    "loadclient",
    withFiles(VIEWERS + 256, [
      client,
      "127.0.0.1",
      String(target.port),
      target.path,
      String(VIEWERS),
      ...(HTTP10 ? ["-0"] : []),
      ...["-p", String(target.pending)],
      ...["-s", String(CAPTURES), capDir],
      ...["-t", String(SECONDS + SETTLE + 120 + (profile ? PERF : 0))],
    ]),
    { stdin: true, keepLines: 100 },
  );
  try {
    const ready = await load.waitFor(/^READY ok=(\d+) failed=(\d+) secs=([\d.]+)/, 90_000);
    console.error(
      `--- ${config.name}: ${ready[1]} viewers connected (${ready[2]} failed) in ${ready[3]} s`,
    );
    await sleep(SETTLE * 1000);
    const pid = target.server.pid;
    const feederPid = target.feeder?.pid;
    const cpu0 = cpuSeconds(pid);
    const client0 = cpuSeconds(load.pid);
    const feeder0 = feederPid ? cpuSeconds(feederPid) : NaN;
    const rss0 = rssMiB(pid);
    let rssMax = rss0;
    const mark0 = load.waitFor(/^MARK 0 ([\d.]+)/, 10_000);
    await load.send("m\n");
    const t0 = Number((await mark0)[1]);
    const end = performance.now() + SECONDS * 1000;
    while (performance.now() < end) {
      await sleep(Math.min(500, end - performance.now()));
      rssMax = Math.max(rssMax, rssMiB(pid));
    }
    const mark1 = load.waitFor(/^MARK 1 ([\d.]+)/, 10_000);
    await load.send("m\n");
    const cpu1 = cpuSeconds(pid);
    const client1 = cpuSeconds(load.pid);
    const feeder1 = feederPid ? cpuSeconds(feederPid) : NaN;
    const rss1 = rssMiB(pid);
    rssMax = Math.max(rssMax, rss1);
    const t1 = Number((await mark1)[1]);
    const memory = target.server.lines.findLast((l) => l.startsWith("MEM "))?.slice(4);
    const window = t1 - t0;
    console.error(
      `--- ${config.name}: window ${window.toFixed(2)} s, server CPU ${(cpu1 - cpu0).toFixed(2)} s`,
    );

    if (profile && PERF > 0) await perfProfile(pid, dir);

    const done = load.waitFor(/^DONE/, 30_000);
    await load.send("q\n");
    await done;
    await load.closeStdin();
    await load.exited;
    const conns = load.lines.filter((l) => l.startsWith("C ")).map((l) => {
      const f = l.split(" ");
      return {
        status: Number(f[2]),
        closed: f[5] === "1",
        m0: Number(f[6]),
        m1: Number(f[7]),
      };
    });
    const ok = conns.filter((c) => c.status === 200);
    const ratios = conns.map((c) =>
      c.status === 200 ? ((c.m1 - c.m0) * 8 / window) / streamBps : 0
    );
    const delivered = conns.reduce((n, c) => n + (c.m1 - c.m0), 0);
    const cpu = cpu1 - cpu0;
    // Captures: decode each with ffmpeg; count its error lines.
    const captures: Result["captures"] = [];
    for (let i = 0; i < CAPTURES && i < VIEWERS; i++) {
      const cap = `${capDir}/capture-${i}.bin`;
      let bytes = 0;
      try {
        bytes = (await Deno.stat(cap)).size;
      } catch {
        continue;
      }
      const r = await run("ffmpeg", ["-v", "error", "-nostdin", "-i", cap, "-f", "null", "-"]);
      const lines = r.out.split("\n").filter((l) => l.trim() !== "");
      // The load client stops mid-stream, so the last element may be cut: not an error.
      const cut = (l: string) => /ended prematurely|truncat/i.test(l);
      const errs = lines.filter((l) => !cut(l));
      captures.push({
        file: cap,
        bytes,
        errors: errs.length + (r.ok ? 0 : 1),
        first: errs[0]?.slice(0, 160),
        cutAtEnd: lines.some(cut),
        startsOnKeyframe: await firstVideoIsKeyframe(cap),
      });
    }
    return {
      config: config.name,
      viewers: VIEWERS,
      seconds: round(window, 2),
      connected: ok.length,
      failed: conns.length - ok.length,
      closedEarly: conns.filter((c) => c.closed).length,
      streamBps: Math.round(streamBps),
      fullRate: ratios.filter((r) => r >= 0.95).length,
      minRateRatio: round(Math.min(...ratios), 3),
      medianRateRatio: round(median(ratios), 3),
      deliveredGB: round(delivered / 1e9, 3),
      serverCpuS: round(cpu, 2),
      cpuPerGB: round(cpu / (delivered / 1e9), 3),
      serverCorePct: round((cpu / window) * 100, 1),
      rssStartMiB: round(rss0, 1),
      rssEndMiB: round(rss1, 1),
      rssMaxMiB: round(rssMax, 1),
      clientCpuS: round(client1 - client0, 2),
      ...(feederPid ? { feederCpuS: round(feeder1 - feeder0, 2) } : {}),
      ...(memory ? { memory } : {}),
      connectSeconds: Number(ready[3]),
      captures,
    };
  } finally {
    await load.closeStdin();
    await load.stop(2000);
    await target.stop();
    if (!parsed.keep) await Deno.remove(capDir, { recursive: true }).catch(() => {});
  }
}

/** Whether the first video block of a saved body is a keyframe. */
async function firstVideoIsKeyframe(path: string): Promise<boolean> {
  const file = await Deno.open(path);
  const watcher = new MkvWatcher();
  let answer: boolean | undefined;
  watcher.onBlock = (b) => {
    if (answer === undefined && b.track === watcher.videoTrack) answer = b.keyframe;
  };
  try {
    const buf = new Uint8Array(65536);
    for (let total = 0; answer === undefined && total < 8 << 20;) {
      const n = await file.read(buf);
      if (n === null) break;
      total += n;
      try {
        watcher.push(buf.slice(0, n));
      } catch {
        break;
      }
    }
  } finally {
    file.close();
  }
  return answer ?? false;
}

/** `perf record` on the server for PERF seconds; prints the top symbols and DSOs. */
async function perfProfile(pid: number, dir: string): Promise<void> {
  if (!(await which("perf"))) {
    console.error("--perf: perf is not installed");
    return;
  }
  const data = `${dir}/perf.data`;
  console.error(`--- perf record on ${pid} for ${PERF} s (after the window)`);
  const rec = await run("perf", [
    "record",
    "-F",
    "2999",
    "-g",
    "-p",
    String(pid),
    "-o",
    data,
    "--",
    "sleep",
    String(PERF),
  ]);
  if (!rec.ok) {
    console.error(`perf record failed: ${rec.out.slice(0, 400)}`);
    return;
  }
  for (
    const sort of [["--sort", "dso"], ["--sort", "sym"]]
  ) {
    const rep = await run("perf", [
      "report",
      "-i",
      data,
      "--no-children",
      ...sort,
      "--stdio",
      "-g",
      "none",
      "--percent-limit",
      "0.7",
    ]);
    console.error(
      rep.out.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).slice(0, 45)
        .join("\n"),
    );
  }
}

// ---------------------------------------------------------------------------------------------

const dir = await Deno.makeTempDir({ prefix: "mkserver-fanout-" });
await Deno.chmod(dir, 0o755);
try {
  const file = await media();
  const client = await buildClient(dir);
  const bytes = await Deno.readFile(file);
  const streamBps = fileRate(bytes).bitrate;
  const haveIcecast = (await which("icecast2")) !== undefined;
  console.error(
    `stream ${file}: ${(streamBps / 1e6).toFixed(3)} Mbit/s; ${VIEWERS} viewers, ${SECONDS} s ` +
      `window, CLK_TCK ${clockTicksPerSecond()}, HTTP/1.${HTTP10 ? 0 : 1}`,
  );

  const configs: Config[] = [];
  const add = (c: Config) => {
    if (!configs.some((x) => x.name === c.name)) configs.push(c);
  };
  // The live encoder's case first: ffmpeg -re piped in, as Icecast is fed; then the file that
  // mkserver paces itself; then one row per cadence (--latency), on the live encoder.
  const live = { live: true };
  const perPacket = { live: true, feedArgs: ["-flush_packets", "1", "-cluster_time_limit", "1"] };
  const all = [
    denoServer("mkserver", "main.ts", [], live),
    denoServer("mkserver-file", "main.ts", []),
    ICECAST,
    denoServer("mkserver-500ms", "main.ts", ["--latency", "500ms"], live),
    denoServer("mkserver-250ms", "main.ts", ["--latency", "250ms"], live),
    denoServer("mkserver-40ms", "main.ts", ["--latency", "40ms"], live),
    denoServer("mkserver-frame", "main.ts", ["--low-latency"], live),
    // ffmpeg cutting a Cluster per packet and flushing it (its Matroska muxer holds a Cluster
    // until it is complete, so -flush_packets alone changes nothing): blocks come one by one,
    // 75 a second. --low-latency then writes once per video frame (25 a second), and the
    // default cadence still once a second.
    denoServer("mkserver-frame-perpacket", "main.ts", ["--low-latency"], perPacket),
    denoServer("mkserver-perpacket", "main.ts", [], perPacket),
    ENGINE_LISTEN,
    ENGINE_DENO,
    // The stall watchdog (default 30 s) reads /proc/net/tcp every second: its cost apart.
    denoServer("mkserver-nostall", "main.ts", ["--stall-timeout", "0"], live),
    // V8's default young generation (16 MiB semi-spaces): what the flag saves.
    denoServer("mkserver-v8default", "main.ts", [], { live: true, v8Flags: "" }),
    // --record into the temp dir: what writing every mount to disk costs beside the viewers.
    denoServer("mkserver-record", "main.ts", ["--record", `${dir}/recordings`], live),
  ];
  const GROUPS: Record<string, string[]> = {
    mkserver: ["mkserver", "mkserver-file", "icecast"],
    icecast: ["icecast"],
    cadence: [
      "mkserver-500ms",
      "mkserver-250ms",
      "mkserver-40ms",
      "mkserver-frame",
      "mkserver-frame-perpacket",
      "mkserver-perpacket",
    ],
    engines: ["engine-listen", "engine-deno"],
    modes: ["mkserver-nostall", "mkserver-v8default"],
    record: ["mkserver", "mkserver-record"],
  };
  const names = parsed.configs !== undefined
    ? String(parsed.configs).split(",").map((x) => x.trim())
    : [...ONLY].flatMap((group) => GROUPS[group]);
  for (const name of names) {
    const c = all.find((x) => x.name === name);
    if (c === undefined) throw new TypeError(`Unknown configuration: ${name}`);
    if (c === ICECAST && !haveIcecast) {
      if (parsed.configs !== undefined) throw new Error("icecast2 is not installed");
      console.error("icecast2 is not installed: skipping Icecast (apt-get install icecast2)");
      continue;
    }
    add(c);
  }
  const results: Result[] = [];
  for (const c of configs) {
    const profile = PERF > 0 && c.kind === "mkserver";
    try {
      results.push(await measure(c, file, streamBps, client, dir, profile));
    } catch (error) {
      console.error(`--- ${c.name} failed: ${(error as Error).message}`);
    }
  }
  const ice = results.find((r) => r.config === "icecast");
  for (const r of results) {
    if (ice && r !== ice) r.ratioVsIcecast = round(r.cpuPerGB / ice.cpuPerGB, 3);
    console.log(JSON.stringify(r));
  }

  // A compact table.
  const rows = [[
    "config",
    "viewers",
    "full-rate",
    "min/median rate",
    "GB",
    "CPU-s",
    "core%",
    "CPU-s/GB",
    "x Icecast",
    "RSS start/end/max MiB",
    "client CPU-s",
    "feeder CPU-s",
    "captures ok",
    "on keyframe",
  ]];
  for (const r of results) {
    rows.push([
      r.config,
      `${r.connected}/${r.viewers}`,
      `${r.fullRate}/${r.viewers}`,
      `${r.minRateRatio.toFixed(3)}/${r.medianRateRatio.toFixed(3)}`,
      r.deliveredGB.toFixed(2),
      r.serverCpuS.toFixed(2),
      r.serverCorePct.toFixed(0),
      r.cpuPerGB.toFixed(3),
      r.ratioVsIcecast === undefined ? "-" : r.ratioVsIcecast.toFixed(2),
      `${r.rssStartMiB.toFixed(0)}/${r.rssEndMiB.toFixed(0)}/${r.rssMaxMiB.toFixed(0)}`,
      r.clientCpuS.toFixed(2),
      r.feederCpuS === undefined ? "-" : r.feederCpuS.toFixed(2),
      `${r.captures.filter((c) => c.errors === 0).length}/${r.captures.length}`,
      `${r.captures.filter((c) => c.startsOnKeyframe).length}/${r.captures.length}`,
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const row of rows) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd());
  }
  for (const r of results) {
    if (r.memory) console.log(`${r.config} memory (MiB): ${r.memory}`);
    for (const c of r.captures) {
      if (c.errors > 0) {
        console.log(
          `${r.config} capture ${
            c.file.split("/").pop()
          }: ${c.errors} error line(s), first: ${c.first}`,
        );
      }
    }
  }
  console.log(
    `rate = a viewer's bytes in the window / the stream's average rate (${
      (streamBps / 1e6).toFixed(3)
    } Mbit/s); full rate = at least 0.95. ` +
      "mkserver-file's CPU includes reading and parsing its file; a feeding ffmpeg's is apart. " +
      "captures ok: ffmpeg decodes the first viewers' bodies without errors (a cut at the end " +
      "is ignored); on keyframe: their first video block is a keyframe.",
  );
} finally {
  if (parsed.keep) console.error(`kept ${dir}`);
  else await Deno.remove(dir, { recursive: true }).catch(() => {});
}
