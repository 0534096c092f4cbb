// IngestWriter: the pipeline's sink into a mount, and what it does with in-band faults.
import { assertEquals, assertInstanceOf, assertRejects } from "@std/assert";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import { IngestWriter } from "../lib/ingest/ingest_writer.ts";
import type { MatroskaEvent } from "../lib/matroska/matroska_demuxer.ts";
import type { IngestSink } from "../lib/stream/mount_registry.ts";
import { demux, readFixture, recorder } from "./_util.ts";

function sink(calls: string[]): IngestSink {
  return {
    setHeader: () => calls.push("header"),
    pushBlock: (b) => calls.push(`block ${b.time}`),
    countBytesIn: () => calls.push("bytes"),
    endCluster: () => calls.push("clusterEnd"),
  };
}

Deno.test("IngestWriter hands header, blocks and Cluster ends to the sink in order, and logs the header", async () => {
  const { header, blocks } = demux(await readFixture("sample.webm"));
  const events: MatroskaEvent[] = [
    { type: "header", header },
    { type: "block", block: blocks[0] },
    { type: "clusterEnd" },
    { type: "block", block: blocks[1] },
  ];
  const calls: string[] = [];
  const { log, lines } = recorder();
  const writer = new IngestWriter(sink(calls), log);
  await ReadableStream.from([{ events }]).pipeTo(writer);
  assertEquals(calls, [
    "header",
    `block ${blocks[0].time}`,
    "clusterEnd",
    `block ${blocks[1].time}`,
  ]);
  assertEquals(writer.blocks, 2);
  assertEquals(writer.headerSeen, true);
  assertEquals(lines, ["info Stream header: webm, tracks: 1 video V_VP8; 2 audio A_OPUS"]);
});

Deno.test("IngestWriter keeps a truncation found at the end for takeTruncated, once", async () => {
  const cut = new EbmlSyntaxError("Input ends inside element 0xA3", 7);
  const writer = new IngestWriter(sink([]));
  await ReadableStream.from([{ events: [], error: cut, ended: true }]).pipeTo(writer, {
    preventClose: true,
  });
  assertEquals(writer.error, undefined);
  assertEquals(writer.takeTruncated(), cut);
  assertEquals(writer.takeTruncated(), undefined);
  await writer.close();
});

Deno.test("IngestWriter keeps and throws any other fault, after the events before it", async () => {
  const { blocks } = demux(await readFixture("sample.webm"));
  const calls: string[] = [];
  const writer = new IngestWriter(sink(calls));
  const bad = new EbmlSyntaxError("Invalid element ID: first byte is 0x00", 12);
  const w = writer.getWriter();
  await assertRejects(() => w.write({ events: [{ type: "block", block: blocks[0] }], error: bad }));
  assertEquals(calls, [`block ${blocks[0].time}`]);
  assertEquals(writer.error, bad);
  assertEquals(writer.takeTruncated(), undefined);
});

Deno.test("IngestWriter keeps a fault of the sink itself", async () => {
  const { blocks } = demux(await readFixture("sample.webm"));
  const refusing: IngestSink = {
    setHeader() {},
    pushBlock() {
      throw new RangeError("Mount is full");
    },
    countBytesIn() {},
  };
  const writer = new IngestWriter(refusing);
  await ReadableStream.from([{ events: [{ type: "block" as const, block: blocks[0] }] }])
    .pipeTo(writer).catch(() => {});
  assertInstanceOf(writer.error, RangeError);
});
