// Join time: viewers connect one after another at random times while mkserver plays a generated
// live stream (H.264 + Opus, 2 s GOP, played at real time); for each, the time from the request
// to its first keyframe Cluster, and whether its first Cluster starts on a video keyframe.
// Runs normal mode, then --low-latency.
//
//   deno run -A bench/join.ts [--viewers 50] [--seconds 20] [--input FILE] [--bitrate 2M]
//                             [--modes normal,low-latency] [--keep]
//
// --seconds is the window (per mode) over which the joins are spread. Per join it records:
//   keyframe: the first video keyframe block received whole (a picture can be decoded);
//   cluster:  the first Cluster whose first video block is a keyframe received whole (its end:
//             the Cluster's size for normal mode; the next Cluster's start for low-latency mode,
//             whose Clusters have unknown size, so this waits for the next cut, up to 1 s).
// Prints a report and one JSON line.

import {
  cleanup,
  HttpViewer,
  inputOrMedia,
  MkvWatcher,
  parseBenchFlags,
  percentile,
  round,
  type Server,
  startServer,
  waitLive,
} from "./_live.ts";
import { sleep } from "./_proc.ts";

interface Join {
  /** ms from request to the response head. */
  head: number;
  /** ms from request to the first keyframe block received whole. */
  keyframe: number;
  /** ms from request to the end of the first Cluster whose first video block is a keyframe. */
  cluster: number;
  /** The first Cluster's first block is a video keyframe. */
  clean: boolean;
  /** The first Cluster's first video block is a keyframe (audio may come first). */
  videoClean: boolean;
  error?: string;
}

const TIMEOUT_MS = 5000;

async function join(port: number): Promise<Join> {
  const result: Join = {
    head: NaN,
    keyframe: NaN,
    cluster: NaN,
    clean: false,
    videoClean: false,
  };
  const viewer = await HttpViewer.open(port);
  const t0 = viewer.requestAt;
  const watcher = new MkvWatcher();
  let firstBlockSeen = false;
  let firstVideoSeen = false;
  let goodCluster = -1; // index of the first Cluster whose first video block is a keyframe
  let videoInCluster = -1; // cluster index of the last video block
  let done = false;
  let now = t0;
  watcher.onBlock = (b) => {
    const video = b.track === watcher.videoTrack;
    if (!firstBlockSeen) {
      firstBlockSeen = true;
      result.clean = video && b.keyframe && b.cluster === 0;
    }
    if (video && b.cluster === 0 && !firstVideoSeen) {
      result.videoClean = b.keyframe;
    }
    if (video) firstVideoSeen = true;
    if (video && videoInCluster !== b.cluster) {
      videoInCluster = b.cluster;
      if (goodCluster < 0 && b.keyframe) goodCluster = b.cluster;
    }
    if (video && b.keyframe && Number.isNaN(result.keyframe)) {
      result.keyframe = now - t0;
    }
  };
  watcher.onClusterEnd = (index) => {
    if (index === goodCluster) {
      result.cluster = now - t0;
      done = true;
    }
  };
  const timer = setTimeout(() => viewer.close(), TIMEOUT_MS);
  try {
    while (!done) {
      const parts = await viewer.read();
      now = performance.now();
      if (parts === null) break;
      if (viewer.status !== 0 && Number.isNaN(result.head)) {
        result.head = now - t0;
        if (viewer.status !== 200) {
          result.error = `HTTP ${viewer.status}`;
          break;
        }
      }
      for (const p of parts) watcher.push(p);
    }
    if (!done && result.error === undefined) {
      result.error = "no complete keyframe Cluster within 5 s";
    }
  } catch (error) {
    result.error = String((error as Error)?.message ?? error);
  } finally {
    clearTimeout(timer);
    viewer.close();
  }
  return result;
}

function summarize(joins: Join[]) {
  const ok = joins.filter((j) => j.error === undefined);
  const stat = (key: "head" | "keyframe" | "cluster") => {
    const v = ok.map((j) => j[key]).filter((x) => Number.isFinite(x));
    return {
      p50: round(percentile(v, 50), 2),
      p99: round(percentile(v, 99), 2),
      max: round(percentile(v, 100), 2),
    };
  };
  return {
    joins: joins.length,
    errors: joins.length - ok.length,
    cleanFraction: round(
      joins.filter((j) => j.clean).length / joins.length,
      4,
    ),
    videoCleanFraction: round(
      joins.filter((j) => j.videoClean).length / joins.length,
      4,
    ),
    headMs: stat("head"),
    keyframeMs: stat("keyframe"),
    clusterMs: stat("cluster"),
    firstError: joins.find((j) => j.error)?.error,
  };
}

async function runMode(
  input: string,
  lowLatency: boolean,
  viewers: number,
  windowMs: number,
) {
  const server: Server = await startServer(
    lowLatency ? ["--low-latency"] : [],
    input,
  );
  try {
    await waitLive(server);
    const offsets = Array.from(
      { length: viewers },
      () => Math.random() * windowMs,
    ).sort((a, b) => a - b);
    const start = performance.now();
    const joins = await Promise.all(
      offsets.map(async (at) => {
        await sleep(start + at - performance.now());
        return join(server.port);
      }),
    );
    const status = await server.status();
    return { ...summarize(joins), serverSkips: status.skips };
  } finally {
    await server.stop();
  }
}

const args = parseBenchFlags(Deno.args, {
  viewers: 50,
  seconds: 20,
  bitrate: "2M",
}, ["modes"]);
const modes = String(args.flags.modes ?? "normal,low-latency").split(",");
let dir: string | undefined;
try {
  const media = await inputOrMedia(args, Math.ceil(args.seconds) + 15);
  const input = media.input;
  dir = media.dir;
  const results: Record<string, ReturnType<typeof summarize>> = {};
  for (const mode of modes) {
    results[mode] = await runMode(
      input,
      mode === "low-latency",
      args.viewers,
      args.seconds * 1000,
    );
  }
  console.log(
    `join: ${args.viewers} viewers at random times over ${args.seconds} s, input ${
      args.input ?? `generated H.264+Opus ${args.bitrate / 1e6} Mbit/s, 2 s GOP`
    }`,
  );
  for (const [mode, r] of Object.entries(results)) {
    console.log(
      `  ${
        mode.padEnd(11)
      } first keyframe Cluster p50 ${r.clusterMs.p50} ms, p99 ${r.clusterMs.p99} ms, max ${r.clusterMs.max} ms | ` +
        `first keyframe block p50 ${r.keyframeMs.p50} ms, p99 ${r.keyframeMs.p99} ms | ` +
        `starts on keyframe ${(r.cleanFraction * 100).toFixed(1)}% | errors ${r.errors}` +
        (r.firstError ? ` (${r.firstError})` : ""),
    );
  }
  console.log(
    JSON.stringify({
      bench: "join",
      viewers: args.viewers,
      windowSeconds: args.seconds,
      ...results,
    }),
  );
} finally {
  await cleanup(dir, args.keep);
}
