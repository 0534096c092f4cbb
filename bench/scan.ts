// Scanning a file: mkserver's parser + segmenter against `ffmpeg -i F -c copy -f matroska -y
// /dev/null` on the same file, each as its own process, wall time from spawn to exit.
//
//   deno run -A bench/scan.ts [--runs 5] [--input FILE]
//   deno run -A bench/scan.ts --worker core|ingest FILE     (one scan; prints a JSON line)
//
// Without --input the files are bench/_big_file.ts's two generated 100 MB H.264 + Opus Matroska
// files (8 and 2 Mbit/s). Each tool runs once to warm the page cache, then --runs times; the
// table shows median wall times (process start-up included for both), MB/s and the ratio to
// ffmpeg. Workers:
//   core    reads the file into fresh 1 MiB buffers (timed apart), then EbmlReader +
//           MatroskaDemuxer + GopSegmenter over them
//   ingest  the server's own input path: `ingest()` of the file's ReadableStream into a Mount
//           (segmenter and GOP ring), unpaced
// The worker also reports its own times without start-up (`readMs`, `scanMs`).

import { parseArgs } from "@std/cli/parse-args";
import { ingest } from "../lib/ingest/ingest.ts";
import { Mount } from "../lib/stream/mount.ts";
import { bigMatroska } from "./_big_file.ts";
import { segmentAll } from "./_segment_all.ts";

const flags = parseArgs(Deno.args, { string: ["runs", "input", "worker"], boolean: ["help"] });
if (flags.help) {
  console.log("deno run -A bench/scan.ts [--runs 5] [--input FILE]");
  Deno.exit(0);
}

/** Reads a file into fresh 1 MiB buffers, as the parser may keep views into what it is given. */
function readChunks(path: string): Uint8Array[] {
  const file = Deno.openSync(path);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const buffer = new Uint8Array(1 << 20);
    const n = file.readSync(buffer);
    if (n === null) break;
    chunks.push(buffer.subarray(0, n));
  }
  file.close();
  return chunks;
}

async function scanIngest(path: string): Promise<{ blocks: number; bytes: number }> {
  const mount = new Mount("scan");
  const file = await Deno.open(path);
  const result = await ingest(file.readable, mount);
  mount.end();
  return { blocks: result.blocks, bytes: result.bytes };
}

if (flags.worker !== undefined) {
  const path = String(flags._[0]);
  const ms = (t: number) => Math.round((performance.now() - t) * 10) / 10;
  let t0 = performance.now();
  if (flags.worker === "core") {
    const chunks = readChunks(path);
    const readMs = ms(t0);
    t0 = performance.now();
    const r = segmentAll(chunks);
    console.log(JSON.stringify({ ...r, readMs, scanMs: ms(t0) }));
  } else {
    const r = await scanIngest(path);
    console.log(JSON.stringify({ ...r, scanMs: ms(t0) }));
  }
  Deno.exit(0);
}

const RUNS = Number(flags.runs ?? 5);
if (!Number.isInteger(RUNS) || RUNS < 1 || RUNS > 50) {
  console.error(`scan: invalid --runs: ${flags.runs}`);
  Deno.exit(2);
}
const inputs = flags.input === undefined
  ? [await bigMatroska("8M"), await bigMatroska("2M")]
  : [String(flags.input)];
const decoder = new TextDecoder();

async function timed(cmd: string, args: string[]): Promise<{ ms: number; stdout: string }> {
  const t0 = performance.now();
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const ms = performance.now() - t0;
  if (!out.success) throw new Error(`${cmd} failed: ${decoder.decode(out.stderr)}`);
  return { ms, stdout: decoder.decode(out.stdout) };
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

console.log(`${(await timed("ffmpeg", ["-version"])).stdout.split("\n")[0]}; ${RUNS} runs each`);
for (const input of inputs) {
  const size = (await Deno.stat(input)).size;
  const tools: Array<{ name: string; cmd: string; args: string[] }> = [
    {
      name: "ffmpeg -c copy -f matroska",
      cmd: "ffmpeg",
      args: ["-v", "error", "-i", input, "-c", "copy", "-f", "matroska", "-y", "/dev/null"],
    },
    ...["core", "ingest"].map((mode) => ({
      name: `mkserver ${mode}`,
      cmd: Deno.execPath(),
      args: ["run", "-A", new URL(import.meta.url).pathname, "--worker", mode, input],
    })),
  ];
  const rows: Array<{ name: string; ms: number; readMs?: number; scanMs?: number }> = [];
  for (const tool of tools) {
    await timed(tool.cmd, tool.args); // warm-up: page cache, Deno's module cache
    const times: number[] = [];
    const reads: number[] = [];
    const scans: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const { ms, stdout } = await timed(tool.cmd, tool.args);
      times.push(ms);
      if (!stdout.startsWith("{")) continue;
      const worker = JSON.parse(stdout);
      scans.push(worker.scanMs);
      if (worker.readMs !== undefined) reads.push(worker.readMs);
    }
    rows.push({
      name: tool.name,
      ms: median(times),
      readMs: reads.length ? median(reads) : undefined,
      scanMs: scans.length ? median(scans) : undefined,
    });
  }
  const ffmpegMs = rows[0].ms;
  const mbps = (ms: number) => (size / 1e6 / (ms / 1000)).toFixed(0);
  console.log(`\n${input}: ${(size / 1e6).toFixed(1)} MB`);
  console.log(
    "tool                        wall ms  MB/s   x ffmpeg  read ms  scan ms  scan MB/s  scan x ffmpeg",
  );
  for (const r of rows) {
    console.log(
      [
        r.name.padEnd(26),
        r.ms.toFixed(0).padStart(7),
        mbps(r.ms).padStart(5),
        (ffmpegMs / r.ms).toFixed(1).padStart(8),
        (r.readMs?.toFixed(0) ?? "-").padStart(7),
        (r.scanMs?.toFixed(0) ?? "-").padStart(7),
        (r.scanMs ? mbps(r.scanMs) : "-").padStart(9),
        (r.scanMs ? (ffmpegMs / r.scanMs).toFixed(1) : "-").padStart(13),
      ].join("  "),
    );
  }
}
console.log(
  "\nwall: spawn to exit, start-up included (median); read: the core worker reading the file into " +
    "fresh 1 MiB buffers; scan: parse + demux + segment (core) or the whole ingest (ingest), " +
    "in the worker; x ffmpeg: ffmpeg's wall time / this time.",
);
