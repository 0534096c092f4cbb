// Added latency: mkserver reads standard input (`-`, taken as it arrives); this process paces a
// generated file into it at real time, block by block (parsed with the library's EBML reader),
// and records when each block's last byte was written to the pipe. A viewer in this process
// parses what it receives and records when each block arrived whole. Added latency per block =
// arrival − write, matched by (track, timestamp). One run per cadence (`--latency`), side by
// side: `1s` (the default), `250ms`, `40ms`, and `frame` (`--low-latency`).
//
//   deno run -A bench/latency.ts [--seconds 20] [--input FILE] [--bitrate 2M]
//                                [--modes 1s,250ms,40ms,frame] [--keep]
//
// --seconds is the paced length per mode. Blocks written in the last 2 s of a run are left out
// of the figures (the last tick may still be due when the run ends).
// Target: in frame mode, p95 within one frame interval. Prints a report and one JSON line.

import {
  cleanup,
  frameInterval,
  HttpViewer,
  indexFile,
  inputOrMedia,
  MkvWatcher,
  parseBenchFlags,
  percentile,
  round,
  startServer,
} from "./_live.ts";
import { sleep } from "./_proc.ts";

const TAIL_MS = 2000;

async function runMode(
  bytes: Uint8Array,
  index: ReturnType<typeof indexFile>,
  mode: string,
  seconds: number,
) {
  const server = await startServer(
    mode === "frame" ? ["--low-latency"] : ["--latency", mode],
    "-",
    { stdin: "piped" },
  );
  const writer = server.process.stdin.getWriter();
  const written = new Map<string, number>();
  const arrived = new Map<string, number>();
  let viewer: HttpViewer | undefined;
  let maxWriteMs = 0;
  let lastWrite = 0;
  let writes = 0; // the server's writes while the file is paced, as the viewer sees them
  let lastRead = 0;
  let pacing = false;
  let pacedMs = 0;
  try {
    // The header and the first Cluster's start (the server takes the header there); then a
    // viewer joins before any block, so it gets every GOP.
    const head = index.blocks[0].start;
    await writer.write(bytes.subarray(0, head));
    let ready = false;
    for (let i = 0; i < 200 && !ready; i++) {
      await sleep(20);
      ready = (await server.status()).state === "live";
    }
    if (!ready) throw new Error("the mount did not take the header");
    viewer = await HttpViewer.open(server.port);
    const watcher = new MkvWatcher();
    let now = 0;
    watcher.onBlock = (b) => {
      const key = `${b.track}:${b.time}`;
      if (!arrived.has(key)) arrived.set(key, now);
    };
    const v = viewer;
    const reading = (async () => {
      for (;;) {
        const parts = await v.read();
        now = performance.now();
        if (parts === null) break;
        // Reads less than 5 ms apart are one write of the server's, split by the socket.
        if (pacing && now - lastRead > 5) writes++;
        lastRead = now;
        for (const p of parts) watcher.push(p);
      }
    })();
    // Wait for the response head and the live header.
    for (let i = 0; i < 250 && watcher.tracks.length === 0; i++) {
      await sleep(20);
    }
    if (watcher.tracks.length === 0) throw new Error("no header from /stream");

    // Pace the blocks at real time by their timestamps.
    const ms = index.timestampScale / 1e6;
    const blocks = index.blocks;
    const t0 = performance.now() + 50;
    const time0 = blocks[0].time;
    let pos = head;
    let i = 0;
    pacing = true;
    while (i < blocks.length) {
      const due = t0 + (blocks[i].time - time0) * ms;
      if ((blocks[i].time - time0) * ms > seconds * 1000) break;
      await sleep(due - performance.now());
      // Every block due by now goes in one write.
      let j = i;
      const nowMs = performance.now();
      while (
        j < blocks.length && t0 + (blocks[j].time - time0) * ms <= nowMs + 0.5
      ) j++;
      if (j === i) j = i + 1;
      const end = blocks[j - 1].end;
      const before = performance.now();
      await writer.write(bytes.subarray(pos, end));
      const after = performance.now();
      maxWriteMs = Math.max(maxWriteMs, after - before);
      lastWrite = after;
      pos = end;
      for (let k = i; k < j; k++) {
        const key = `${blocks[k].track}:${blocks[k].time}`;
        if (!written.has(key)) written.set(key, after);
      }
      i = j;
    }
    pacing = false;
    pacedMs = performance.now() - t0;
    await sleep(1500);
    viewer.close();
    await reading.catch(() => {});
  } finally {
    viewer?.close();
    await writer.close().catch(() => {});
    await server.stop();
  }
  const lat: number[] = [];
  const video = new Set<string>();
  for (const b of index.blocks) {
    if (b.track === index.videoTrack) video.add(`${b.track}:${b.time}`);
  }
  const videoLat: number[] = [];
  // Blocks before the first video keyframe are dropped by the server by design.
  const early = new Set<string>();
  for (const b of index.blocks) {
    if (b.track === index.videoTrack && b.keyframe) break;
    early.add(`${b.track}:${b.time}`);
  }
  let counted = 0;
  let missing = 0;
  const missingKeys: string[] = [];
  for (const [key, w] of written) {
    if (w > lastWrite - TAIL_MS || early.has(key)) continue;
    counted++;
    const a = arrived.get(key);
    if (a === undefined) {
      missing++;
      if (missingKeys.length < 5) missingKeys.push(key);
      continue;
    }
    lat.push(a - w);
    if (video.has(key)) videoLat.push(a - w);
  }
  const fig = (v: number[]) => ({
    p50: round(percentile(v, 50), 2),
    p95: round(percentile(v, 95), 2),
    max: round(percentile(v, 100), 2),
  });
  return {
    blocks: counted,
    missing,
    missingKeys,
    all: fig(lat),
    video: fig(videoLat),
    maxWriteMs: round(maxWriteMs, 2),
    writesPerSecond: round(writes / (pacedMs / 1000), 1),
  };
}

const args = parseBenchFlags(Deno.args, {
  viewers: 1,
  seconds: 20,
  bitrate: "2M",
}, ["modes"]);
const modes = String(args.flags.modes ?? "1s,250ms,40ms,frame").split(",");
let dir: string | undefined;
try {
  const media = await inputOrMedia(args, Math.ceil(args.seconds) + 2);
  const input = media.input;
  dir = media.dir;
  const bytes = await Deno.readFile(input);
  const index = indexFile(bytes);
  if (index.firstCluster < 0 || index.blocks.length === 0) {
    throw new Error(`${input}: no Clusters or blocks`);
  }
  const frameMs = round(
    frameInterval(index.blocks, index.videoTrack) * index.timestampScale / 1e6,
    2,
  );
  const results: Record<string, Awaited<ReturnType<typeof runMode>>> = {};
  for (const mode of modes) {
    results[mode] = await runMode(
      bytes,
      index,
      mode,
      args.seconds,
    );
  }
  console.log(
    `latency: ${args.seconds} s paced into stdin, input ${
      args.input ?? `generated H.264+Opus ${args.bitrate / 1e6} Mbit/s`
    }, frame interval ${frameMs} ms`,
  );
  console.log(
    `  ${"mode".padEnd(11)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${
      "max ms".padStart(8)
    }   (video only: p50/p95/max)   blocks  missing  writes/s`,
  );
  for (const [mode, r] of Object.entries(results)) {
    console.log(
      `  ${mode.padEnd(11)} ${String(r.all.p50).padStart(8)} ${String(r.all.p95).padStart(8)} ${
        String(r.all.max).padStart(8)
      }   (${r.video.p50}/${r.video.p95}/${r.video.max})   ${r.blocks}  ${r.missing}  ${r.writesPerSecond}`,
    );
  }
  const ll = results["frame"];
  if (ll !== undefined) {
    console.log(
      `  frame p95 ${ll.all.p95 <= frameMs ? "within" : "OVER"} one frame interval (${frameMs} ms)`,
    );
  }
  console.log(
    JSON.stringify({
      bench: "latency",
      seconds: args.seconds,
      frameIntervalMs: frameMs,
      ...results,
    }),
  );
} finally {
  await cleanup(dir, args.keep);
}
