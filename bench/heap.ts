// Where a viewer's memory goes: heap snapshots of a running mkserver, idle and with N viewers.
//
//   deno run -A bench/heap.ts [--viewers 1000] [--input FILE] [--top 25] [--keep]
//
// Starts `main.ts --loop` (with the V8 flags mkserver runs with, and `--inspect` on a free
// port) on a generated 2 Mbit/s H.264 + Opus stream, takes a heap snapshot over the Chrome
// DevTools Protocol (after a forced GC), opens N viewers with bench/loadclient.c (compiled with
// gcc), waits 5 s, and takes another. Prints per viewer: JS heap (snapshot self sizes), buffers
// (`external` of /status `process`), RSS (VmRSS); then the object kinds that grew the most,
// by bytes per viewer. Figures are of one run; the snapshot itself allocates a little, and RSS
// includes the inspector's and the snapshots' own memory (use bench/fanout.ts for RSS).

import { parseArgs } from "@std/cli/parse-args";
import { buildClient, cleanup, MKSERVER_V8_FLAGS } from "./_live.ts";
import { makeMedia } from "./_media.ts";
import { rssMiB, sleep } from "./_proc.ts";

const flags = parseArgs(Deno.args, {
  string: ["viewers", "input", "top"],
  boolean: ["keep", "help"],
});
if (flags.help) {
  console.log("deno run -A bench/heap.ts [--viewers 1000] [--input FILE] [--top 25] [--keep]");
  Deno.exit(0);
}
const VIEWERS = Number(flags.viewers ?? 1000);
const TOP = Number(flags.top ?? 25);
if (!Number.isInteger(VIEWERS) || VIEWERS < 1 || VIEWERS > 20000) {
  console.error(`heap: invalid --viewers: ${flags.viewers}`);
  Deno.exit(2);
}
const decoder = new TextDecoder();
const ROOT = new URL("..", import.meta.url).pathname;

/** Object kinds of a snapshot: "type:name" → count and self bytes. */
type Census = Map<string, { count: number; bytes: number }>;

/** Takes a heap snapshot through the inspector's WebSocket and counts its nodes by kind. */
async function snapshot(wsUrl: string): Promise<{ census: Census; total: number }> {
  const ws = new WebSocket(wsUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  const chunks: string[] = [];
  const waiting = new Map<number, () => void>();
  let id = 0;
  ws.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.method === "HeapProfiler.addHeapSnapshotChunk") {
      chunks.push(message.params.chunk);
    } else if (waiting.has(message.id)) waiting.get(message.id)!();
  };
  const send = (method: string, params = {}) =>
    new Promise<void>((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("HeapProfiler.enable");
  await send("HeapProfiler.collectGarbage");
  await send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  ws.close();
  const snap = JSON.parse(chunks.join(""));
  const fields: string[] = snap.snapshot.meta.node_fields;
  const types: string[] = snap.snapshot.meta.node_types[0];
  const nodes: number[] = snap.nodes;
  const strings: string[] = snap.strings;
  const [width, typeAt, nameAt, sizeAt] = [
    fields.length,
    fields.indexOf("type"),
    fields.indexOf("name"),
    fields.indexOf("self_size"),
  ];
  const census: Census = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    // Strings are named by their text: group them by type only.
    const name = type.includes("string") ? "" : strings[nodes[i + nameAt]].slice(0, 50);
    const key = `${type}:${name}`;
    const entry = census.get(key) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[i + sizeAt];
    total += nodes[i + sizeAt];
    census.set(key, entry);
  }
  return { census, total };
}

async function processMemory(port: number): Promise<{ external: number }> {
  const status = await (await fetch(`http://127.0.0.1:${port}/status`)).json();
  return status.process;
}

const media = flags.input === undefined
  ? await makeMedia({ seconds: 30, bitrate: 2_000_000 })
  : undefined;
const input: string = flags.input === undefined ? media!.path : String(flags.input);
const dir = await Deno.makeTempDir({ prefix: "mkserver-heap-" });
const client = await buildClient(dir);

const server = new Deno.Command("bash", {
  args: [
    "-c",
    `ulimit -n ${VIEWERS + 256} && exec "$@"`,
    "bash",
    Deno.execPath(),
    "run",
    "-A",
    `--v8-flags=${MKSERVER_V8_FLAGS}`,
    "--inspect=127.0.0.1:0",
    `${ROOT}main.ts`,
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--loop",
    input,
  ],
  stdout: "null",
  stderr: "piped",
}).spawn();
let ws = "";
let port = 0;
let log = "";
const reader = server.stderr.getReader();
const deadline = Date.now() + 20_000;
while ((ws === "" || port === 0) && Date.now() < deadline) {
  const { value, done } = await reader.read();
  if (done) break;
  log += decoder.decode(value);
  ws ||= /ws:\/\/\S+/.exec(log)?.[0] ?? "";
  port ||= Number(/http:\/\/[^:]+:(\d+)\/stream/.exec(log)?.[1] ?? 0);
}
(async () => {
  while (!(await reader.read()).done) { /* drain */ }
})();
if (ws === "" || port === 0) throw new Error(`mkserver did not start:\n${log}`);

try {
  await sleep(3000);
  const before = await snapshot(ws);
  const externalBefore = (await processMemory(port)).external;
  const rssBefore = rssMiB(server.pid);
  const load = new Deno.Command(client, {
    args: ["127.0.0.1", String(port), "/stream", String(VIEWERS), "-t", "120"],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  await sleep(5000);
  const after = await snapshot(ws);
  const externalAfter = (await processMemory(port)).external;
  const rssAfter = rssMiB(server.pid);
  const writer = load.stdin.getWriter();
  await writer.write(new TextEncoder().encode("q\n"));
  await writer.close();
  const report = decoder.decode((await load.output()).stdout);
  const connected = report.split("\n").filter((l) => /^C \d+ 200 /.test(l)).length;

  const kib = (bytes: number) => (bytes / 1024).toFixed(2);
  console.log(`viewers connected: ${connected} of ${VIEWERS}`);
  console.log(
    `per viewer: JS heap ${kib((after.total - before.total) / connected)} KiB, buffers ${
      kib((externalAfter - externalBefore) / connected)
    } KiB, RSS ${kib(((rssAfter - rssBefore) * 1048576) / connected)} KiB`,
  );
  console.log(
    `totals: JS heap ${(before.total / 1048576).toFixed(1)} -> ${
      (after.total / 1048576).toFixed(1)
    } MiB, RSS ${rssBefore.toFixed(1)} -> ${rssAfter.toFixed(1)} MiB`,
  );
  const growth = [...after.census].map(([key, a]) => {
    const b = before.census.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: (a.count - b.count) / connected, bytes: (a.bytes - b.bytes) / connected };
  }).sort((x, y) => y.bytes - x.bytes).slice(0, TOP);
  console.log("per viewer   bytes  objects  kind (snapshot type:constructor)");
  for (const g of growth) {
    console.log(
      `${g.bytes.toFixed(0).padStart(18)}  ${g.count.toFixed(2).padStart(7)}  ${g.key}`,
    );
  }
} finally {
  server.kill("SIGTERM");
  await server.status;
  await cleanup(media?.dir, Boolean(flags.keep));
  await Deno.remove(dir, { recursive: true });
}
