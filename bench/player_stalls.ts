// Do real players at the live edge stall at a cadence? mkserver is fed as a live encoder feeds
// it (`ffmpeg -re -stream_loop -1 -i FILE -c copy -f webm -` into its standard input), and mpv
// and ffplay play /stream at the same time for `--seconds`, without a display:
//
//   mpv     `--vo=null --ao=null`; a stall is `paused-for-cache` turning true (observed over its
//           JSON IPC socket), counted after playback began
//   ffplay  SDL's dummy video and audio drivers, `-stats`; a stall is a stretch of at least
//           500 ms of wall time in which its master clock (the first figure of the status
//           line) advanced by less than half of it, or that clock jumping back by more than
//           100 ms (it runs on while audio is starved, and is set back when audio returns),
//           counted after the first second of playback. Also reported: how often both packet
//           queues ran empty (`aq=0KB vq=0KB`), which is no stall by itself
//
//   deno run -A bench/player_stalls.ts [--seconds 60] [--latency D] [--input FILE]
//                                      [--readrate R] [--keep]
//
// `--readrate 0.8` feeds the source slower than real time (ffmpeg `-readrate` instead of `-re`):
// both players must then stall, which checks that the detectors see stalls.
// Without --input, the fan-out benchmark's stream (2.1 Mbit/s VP8 + Opus, 2 s GOP). Bounded:
// every process is stopped after --seconds (plus 20 s of start-up at most). Prints a report and
// one JSON line.

import { parseArgs } from "@std/cli/parse-args";
import { cachedFile, encodeMedia } from "./_media.ts";
import { freePort, sleep, until } from "./_proc.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const flags = parseArgs(Deno.args, {
  string: ["seconds", "latency", "input", "readrate"],
  boolean: ["keep"],
});
const SECONDS = Number(flags.seconds ?? 60);
if (!(SECONDS > 0 && SECONDS <= 600)) throw new TypeError(`Invalid --seconds: ${flags.seconds}`);
const LATENCY = flags.latency === undefined ? [] : ["--latency", String(flags.latency)];

async function media(): Promise<string> {
  if (flags.input !== undefined) return String(flags.input);
  const name = "vp8-opus-2100k-gop2s-60s.webm"; // the one bench/fanout.ts makes
  return await cachedFile(name, (path) =>
    encodeMedia(path, {
      codec: "vp8",
      seconds: 60,
      bitrate: 2_000_000,
      size: "1280x720",
      audioBitrate: 96_000,
    }));
}

/** Reads a child's stderr (or stdout) as lines, calling `onLine` with each and its time. */
async function lines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string, at: number) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of stream) {
    pending += decoder.decode(chunk, { stream: true });
    const parts = pending.split(/[\r\n]/);
    pending = parts.pop() ?? "";
    const at = performance.now();
    for (const line of parts) if (line.trim() !== "") onLine(line, at);
  }
}

function stop(child: Deno.ChildProcess, signal: Deno.Signal = "SIGTERM"): void {
  try {
    child.kill(signal);
  } catch { /* gone */ }
}

/** mpv's stalls: `paused-for-cache` turning true after playback began. */
async function watchMpv(url: string, dir: string, ms: number) {
  const socket = `${dir}/mpv.sock`;
  const child = new Deno.Command("mpv", {
    args: [
      "--no-config",
      "--vo=null",
      "--ao=null",
      "--really-quiet",
      `--input-ipc-server=${socket}`,
      url,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const events: { at: number; pausedForCache: boolean }[] = [];
  let started: number | undefined;
  try {
    if (!(await until(() => Deno.stat(socket).then(() => true, () => false), 10_000))) {
      throw new Error("mpv opened no IPC socket");
    }
    const conn = await Deno.connect({ transport: "unix", path: socket });
    const t0 = performance.now();
    const commands = [
      { command: ["observe_property", 1, "paused-for-cache"] },
      { command: ["observe_property", 2, "playback-time"] },
    ];
    await conn.write(
      new TextEncoder().encode(commands.map((c) => JSON.stringify(c)).join("\n") + "\n"),
    );
    const reading = lines(conn.readable, (line, at) => {
      const m = JSON.parse(line);
      if (m.event !== "property-change") return;
      if (m.name === "playback-time" && typeof m.data === "number" && started === undefined) {
        started = at - t0;
      }
      if (m.name === "paused-for-cache" && typeof m.data === "boolean") {
        events.push({ at: at - t0, pausedForCache: m.data });
      }
    }).catch(() => {});
    await sleep(ms);
    stop(child);
    await reading;
  } finally {
    stop(child);
    await child.status;
  }
  const stalls = events.filter((e) => e.pausedForCache && started !== undefined && e.at > started);
  return {
    startedAfterMs: started === undefined ? null : Math.round(started),
    stalls: stalls.length,
    stallTimesMs: stalls.map((e) => Math.round(e.at)),
  };
}

/** ffplay's stalls: 500 ms of wall time in which its clock advanced by less than half of it. */
async function watchFfplay(url: string, ms: number) {
  const child = new Deno.Command("ffplay", {
    args: ["-hide_banner", "-stats", "-autoexit", url],
    env: { SDL_VIDEODRIVER: "dummy", SDL_AUDIODRIVER: "dummy" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const samples: { at: number; clock: number; empty: boolean }[] = [];
  const t0 = performance.now();
  const reading = lines(child.stderr, (line, at) => {
    const m = /^\s*(-?\d+\.\d+) (?:A-V|M-A|M-V).*aq=\s*(\d+)KB vq=\s*(\d+)KB/.exec(line);
    if (m) {
      samples.push({ at: at - t0, clock: Number(m[1]), empty: m[2] === "0" && m[3] === "0" });
    }
  }).catch(() => {});
  await sleep(ms);
  stop(child);
  await child.status;
  await reading;
  const begun = samples.findIndex((s) => s.at >= (samples[0]?.at ?? 0) + 1000);
  let stalls = 0;
  const stallTimesMs: number[] = [];
  let from = begun;
  for (let i = begun; from >= 0 && i < samples.length; i++) {
    const wall = samples[i].at - samples[from].at;
    if (wall < 500) continue;
    const advanced = (samples[i].clock - samples[from].clock) * 1000;
    if (advanced < wall / 2) {
      stalls++;
      stallTimesMs.push(Math.round(samples[from].at));
    }
    from = i;
  }
  // While its audio runs dry, ffplay's clock runs on from its last update (the status line
  // extrapolates it); when audio comes back, the clock is set back: a jump backwards.
  let backwards = 0;
  for (let i = Math.max(begun, 1); begun >= 0 && i < samples.length; i++) {
    if (samples[i].clock < samples[i - 1].clock - 0.1) {
      backwards++;
      stallTimesMs.push(Math.round(samples[i].at));
    }
  }
  stalls += backwards;
  // Both packet queues empty: not a stall by itself (decoded frames may still wait), but how
  // close to the edge the player runs.
  let dry = 0;
  for (let i = Math.max(begun, 1); begun >= 0 && i < samples.length; i++) {
    if (samples[i].empty && !samples[i - 1].empty) dry++;
  }
  return {
    startedAfterMs: samples.length > 0 ? Math.round(samples[0].at) : null,
    samples: samples.length,
    clockSeconds: samples.length > 1
      ? Math.round((samples.at(-1)!.clock - samples[0].clock) * 10) / 10
      : 0,
    stalls,
    clockJumpsBack: backwards,
    queuesRanEmpty: dry,
    stallTimesMs,
  };
}

const dir = await Deno.makeTempDir({ prefix: "mkserver-stalls-" });
const file = await media();
const port = freePort();
const feeder = new Deno.Command("ffmpeg", {
  args: [
    ...["-hide_banner", "-loglevel", "error", "-nostdin"],
    ...(flags.readrate === undefined ? ["-re"] : ["-readrate", String(flags.readrate)]),
    ...["-stream_loop", "-1", "-i", file, "-c", "copy", "-f", "webm", "-"],
  ],
  stdout: "piped",
  stderr: "null",
}).spawn();
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "-A",
    "--v8-flags=--max-semi-space-size=2",
    `${ROOT}main.ts`,
    ...["--port", String(port), "--host", "127.0.0.1", "--log-level", "warn"],
    ...LATENCY,
    "-",
  ],
  stdin: "piped",
  stdout: "null",
  stderr: "inherit",
}).spawn();
feeder.stdout.pipeTo(server.stdin).catch(() => {});
try {
  const url = `http://127.0.0.1:${port}/stream`;
  const live = () =>
    fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json()).then(
      (s) => s?.mounts?.[0]?.ring?.gops > 0,
      () => false,
    );
  if (!(await until(live, 15_000, { every: 100 }))) throw new Error("mkserver did not go live");
  await sleep(3000); // -re at a steady state, as in bench/fanout.ts
  const [mpv, ffplay] = await Promise.all([
    watchMpv(url, dir, SECONDS * 1000),
    watchFfplay(url, SECONDS * 1000),
  ]);
  const latency = flags.latency ?? "the default";
  console.log(`player stalls: ${SECONDS} s at the live edge, --latency ${latency}, ${file}`);
  console.log(
    `  mpv     started after ${mpv.startedAfterMs} ms; paused-for-cache ${mpv.stalls} time(s)`,
  );
  console.log(
    `  ffplay  started after ${ffplay.startedAfterMs} ms; clock ran ${ffplay.clockSeconds} s; ` +
      `${ffplay.stalls} stall(s) (${ffplay.clockJumpsBack} with the clock set back); ` +
      `packet queues ran empty ${ffplay.queuesRanEmpty} time(s)`,
  );
  console.log(JSON.stringify({ bench: "player_stalls", seconds: SECONDS, latency, mpv, ffplay }));
} finally {
  stop(feeder, "SIGINT");
  stop(server);
  await Promise.all([feeder.status, server.status]);
  if (!flags.keep) await Deno.remove(dir, { recursive: true }).catch(() => {});
}
