import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import type { OutputCluster } from "../lib/matroska/gop_segmenter.ts";
import { ClientStream } from "../lib/stream/client_stream.ts";
import { GopRing } from "../lib/stream/gop_ring.ts";
import type { WireFormat } from "../lib/stream/wire_format.ts";

/** A wire form with a one-byte length before and `0xFF` after. */
const TAGGED: WireFormat = {
  prefix: (length) => new Uint8Array([0xF0, length]),
  suffix: new Uint8Array([0xFF]),
};

const HEADER = new Uint8Array([0xEE]);

function cluster(id: number, keyframe: boolean): OutputCluster {
  return {
    time: id,
    keyframe,
    parts: [new Uint8Array([id])],
    byteLength: 1,
    blocks: 1,
  };
}

async function readN(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  n: number,
): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const { value, done } = await reader.read();
    if (done) break;
    out.push(value[0]);
  }
  return out;
}

Deno.test("ClientStream sends the header, then starts at the newest keyframe and follows live", async () => {
  const ring = new GopRing();
  ring.append(cluster(1, true));
  ring.append(cluster(2, false));
  ring.append(cluster(3, true));
  ring.append(cluster(4, false));
  const client = new ClientStream(ring, HEADER);
  const reader = client.readable.getReader();
  assertEquals(await readN(reader, 3), [0xEE, 3, 4]);
  const next = reader.read(); // waits at the live edge
  ring.append(cluster(5, false));
  assertEquals((await next).value?.[0], 5);
  ring.append(cluster(6, true));
  ring.end();
  assertEquals(await readN(reader, 10), [6]);
  assert(client.closed);
  assertEquals(client.bytesSent, 5);
});

Deno.test("ClientStream waits for the first GOP when it joins before any", async () => {
  const ring = new GopRing();
  const client = new ClientStream(ring, HEADER);
  const reader = client.readable.getReader();
  assertEquals(await readN(reader, 1), [0xEE]);
  const pending = reader.read();
  ring.append(cluster(7, true));
  assertEquals((await pending).value?.[0], 7);
  await reader.cancel();
});

Deno.test("ClientStream that joined an empty ring gets every GOP appended after it joined", async () => {
  const ring = new GopRing();
  const client = new ClientStream(ring, HEADER);
  const reader = client.readable.getReader();
  assertEquals(await readN(reader, 1), [0xEE]);
  const next = reader.read();
  // A burst: several GOPs arrive before the viewer's pull runs again.
  ring.append(cluster(1, true));
  ring.append(cluster(2, true));
  ring.append(cluster(3, false));
  ring.end();
  assertEquals((await next).value?.[0], 1);
  assertEquals(await readN(reader, 10), [2, 3]);
});

Deno.test("ClientStream jumps to the newest keyframe when its GOP was evicted, and counts the skip", async () => {
  const ring = new GopRing({ maxGops: 2 });
  ring.append(cluster(1, true));
  let skips = 0;
  const client = new ClientStream(ring, HEADER, { onSkip: () => skips++ });
  const reader = client.readable.getReader();
  assertEquals(await readN(reader, 2), [0xEE, 1]);
  // The viewer stops reading while three GOPs go by: its GOP leaves the ring.
  for (let i = 2; i <= 4; i++) ring.append(cluster(i * 10, true));
  ring.append(cluster(41, false));
  assertEquals(await readN(reader, 2), [40, 41]);
  assertEquals(skips, 1);
  assertEquals(client.skips, 1);
  await reader.cancel();
});

Deno.test("ClientStream holds at most one GOP while stalled and releases it on cancel", async () => {
  const ring = new GopRing({ maxGops: 2 });
  ring.append(cluster(1, true));
  let closed = "";
  const client = new ClientStream(ring, HEADER, {
    onClose: (_, reason) => closed = reason,
  });
  const reader = client.readable.getReader();
  await readN(reader, 2);
  const held = ring.newest!;
  assertEquals(held.refs, 1);
  for (let i = 2; i <= 6; i++) ring.append(cluster(i * 10, true));
  assertEquals(ring.gops.length, 2);
  assertEquals(ring.stats.pinnedBytes, 1); // the stalled viewer's one GOP
  await reader.cancel();
  assertEquals(closed, "cancel");
  assertEquals(held.refs, 0);
  assertEquals(ring.stats.pinnedBytes, 0);
  assertEquals(held.clusters.length, 0);
});

Deno.test("ClientStream.close ends the viewer's stream from the server side", async () => {
  const ring = new GopRing();
  ring.append(cluster(1, true));
  const client = new ClientStream(ring, HEADER);
  const reader = client.readable.getReader();
  await readN(reader, 2);
  client.close();
  assertEquals((await reader.read()).done, true);
  assertEquals(ring.newest!.refs, 0);
});

Deno.test("ClientStream created on an empty ring gets every GOP, however late it first reads", async () => {
  const ring = new GopRing();
  const client = new ClientStream(ring, HEADER);
  ring.append(cluster(1, true));
  ring.append(cluster(2, true));
  ring.append(cluster(3, true));
  ring.end();
  assertEquals(await readN(client.readable.getReader(), 10), [0xEE, 1, 2, 3]);
});

Deno.test("ClientStream in the ring's wire form hands every viewer the ring's own buffers, and counts payload bytes", async () => {
  const ring = new GopRing({ wire: TAGGED });
  ring.append(cluster(1, true));
  ring.append(cluster(2, false));
  ring.end();
  const gop = ring.newest!;
  for (let viewer = 0; viewer < 2; viewer++) {
    const client = new ClientStream(ring, HEADER, { wire: TAGGED });
    const chunks = await Array.fromAsync(client.readable);
    assertEquals(Array.from(chunks[0]), [0xF0, 1, 0xEE, 0xFF], "the header in the wire form");
    // No copy per viewer: the very arrays the ring holds, one write per Cluster.
    assertStrictEquals(chunks[1], gop.wire(0));
    assertStrictEquals(chunks[2], gop.wire(1));
    assertEquals(client.bytesSent, 3, "the header and two 1-byte Clusters, without the framing");
  }
  const plain = new ClientStream(ring, HEADER);
  const chunks = await Array.fromAsync(plain.readable);
  assertStrictEquals(chunks[1], gop.cluster(0));
  assertEquals(plain.bytesSent, 3);
});

Deno.test("ClientStream in a wire form the ring does not hold frames a copy of each chunk", async () => {
  const ring = new GopRing();
  ring.append(cluster(5, true));
  ring.end();
  const client = new ClientStream(ring, HEADER, { wire: TAGGED });
  const chunks = await Array.fromAsync(client.readable);
  assertEquals(chunks.map((c) => Array.from(c)), [[0xF0, 1, 0xEE, 0xFF], [0xF0, 1, 5, 0xFF]]);
  assertEquals(client.bytesSent, 2);
});

/** A lead-in that hands out `chunks`, then the ring from GOP `continueAt`. */
class FakeLeadIn {
  cancelled = false;
  #chunks: Uint8Array[][];
  constructor(chunks: number[], readonly continueAt: number) {
    this.#chunks = chunks.map((n) => [new Uint8Array([n])]);
  }
  next(): Promise<Uint8Array[] | null> {
    return Promise.resolve(this.#chunks.shift() ?? null);
  }
  cancel(): void {
    this.cancelled = true;
  }
}

Deno.test("ClientStream with a lead-in sends the header, the lead-in, then the ring from its GOP", async () => {
  const ring = new GopRing();
  for (const [id, key] of [[1, true], [2, false], [3, true], [4, false], [5, true]] as const) {
    ring.append(cluster(id, key));
  }
  const seqOf3 = ring.gops[1].seq;
  const leadIn = new FakeLeadIn([0xA1, 0xA2], seqOf3);
  const client = new ClientStream(ring, HEADER, { leadIn });
  ring.end();
  const chunks = await Array.fromAsync(client.readable);
  assertEquals(chunks.map((c) => c[0]), [0xEE, 0xA1, 0xA2, 3, 4, 5]);
  assertEquals(client.bytesSent, 6);
  assertEquals(leadIn.cancelled, false);
});

Deno.test("ClientStream frames a lead-in's chunks in its wire form, and cancels the lead-in when the viewer leaves", async () => {
  const ring = new GopRing({ wire: TAGGED });
  ring.append(cluster(1, true));
  const leadIn = new FakeLeadIn([0xA1, 0xA2], ring.nextSeq);
  const client = new ClientStream(ring, HEADER, { leadIn, wire: TAGGED });
  assertEquals(Array.from(client.next() as Uint8Array), [0xF0, 1, 0xEE, 0xFF]);
  assertEquals(Array.from((await client.next())!), [0xF0, 1, 0xA1, 0xFF]);
  client.cancel();
  assertEquals(leadIn.cancelled, true);
  assertEquals(await client.next(), null);
});

Deno.test("GopRing.startFor({ seq }) starts at that GOP, and GOPs keep the wall time they were given", () => {
  const ring = new GopRing();
  ring.append(cluster(1, true), 1000);
  ring.append(cluster(2, true), 2000);
  ring.append(cluster(3, false));
  assertEquals(ring.startFor({ seq: ring.gops[0].seq })?.time, 1);
  assertEquals(ring.startFor({ seq: ring.gops[1].seq })?.time, 2);
  assertEquals(ring.startFor({ seq: ring.nextSeq }), undefined); // not there yet: wait
  assertEquals(ring.gops.map((g) => g.wallTime), [1000, 2000]);
  assertEquals(ring.liveTime, 3);
});
