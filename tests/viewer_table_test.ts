import { assertEquals, assertStrictEquals } from "@std/assert";
import type { OutputCluster } from "../lib/matroska/gop_segmenter.ts";
import { GopRing } from "../lib/stream/gop_ring.ts";
import { ViewerTable } from "../lib/stream/viewer_table.ts";

const HEADER = new Uint8Array(10);

function cluster(time: number, size = 100): OutputCluster {
  return { time, keyframe: true, parts: [new Uint8Array(size)], byteLength: size, blocks: 1 };
}

Deno.test("ViewerTable lists viewers oldest first with the ids it is given, and finds them", () => {
  let next = 40;
  const table = new ViewerTable(() => next++);
  const ring = new GopRing();
  const a = table.attach(ring, HEADER, { address: "192.0.2.1:1000" });
  const b = table.attach(ring, HEADER);
  assertEquals(table.viewers().map((v) => [v.id, v.address]), [
    [40, "192.0.2.1:1000"],
    [41, "unknown"],
  ]);
  assertEquals(table.viewers(1).length, 1);
  assertEquals([table.idOf(a), table.idOf(b)], [40, 41]);
  assertStrictEquals(table.find(41), b);
  assertEquals(table.find(42), undefined);
  assertEquals([...table.clients.keys()], [a, b]);
});

Deno.test("ViewerTable drops a viewer when its stream closes, keeping its bytes in the total", async () => {
  const table = new ViewerTable();
  const ring = new GopRing();
  ring.append(cluster(0));
  let reason = "";
  const gone = table.attach(ring, HEADER, { onClose: (_, r) => reason = r });
  const staying = table.attach(ring, HEADER);
  assertEquals([gone.next(), gone.next()].map((c) => (c as Uint8Array).length), [10, 100]);
  staying.next();
  assertEquals(table.bytesOut(), 120);
  gone.cancel();
  assertEquals(reason, "cancel", "the viewer's own callback runs too");
  assertEquals(table.size, 1);
  assertEquals(table.idOf(gone), undefined);
  assertEquals(table.bytesOut(), 120);
  ring.end();
  await Array.fromAsync(staying.readable); // the rest: one more Cluster, then the end
  assertEquals(table.size, 0);
  assertEquals(table.bytesOut(), 220);
});

Deno.test("ViewerTable counts the skips of every viewer, gone or connected", () => {
  const table = new ViewerTable();
  const ring = new GopRing({ maxGops: 1 });
  ring.append(cluster(0));
  let skipped = 0;
  const client = table.attach(ring, HEADER, { onSkip: () => skipped++ });
  client.next();
  client.next(); // holds the first GOP
  ring.append(cluster(1000)); // evicts it
  client.next(); // jumps to the newest
  assertEquals([table.skips, skipped], [1, 1]);
  client.close();
  assertEquals(table.skips, 1);
});
