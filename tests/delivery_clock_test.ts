// The write cadence (issue #16): one delivery clock per mount, one write per tick per viewer at
// the live edge, whatever the source's own Cluster cuts.
import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import { concatBytes } from "../lib/ebml/writer.ts";
import type { Block } from "../lib/matroska/block.ts";
import { CHUNKED } from "../lib/server/chunked.ts";
import { applyConfigFile, parseCliOptions, UsageError } from "../lib/server/cli_options.ts";
import type { ClientStream } from "../lib/stream/client_stream.ts";
import { DeliveryClock } from "../lib/stream/delivery_clock.ts";
import { Mount } from "../lib/stream/mount.ts";
import { demux, readFixture } from "./_util.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Decodes an HTTP/1.1 chunked body (no last chunk needed): the chunks' data, joined. */
function unchunk(bytes: Uint8Array): Uint8Array {
  const out: Uint8Array[] = [];
  const text = new TextDecoder("latin1");
  let at = 0;
  while (at < bytes.length) {
    let eol = at;
    while (bytes[eol] !== 13) eol++;
    const size = parseInt(text.decode(bytes.subarray(at, eol)), 16);
    out.push(bytes.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return concatBytes(out);
}

/**
 * Reads `client` as a server does (one `next()` at a time), putting each write into the list
 * `phase.writes` points at when it comes; `done` resolves at the stream's end.
 */
function collect(client: ClientStream) {
  const phase = { writes: [] as Uint8Array[] };
  const done = (async () => {
    for (;;) {
      let chunk = client.next();
      if (chunk instanceof Promise) chunk = await chunk;
      if (chunk === null) return;
      phase.writes.push(chunk);
    }
  })();
  return { phase, done };
}

/** Lets pending microtasks and the writes they wake run. */
const settle = () => sleep(0);

const key = (b: Block) => `${b.track}:${b.time}`;

Deno.test("DeliveryClock ticks at once after an idle stretch, then at most once per period", async () => {
  const ticks: number[] = [];
  const t0 = performance.now();
  const clock = new DeliveryClock(400, () => ticks.push(performance.now() - t0));
  try {
    clock.arrived(false);
    await sleep(25);
    assertEquals(ticks.length, 1, "the first block goes out at once (after a 5 ms grace)");
    for (let i = 0; i < 5; i++) {
      clock.arrived(false);
      await sleep(10);
    }
    assertEquals(ticks.length, 1, "blocks within a period wait for its tick");
    await sleep(400);
    assertEquals(ticks.length, 2);
    assert(ticks[1] >= 395, `second tick at ${ticks[1]} ms`);
  } finally {
    clock.stop();
  }
  clock.arrived(false);
  await sleep(25);
  assertEquals(ticks.length, 2, "no tick after stop()");
});

Deno.test("DeliveryClock in frame mode ticks with each video frame's input batch, and other blocks wait", async () => {
  let ticks = 0;
  const clock = new DeliveryClock("frame", () => ticks++);
  try {
    clock.arrived(true, 0);
    clock.arrived(false);
    clock.arrived(true, 40); // the same input batch: one tick
    await Promise.resolve();
    assertEquals(ticks, 1);
    assertEquals(clock.period, 40, "the measured frame interval");
    clock.arrived(false); // audio alone waits up to a frame interval
    await Promise.resolve();
    assertEquals(ticks, 1);
    clock.arrived(true, 80);
    await Promise.resolve();
    assertEquals(ticks, 2);
  } finally {
    clock.stop();
  }
});

Deno.test("DeliveryClock follows a source that cuts no more often than it ticks (an origin), not one that cuts more often", async () => {
  const ticks: number[] = [];
  const t0 = performance.now();
  const at = () => performance.now() - t0;
  const clock = new DeliveryClock(400, () => ticks.push(at()));
  const cuts: number[] = [];
  try {
    // An origin's writes, one per 400 ms, whose first came in two reads 240 ms apart: on its
    // own clock the edge would tick 400 ms after the late read, about 200 ms after each write.
    clock.arrived(false);
    clock.sourceCut();
    await sleep(240);
    clock.arrived(false);
    for (let k = 0; k < 3; k++) {
      await sleep(600 + 400 * k - at());
      clock.arrived(false);
      clock.sourceCut();
      cuts.push(at());
    }
    await sleep(50);
  } finally {
    clock.stop();
  }
  const late = cuts.map((cut) => Math.min(...ticks.filter((t) => t >= cut)) - cut);
  for (const ms of late) assert(ms < 100, `ticks ${late.map(Math.round)} ms after the cuts`);

  // ffmpeg into a pipe: a cut every ~30 ms; the clock keeps its period.
  const fast: number[] = [];
  const other = new DeliveryClock(400, () => fast.push(at()));
  try {
    for (let i = 0; i < 12; i++) {
      other.arrived(false);
      other.sourceCut();
      await sleep(30);
    }
  } finally {
    other.stop();
  }
  assertEquals(fast.length, 1, `ticks at ${fast.map(Math.round)} ms`);
});

Deno.test("Mount with a delivery clock: a viewer at the live edge gets one write per tick, holding every block since its last, across GOPs", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream", { latency: 100, wire: CHUNKED });
  mount.setHeader(header);
  const client = mount.attach({ wire: CHUNKED })!;
  const { phase, done } = collect(client);
  await settle();
  const writes: Uint8Array[][] = [phase.writes]; // the header
  // Three bursts, each more than a GOP (2 s) of media at once, and the source's own Cluster
  // cuts after every block: each burst is one tick.
  const bursts = [blocks.slice(0, 200), blocks.slice(200, 450), blocks.slice(450, 700)];
  for (const burst of bursts) {
    phase.writes = [];
    writes.push(phase.writes);
    for (const block of burst) {
      mount.pushBlock(block);
      mount.endCluster();
    }
    await sleep(130);
  }
  phase.writes = [];
  writes.push(phase.writes);
  mount.end();
  await done;
  assertEquals(writes.map((w) => w.length), [1, 1, 1, 1, 0]);
  // The writes are whole Clusters that carry every block from the first keyframe on, in order.
  const received = demux(concatBytes([header.bytes, ...writes.slice(1).flat().map(unchunk)]));
  const first = blocks.findIndex((b) => b.track === 1 && b.keyframe);
  assertEquals(received.blocks.map(key), blocks.slice(first, 700).map(key));
  assertGreater(mount.ring.stats.gops, 3, "the bursts held several GOPs");
  const payload = writes.slice(1).flat().reduce((n, w) => n + unchunk(w).length, 0);
  assertEquals(client.bytesSent, header.bytes.length + payload, "payload bytes, not framing");
});

Deno.test("Mount with a delivery clock: a viewer joining mid-batch starts at the newest keyframe and continues without a gap", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream", { latency: 60, wire: CHUNKED });
  mount.setHeader(header);
  for (const block of blocks.slice(0, 400)) mount.pushBlock(block);
  await sleep(80);
  const client = mount.attach({ wire: CHUNKED })!;
  const { phase, done } = collect(client);
  await settle();
  assertEquals(phase.writes.length, 2, "the header, then the newest GOP's Clusters in one write");
  const start = mount.ring.newest!;
  for (const block of blocks.slice(400, 600)) mount.pushBlock(block);
  mount.end();
  await done;
  const received = demux(concatBytes([header.bytes, ...phase.writes.slice(1).map(unchunk)]));
  const from = blocks.findIndex((b) => b.track === 1 && b.keyframe && b.time === start.time);
  assertEquals(received.blocks.map(key), blocks.slice(from, 600).map(key));
});

Deno.test("Mount with a delivery clock in frame mode writes with each video frame, in whole Clusters", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream", { latency: "frame", wire: CHUNKED, lowLatency: true });
  mount.setHeader(header);
  const client = mount.attach({ wire: CHUNKED })!;
  const { phase, done } = collect(client);
  await settle();
  const first = blocks.findIndex((b) => b.track === 1 && b.keyframe);
  const sent = blocks.slice(first, first + 60);
  const counts: number[] = [];
  const all: Uint8Array[] = [];
  for (const block of sent) {
    phase.writes = [];
    mount.pushBlock(block); // one input batch per block
    await settle();
    counts.push(phase.writes.length);
    all.push(...phase.writes);
  }
  assertEquals(counts, sent.map((b) => b.track === 1 ? 1 : 0));
  phase.writes = all;
  mount.end();
  await done;
  const bytes = concatBytes(all.map(unchunk));
  const received = demux(concatBytes([header.bytes, bytes]));
  assertEquals(received.blocks.map(key), sent.map(key));
  // Whole Clusters: the first one has a known size (not the unknown-size 0xFF).
  assertEquals(Array.from(bytes.subarray(0, 4)), [0x1F, 0x43, 0xB6, 0x75]);
  assert(bytes[4] !== 0xFF, "a Cluster of known size");
});

Deno.test("--latency takes a duration or frame, --low-latency is --latency frame, and a config file's cadence yields to the command line's", async () => {
  assertEquals(parseCliOptions(["x"]).latency, 500);
  assertEquals(parseCliOptions(["--latency", "250ms", "x"]).latency, 250);
  assertEquals(parseCliOptions(["--latency", "0.5", "x"]).latency, 500);
  assertEquals(parseCliOptions(["--latency", "frame", "x"]).latency, "frame");
  assertEquals(parseCliOptions(["--low-latency", "x"]).latency, "frame");
  for (const bad of [["--latency", "2ms"], ["--latency", "11s"], ["--latency", "soon"]]) {
    assertThrows(() => parseCliOptions([...bad, "x"]), UsageError, "--latency");
  }
  assertThrows(
    () => parseCliOptions(["--low-latency", "--latency", "1s", "x"]),
    UsageError,
    "give one",
  );
  const file = await Deno.makeTempFile({ suffix: ".json" });
  try {
    await Deno.writeTextFile(file, JSON.stringify({ "low-latency": true }));
    const args = await applyConfigFile(["--config", file, "--latency", "250ms", "x"]);
    assertEquals(parseCliOptions(args).latency, 250);
    assertEquals(parseCliOptions(await applyConfigFile(["--config", file, "x"])).latency, "frame");
  } finally {
    await Deno.remove(file);
  }
});
