import { assert, assertEquals, assertStrictEquals, assertThrows } from "@std/assert";
import type { OutputCluster } from "../lib/matroska/gop_segmenter.ts";
import { GopRing } from "../lib/stream/gop_ring.ts";
import type { WireFormat } from "../lib/stream/wire_format.ts";

/** A wire form with a one-byte length before and `0xFF` after. */
const TAGGED: WireFormat = {
  prefix: (length) => new Uint8Array([0xF0, length]),
  suffix: new Uint8Array([0xFF]),
};

function cluster(time: number, keyframe: boolean, size = 100): OutputCluster {
  return {
    time,
    keyframe,
    parts: [new Uint8Array(size).fill(time & 0xff)],
    byteLength: size,
    blocks: 1,
  };
}

Deno.test("GopRing starts a GOP at each keyframe Cluster and extends the newest otherwise", () => {
  const ring = new GopRing();
  assertEquals(ring.append(cluster(0, false)), false); // nothing to extend yet
  ring.append(cluster(0, true));
  ring.append(cluster(1000, false));
  ring.append(cluster(2000, true));
  assertEquals(ring.gops.length, 2);
  assertEquals(ring.gops[0].clusters.length, 2);
  assert(ring.gops[0].complete);
  assert(!ring.gops[1].complete);
  assertStrictEquals(ring.after(ring.gops[0]), ring.gops[1]);
  assertEquals(ring.after(ring.gops[1]), undefined);
});

Deno.test("GopRing joins a Cluster's parts into one array once", () => {
  const ring = new GopRing();
  ring.append({
    time: 0,
    keyframe: true,
    parts: [new Uint8Array([1, 2]), new Uint8Array([3])],
    byteLength: 3,
    blocks: 1,
  });
  assertEquals(Array.from(ring.newest!.clusters[0]), [1, 2, 3]);
});

Deno.test("GopRing with a wire form joins each Cluster once into it, the payload a view inside", () => {
  const ring = new GopRing({ wire: TAGGED });
  ring.append({
    time: 0,
    keyframe: true,
    parts: [new Uint8Array([1, 2]), new Uint8Array([3])],
    byteLength: 3,
    blocks: 1,
  });
  const gop = ring.newest!;
  assertStrictEquals(ring.wire, TAGGED);
  assertEquals(Array.from(gop.wire(0)), [0xF0, 3, 1, 2, 3, 0xFF]);
  assertEquals(Array.from(gop.cluster(0)), [1, 2, 3]);
  assert(gop.cluster(0).buffer === gop.wire(0).buffer, "one buffer per Cluster");
  assertStrictEquals(gop.wire(0), gop.wire(0));
  assertEquals(gop.clusterCount, 1);
  // The caps and counters are in payload bytes, whatever the wire form adds.
  assertEquals([gop.byteLength, ring.stats.bytes], [3, 3]);
});

Deno.test("GopRing without a wire form gives the payload as the wire view", () => {
  const ring = new GopRing();
  ring.append(cluster(0, true));
  const gop = ring.newest!;
  assertEquals(ring.wire, undefined);
  assertStrictEquals(gop.wire(0), gop.cluster(0));
});

Deno.test("GopRing evicts the oldest GOPs beyond maxGops and maxBytes, never the newest", () => {
  const ring = new GopRing({ maxGops: 3, maxBytes: 1000 });
  for (let i = 0; i < 5; i++) ring.append(cluster(i * 1000, true));
  assertEquals(ring.gops.map((g) => g.time), [2000, 3000, 4000]);
  assertEquals(ring.stats.evictedGops, 2);
  ring.append(cluster(5000, true, 5000)); // one huge GOP: everything else goes, it stays
  assertEquals(ring.gops.map((g) => g.time), [5000]);
  assertEquals(ring.stats.bytes, 5000);
});

Deno.test("GopRing frees an evicted GOP only when the last viewer releases it", () => {
  const ring = new GopRing({ maxGops: 1 });
  ring.append(cluster(0, true));
  const first = ring.newest!;
  first.retain();
  ring.append(cluster(1000, true));
  assert(first.evicted);
  assertEquals(first.clusters.length, 1, "still held by a viewer");
  assertEquals(ring.stats.pinnedBytes, 100);
  first.release();
  assertEquals(first.clusters.length, 0);
  assertEquals(ring.stats.pinnedBytes, 0);
});

Deno.test("GopRing.wait resolves on append and on end; append after end throws", async () => {
  const ring = new GopRing();
  const waiting = ring.wait();
  ring.append(cluster(0, true));
  await waiting;
  const again = ring.wait();
  ring.end();
  await again;
  assert(ring.ended);
  assert(ring.newest!.complete);
  assertThrows(() => ring.append(cluster(1, true)), TypeError);
});

Deno.test("GopRing rejects bad options with TypeError", () => {
  assertThrows(() => new GopRing({ maxGops: 0 }), TypeError);
  assertThrows(() => new GopRing({ maxBytes: -1 }), TypeError);
});

Deno.test("GopRing trims a GOP in progress over the byte cap (a source without keyframes stays bounded)", async () => {
  const { ClientStream } = await import("../lib/stream/client_stream.ts");
  const ring = new GopRing({ maxBytes: 350 });
  ring.append(cluster(0, true));
  const early = new ClientStream(ring, new Uint8Array([0xEE]));
  const reader = early.readable.getReader();
  await reader.read(); // header
  await reader.read(); // the keyframe Cluster
  for (let t = 1; t <= 10; t++) ring.append(cluster(t * 1000, false));
  assert(ring.stats.bytes <= 350, `${ring.stats.bytes} bytes kept`);
  assert(ring.newest!.offset > 0);
  // A new viewer cannot start on a GOP whose keyframe is gone: it waits for the next one.
  const late = new ClientStream(ring, new Uint8Array([0xEE]));
  const lateReader = late.readable.getReader();
  await lateReader.read(); // header
  const lateNext = lateReader.read();
  // The early viewer's next Cluster was trimmed: it waits for the next keyframe too.
  const earlyNext = reader.read();
  ring.append(cluster(20_000, true));
  assertEquals((await lateNext).value?.[0], 20_000 & 0xff);
  assertEquals((await earlyNext).value?.[0], 20_000 & 0xff);
  assertEquals(early.skips, 1);
  await reader.cancel();
  await lateReader.cancel();
});
