// Delivery (fast start, low latency, slow viewers, limits): issue "Delivery".
import { assert, assertEquals, assertGreater, assertThrows } from "@std/assert";
import { EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { readUint } from "../lib/ebml/values.ts";
import { concatBytes } from "../lib/ebml/writer.ts";
import { type Block, readSimpleBlock } from "../lib/matroska/block.ts";
import { parseCliOptions, UsageError } from "../lib/server/cli_options.ts";
import { createHandler } from "../lib/server/handler.ts";
import { serveMount } from "../lib/server/serve.ts";
import { GopRing } from "../lib/stream/gop_ring.ts";
import { Mount } from "../lib/stream/mount.ts";
import { demux, liveMount, readFixture } from "./_util.ts";

/** Reads a stream until its first block; returns that block and when it arrived. */
async function firstBlock(
  response: Response,
): Promise<{ block: Block; at: number }> {
  const reader = new EbmlReader();
  const body = response.body!.getReader();
  let clusterTime = 0;
  let found: Block | undefined;
  try {
    while (!found) {
      const { value } = await body.read();
      if (!value) throw new Error("The stream ended before any block");
      reader.push(value, (e) => {
        if (e.type === "element" && e.id === ID.Timestamp) {
          clusterTime = readUint(e.data);
        }
        if (!found && e.type === "element" && e.id === ID.SimpleBlock) {
          found = readSimpleBlock(e.data, clusterTime);
        }
      });
    }
  } finally {
    await body.cancel();
  }
  return { block: found, at: performance.now() };
}

Deno.test("--max-clients 2: the third viewer gets 503 with Retry-After", async () => {
  const live = await liveMount("sample.webm");
  const handler = createHandler(live.mount, { maxClients: 2 });
  try {
    const a = await handler(new Request("http://x/stream"));
    const b = await handler(new Request("http://x/stream"));
    const c = await handler(new Request("http://x/stream"));
    assertEquals([a.status, b.status, c.status], [200, 200, 503]);
    assertEquals(c.headers.get("retry-after"), "10");
    await c.body?.cancel();
    await a.body?.cancel();
    // A place is free again.
    const d = await handler(new Request("http://x/stream"));
    assertEquals(d.status, 200);
    await b.body?.cancel();
    await d.body?.cancel();
  } finally {
    await live.close();
  }
});

Deno.test("low-latency mode: a viewer joining mid-GOP starts on that GOP's keyframe at once", async () => {
  const live = await liveMount("long_gop.webm", { lowLatency: true });
  const server = serveMount(live.mount, { port: 0, hostname: "127.0.0.1" });
  try {
    await new Promise((r) => setTimeout(r, 1500)); // inside the only (12 s) GOP
    const requested = performance.now();
    const { block, at } = await firstBlock(
      await fetch(`http://127.0.0.1:${server.addr.port}/stream`),
    );
    assertEquals(block.track, 1);
    assert(block.keyframe);
    assertEquals(block.time, live.mount.ring.newest!.time);
    assert(at - requested < 500, `first block after ${at - requested} ms`);
  } finally {
    await live.close();
    await server.shutdown();
  }
});

Deno.test("low-latency mode: each block reaches the ring as it arrives, in Clusters of unknown size", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream", { lowLatency: true });
  mount.setHeader(header);
  const before = mount.ring.stats.clusters;
  mount.pushBlock(blocks.find((b) => b.track === 1 && b.keyframe)!);
  assertEquals(
    mount.ring.stats.clusters,
    before + 1,
    "the keyframe is out before the next block",
  );
  const first = mount.ring.newest!.clusters[0];
  assertEquals(Array.from(first.subarray(0, 5)), [
    0x1F,
    0x43,
    0xB6,
    0x75,
    0xFF,
  ]);
});

Deno.test("a viewer that falls behind skips to the newest keyframe, and its stream still decodes without errors", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream", { maxDuration: 2000 });
  mount.setHeader(header);
  let skips = 0;
  const client = mount.attach({ onSkip: () => skips++ })!;
  const reader = client.readable.getReader();
  const received: Uint8Array[] = [];
  const keyTimes = blocks.filter((b) => b.track === 1 && b.keyframe).map((b) => b.time);
  // The first GOP arrives and the viewer reads it...
  let i = 0;
  for (; blocks[i].time < keyTimes[1] + 100; i++) mount.pushBlock(blocks[i]);
  for (let k = 0; k < 3; k++) received.push((await reader.read()).value!);
  // ...then stops reading while the source runs 6 s ahead: its GOP leaves the 2 s buffer.
  for (; i < blocks.length && blocks[i].time < keyTimes[4]; i++) {
    mount.pushBlock(blocks[i]);
  }
  for (; i < blocks.length; i++) mount.pushBlock(blocks[i]);
  mount.end();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    received.push(value);
  }
  assertEquals(skips, 1);
  const file = await Deno.makeTempFile({ suffix: ".webm" });
  try {
    await Deno.writeFile(file, concatBytes(received));
    const out = await new Deno.Command("ffmpeg", {
      args: ["-v", "error", "-i", file, "-f", "null", "-"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assertEquals(new TextDecoder().decode(out.stderr), "");
    assertEquals(out.code, 0);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("--slow-policy drop: a viewer that falls behind is disconnected with an error", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const mount = new Mount("stream", { maxDuration: 2000, slowPolicy: "drop" });
  mount.setHeader(header);
  let reason = "";
  const client = mount.attach({ onClose: (_, r) => reason = r })!;
  const reader = client.readable.getReader();
  const second = blocks.filter((b) => b.track === 1 && b.keyframe)[1].time;
  const split = blocks.findIndex((b) => b.time > second + 100);
  for (const b of blocks.slice(0, split)) mount.pushBlock(b);
  await reader.read();
  await reader.read();
  for (const b of blocks.slice(split)) mount.pushBlock(b);
  let error: unknown;
  try {
    for (;;) if ((await reader.read()).done) break;
  } catch (e) {
    error = e;
  }
  assert(error instanceof RangeError);
  assertEquals(reason, "drop");
  assertEquals(mount.clients.size, 0);
});

Deno.test("--burst: a viewer starts N GOPs back, or at the newest keyframe at least D seconds back", () => {
  const ring = new GopRing({ maxDuration: 60_000 });
  for (let t = 0; t <= 10_000; t += 2000) {
    ring.append({
      time: t,
      keyframe: true,
      parts: [new Uint8Array(1)],
      byteLength: 1,
      blocks: 1,
    });
  }
  ring.append({
    time: 11_000,
    keyframe: false,
    parts: [new Uint8Array(1)],
    byteLength: 1,
    blocks: 1,
  });
  assertEquals(ring.startFor({ gops: 1 })?.time, 10_000);
  assertEquals(ring.startFor({ gops: 3 })?.time, 6000);
  assertEquals(ring.startFor({ gops: 99 })?.time, 0);
  assertEquals(ring.startFor({ ms: 0 })?.time, 10_000);
  assertEquals(ring.startFor({ ms: 2000 })?.time, 8000); // the live edge is 11 s
  assertEquals(ring.startFor({ ms: 5000 })?.time, 6000);
  assertEquals(ring.startFor({ ms: 60_000 })?.time, 0);
});

Deno.test("--buffer bounds the ring by seconds of media, keeping the GOP in progress", async () => {
  const live = await liveMount("sample.webm", { maxDuration: 3000, realtime: false });
  try {
    await live.close();
    // 2 s GOPs: the GOPs kept cover at least 3 s, and no more than one GOP beyond that.
    const ring = live.mount.ring;
    assertGreater(ring.duration, 3000 - 2100);
    assert(ring.gops.length <= 3, `${ring.gops.length} GOPs kept`);
    assertGreater(ring.stats.evictedGops, 0);
  } finally {
    await live.close();
  }
});

Deno.test("delivery flags parse, and bad values are usage errors", () => {
  const o = parseCliOptions([
    "--burst",
    "2s",
    "--buffer",
    "5s,8MiB",
    "--slow-policy",
    "drop",
    "--max-clients",
    "3",
    "--low-latency",
    "x.webm",
  ]);
  assertEquals(o.burst, { ms: 2000 });
  assertEquals([o.bufferMs, o.bufferBytes], [5000, 8 * 1024 * 1024]);
  assertEquals([o.slowPolicy, o.maxClients, o.lowLatency], ["drop", 3, true]);
  assertEquals(parseCliOptions(["--burst", "3", "x"]).burst, { gops: 3 });
  assertEquals(parseCliOptions(["http://h/s"]).reconnect, true);
  assertEquals(parseCliOptions(["--no-reconnect", "http://h/s"]).reconnect, false);
  assertEquals(parseCliOptions(["x"]).burst, { gops: 1 });
  for (
    const bad of [["--burst", "0"], ["--burst", "soon"], ["--buffer", "lots"], [
      "--slow-policy",
      "wait",
    ], ["--max-clients=-1"]]
  ) {
    assertThrows(
      () => parseCliOptions([...bad, "x"]),
      UsageError,
      bad[0].split("=")[0],
    );
  }
});
