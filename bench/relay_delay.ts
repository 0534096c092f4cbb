// The delay each relay tier adds. An origin loops a file; edge1 and edge2 pull from it, edge3
// pulls from edge1 (a second tier). One viewer per server records when each chunk of its
// stream arrived (one clock for all: the host's, performance.timeOrigin + now()); each block
// arrives with the chunk that completes it. Blocks are matched across viewers by track and
// payload bytes (only payloads that occur once in the file, so a match is never ambiguous), and
// a tier's delay per block is its arrival at the downstream viewer minus at the upstream one:
//
//   tier 1   origin → edge1 (and origin → edge2)
//   tier 2   edge1 → edge3
//
// Hosts are network namespaces joined by veth pairs (as in tests/relay_netns_test.ts) when this
// runs as root with iproute2; else, or with --loopback, a chain on 127.0.0.1 with free ports.
// Each mode (normal: whole Clusters; --low-latency on every server) runs fresh servers.
//
//   deno run -A bench/relay_delay.ts [--seconds 20] [--modes normal,low-latency] [--loopback]
//                                    [--input testdata/sample.webm]
//
// Blocks the upstream viewer got in its first 3 s (the join burst) or last 2 s are left out.
// Prints a report and one JSON line.

import { parseArgs } from "@std/cli/parse-args";
import type { Block } from "../lib/matroska/block.ts";
import { demux } from "../tests/_util.ts";
import { lastClusterEnd, netnsSupport, NsProcess, NsServer, Topology } from "../tests/_netns.ts";
import { sleep } from "./_proc.ts";

const HEAD_MS = 3000;
const TAIL_MS = 2000;
const HOSTS = ["origin", "edge1", "edge2", "edge3"] as const;
type Host = typeof HOSTS[number];
const UPSTREAM: Record<Exclude<Host, "origin">, Host> = {
  edge1: "origin",
  edge2: "origin",
  edge3: "edge1",
};

/** The host's clock, ms with sub-ms precision, the same in every process. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Viewer mode (a child process, inside a host): GET `url` for `seconds`; write the body to
 * `out` and `[[endOffset, arrivalMs], …]` per chunk to `out.times.json`.
 */
async function viewer(url: string, out: string, seconds: number): Promise<void> {
  const chunks: Uint8Array[] = [];
  const times: [number, number][] = [];
  let total = 0;
  const signal = AbortSignal.timeout(seconds * 1000);
  try {
    const response = await fetch(url, { signal });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    for await (const chunk of response.body) {
      const t = now();
      chunks.push(chunk);
      total += chunk.length;
      times.push([total, t]);
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  await Deno.writeFile(out, bytes);
  await Deno.writeTextFile(`${out}.times.json`, JSON.stringify(times));
}

function key(b: Block): string {
  let s = `${b.track}:`;
  for (let i = 0; i < b.frames.length; i += 8192) {
    s += String.fromCharCode(...b.frames.subarray(i, i + 8192));
  }
  return s;
}

/** A viewer's capture: per payload key, when each block carrying it arrived. */
async function arrivals(out: string): Promise<Map<string, number[]>> {
  const bytes = await Deno.readFile(out);
  const times: [number, number][] = JSON.parse(await Deno.readTextFile(`${out}.times.json`));
  // A capture ends mid-Cluster: demux up to the last whole one (the tail is left out anyway).
  const blocks = demux(bytes.subarray(0, lastClusterEnd(bytes))).blocks;
  const map = new Map<string, number[]>();
  let c = 0;
  for (const b of blocks) {
    const end = b.frames.byteOffset + b.frames.length;
    while (c < times.length && times[c][0] < end) c++;
    if (c === times.length) break;
    const k = key(b);
    map.set(k, [...(map.get(k) ?? []), times[c][1]]);
  }
  return map;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface TierFigures {
  tier: string;
  blocks: number;
  median: number;
  p95: number;
  max: number;
}

/** Delays from `up` to `down` for the blocks `up` got between `from` and `to`. */
function tier(
  name: string,
  up: Map<string, number[]>,
  down: Map<string, number[]>,
  unique: Set<string>,
  from: number,
  to: number,
): TierFigures {
  const delays: number[] = [];
  for (const [k, ups] of up) {
    if (!unique.has(k)) continue;
    const downs = down.get(k) ?? [];
    for (const t of ups) {
      if (t < from || t > to) continue;
      // The same payload comes again one loop of the file later: take the nearest.
      let best: number | undefined;
      for (const d of downs) {
        if (best === undefined || Math.abs(d - t) < Math.abs(best - t)) best = d;
      }
      if (best !== undefined) delays.push(best - t);
    }
  }
  delays.sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 10) / 10;
  return {
    tier: name,
    blocks: delays.length,
    median: r(percentile(delays, 50)),
    p95: r(percentile(delays, 95)),
    max: r(delays[delays.length - 1] ?? NaN),
  };
}

async function runMode(
  lowLatency: boolean,
  seconds: number,
  input: string,
  unique: Set<string>,
  topo: Topology | undefined,
  dir: string,
): Promise<TierFigures[]> {
  const extra = lowLatency ? ["--low-latency"] : [];
  const servers: NsProcess[] = [];
  const viewers: NsProcess[] = [];
  // Addresses of the upstream ends of the links (netns), as in tests/relay_netns_test.ts.
  const upstreamAddr: Record<string, string> = {
    edge1: "10.77.1.1",
    edge2: "10.77.2.1",
    edge3: "10.77.3.1",
  };
  const ports: Partial<Record<Host, number>> = {};
  const start = (host: Host, args: string[]) => {
    const listen = topo ? ["--host", "0.0.0.0", "--port", "8080"] : ["--port", "0"];
    const s = NsServer.start(topo?.ns(host), host, [...listen, ...extra, ...args]);
    servers.push(s);
    return s;
  };
  const upstreamUrl = (host: Exclude<Host, "origin">) => {
    const up = UPSTREAM[host];
    return topo
      ? `http://${upstreamAddr[host]}:8080/stream`
      : `http://127.0.0.1:${ports[up]}/stream`;
  };
  try {
    ports.origin = await start("origin", ["--loop", input]).ready();
    const e1 = start("edge1", [upstreamUrl("edge1")]);
    const e2 = start("edge2", [upstreamUrl("edge2")]);
    [ports.edge1, ports.edge2] = await Promise.all([e1.ready(), e2.ready()]);
    ports.edge3 = await start("edge3", [upstreamUrl("edge3")]).ready();
    await sleep(1000);
    const begun = now();
    for (const host of HOSTS) {
      const v = new NsProcess(topo?.ns(host), `viewer@${host}`, Deno.execPath(), [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--viewer",
        `http://127.0.0.1:${topo ? 8080 : ports[host]}/stream`,
        `${dir}/${host}.webm`,
        String(seconds),
      ]);
      viewers.push(v);
    }
    const codes = await Promise.all(viewers.map((v) => v.exit((seconds + 20) * 1000)));
    codes.forEach((code, i) => {
      if (code !== 0) throw new Error(`${viewers[i].label} failed:\n${viewers[i].log}`);
    });
    const got = Object.fromEntries(
      await Promise.all(HOSTS.map(async (h) => [h, await arrivals(`${dir}/${h}.webm`)] as const)),
    ) as Record<Host, Map<string, number[]>>;
    // Viewers started within a few hundred ms of `begun`; each runs `seconds`.
    const from = begun + HEAD_MS, to = begun + seconds * 1000 - TAIL_MS;
    return [
      tier("origin → edge1", got.origin, got.edge1, unique, from, to),
      tier("origin → edge2", got.origin, got.edge2, unique, from, to),
      tier("edge1 → edge3", got.edge1, got.edge3, unique, from, to),
      tier("origin → edge3", got.origin, got.edge3, unique, from, to),
    ];
  } finally {
    for (const p of [...viewers, ...servers]) p.kill("SIGTERM");
    await Promise.all([...viewers, ...servers].map((p) => p.exit(5000).catch(() => {})));
  }
}

async function main(): Promise<void> {
  const flags = parseArgs(Deno.args, {
    string: ["seconds", "modes", "input", "viewer"],
    boolean: ["loopback"],
    default: { seconds: "20", modes: "normal,low-latency", input: "testdata/sample.webm" },
  });
  if (flags.viewer !== undefined) {
    await viewer(String(flags.viewer), String(flags._[0]), Number(flags._[1]));
    return;
  }
  Deno.chdir(new URL("../", import.meta.url));
  const seconds = Number(flags.seconds);
  if (!(seconds >= 8)) throw new Error("--seconds must be at least 8");
  const modes = String(flags.modes).split(",");
  const input = String(flags.input);
  const fileBlocks = demux(await Deno.readFile(input)).blocks;
  const counts = new Map<string, number>();
  for (const b of fileBlocks) counts.set(key(b), (counts.get(key(b)) ?? 0) + 1);
  const unique = new Set([...counts].filter(([, n]) => n === 1).map(([k]) => k));

  const unsupported = flags.loopback ? "--loopback" : await netnsSupport();
  const where = unsupported === undefined
    ? "network namespaces (veth pairs)"
    : `loopback (${unsupported})`;
  const dir = await Deno.makeTempDir({ prefix: "mkr-relay-delay-" });
  let topo: Topology | undefined;
  const results: Record<string, TierFigures[]> = {};
  try {
    if (unsupported === undefined) {
      topo = await Topology.create(HOSTS);
      await topo.link("origin", "10.77.1.1", "edge1", "10.77.1.2");
      await topo.link("origin", "10.77.2.1", "edge2", "10.77.2.2");
      await topo.link("edge1", "10.77.3.1", "edge3", "10.77.3.2");
    }
    for (const mode of modes) {
      results[mode] = await runMode(
        mode === "low-latency",
        seconds,
        input,
        unique,
        topo,
        dir,
      );
    }
  } finally {
    await topo?.[Symbol.asyncDispose]();
    await Deno.remove(dir, { recursive: true });
  }
  console.log(`deno run -A bench/relay_delay.ts ${Deno.args.join(" ")}`.trim());
  console.log(
    `input ${input} (${unique.size} of ${fileBlocks.length} payloads unique), ` +
      `${seconds} s per mode, hosts: ${where}`,
  );
  console.log("delay added per block, ms (downstream viewer's arrival − upstream viewer's)");
  for (const mode of modes) {
    console.log(`  ${mode}`);
    for (const t of results[mode]) {
      console.log(
        `    ${t.tier.padEnd(16)} median ${String(t.median).padStart(7)}  p95 ${
          String(t.p95).padStart(7)
        }  max ${String(t.max).padStart(7)}  (${t.blocks} blocks)`,
      );
    }
  }
  console.log(JSON.stringify({ bench: "relay_delay", where, seconds, results }));
}

if (import.meta.main) await main();
