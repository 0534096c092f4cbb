import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertStrictEquals,
  assertThrows,
} from "@std/assert";
import { EbmlParser } from "../lib/ebml/ebml_parser.ts";
import { type EbmlEvent, EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import { ID } from "../lib/ebml/ids.ts";
import { UNKNOWN_SIZE } from "../lib/ebml/vint.ts";
import { byteChunks, FIXTURES, parseChunks, plain, randomChunks, readFixture } from "./_util.ts";

const EBML_HEADER = [0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, 0x77]; // DocType "w"
const SEGMENT_UNKNOWN = [
  0x18,
  0x53,
  0x80,
  0x67,
  0x01,
  0xFF,
  0xFF,
  0xFF,
  0xFF,
  0xFF,
  0xFF,
  0xFF,
];
const CLUSTER_UNKNOWN = [0x1F, 0x43, 0xB6, 0x75, 0xFF];
const TIMESTAMP_0 = [0xE7, 0x81, 0x00];
const SIMPLE_BLOCK = [0xA3, 0x85, 0x81, 0x00, 0x00, 0x80, 0xAB];

function collect(
  bytes: number[] | Uint8Array,
  options?: ConstructorParameters<typeof EbmlReader>[0],
) {
  const reader = new EbmlReader(options);
  const events: EbmlEvent[] = [];
  reader.push(
    bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes),
    (e) => events.push(e),
  );
  reader.end((e) => events.push(e));
  return events;
}

function shape(events: EbmlEvent[]): string[] {
  return events.map((e) => `${e.type} 0x${e.id.toString(16)}@${e.offset}`);
}

for (const name of FIXTURES) {
  Deno.test(`EbmlParser emits identical events for ${name} whole, byte by byte and in random chunks`, async () => {
    const bytes = await readFixture(name);
    const whole = parseChunks([bytes]);
    assertEquals(whole.error, undefined);
    assertGreater(whole.events.length, 100);
    const bytewise = parseChunks(byteChunks(bytes));
    assertEquals(bytewise.error, undefined);
    assertEquals(bytewise.events, whole.events);
    for (const seed of [1, 2, 3]) {
      const random = parseChunks(randomChunks(bytes, seed, seed * 700));
      assertEquals(random.error, undefined);
      assertEquals(random.events, whole.events, `seed ${seed}`);
    }
  });
}

Deno.test("EbmlParser as a TransformStream emits the same events as EbmlReader, a batch per chunk", async () => {
  const bytes = await readFixture("sample.webm");
  const chunks = randomChunks(bytes, 9);
  const parser = new EbmlParser();
  const batches = await Array.fromAsync(ReadableStream.from(chunks).pipeThrough(parser));
  assertEquals(batches.flatMap((b) => b.events).map(plain), parseChunks([bytes]).events);
  // At most one batch per chunk, plus the one made at the end; none empty but that one.
  assert(batches.length <= chunks.length + 1);
  for (const batch of batches.slice(0, -1)) assertGreater(batch.events.length, 0);
  assertEquals(batches.map((b) => b.error), batches.map(() => undefined));
  assertEquals(batches[batches.length - 1].ended, true);
  assertEquals(parser.offset, bytes.length);
});

Deno.test("EbmlReader delivers payloads as views of the input chunk, not copies", async () => {
  const bytes = await readFixture("sample.webm");
  const reader = new EbmlReader();
  let views = 0;
  reader.push(bytes, (e) => {
    if (e.type === "element") {
      assertStrictEquals(e.data.buffer, bytes.buffer);
      assertEquals(e.data.byteOffset, e.offset + e.headerSize);
      views++;
    }
  });
  assertGreater(views, 700);
});

Deno.test("EbmlReader copies a payload that spans chunks once, into an array of its size", () => {
  const reader = new EbmlReader();
  const events: EbmlEvent[] = [];
  const payload = Array.from({ length: 300 }, (_, i) => i & 0xff);
  const element = [0x1A, 0x45, 0xDF, 0xA3, 0x41, 0x2C, ...payload]; // size 300
  reader.push(new Uint8Array(element.slice(0, 3)), (e) => events.push(e));
  reader.push(new Uint8Array(element.slice(3, 100)), (e) => events.push(e));
  reader.push(new Uint8Array(element.slice(100)), (e) => events.push(e));
  assertEquals(events.length, 1);
  const event = events[0];
  assert(event.type === "element");
  assertEquals(event.data.byteLength, 300);
  assertEquals(event.data.buffer.byteLength, 300);
  assertEquals(Array.from(event.data), payload);
});

Deno.test("EbmlParser ends unknown-size Clusters where the next Cluster begins (RFC 8794 6.2)", async () => {
  const bytes = await readFixture("unknown_size.webm");
  const { events } = parseChunks(randomChunks(bytes, 5));
  const clusters = events.filter((e) => e.id === ID.Cluster);
  const starts = clusters.filter((e) => e.type === "start");
  assertGreater(starts.length, 1);
  for (const s of starts) assertEquals(s.size, UNKNOWN_SIZE);
  // Every Cluster ends exactly where the next Cluster begins; the last one where the (skipped)
  // Cues begin, before the Segment's end.
  let ends = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e.type !== "end" || e.id !== ID.Cluster) continue;
    ends++;
    const next = events[i + 1];
    assert(next, "a Cluster end is followed by something");
    if (next.id === ID.Cluster) assertEquals(next.offset, e.offset);
    else {assert(
        next.id === ID.Segment && next.type === "end" &&
          next.offset >= e.offset,
      );}
  }
  assertEquals(ends, starts.length);
  const segment = events.filter((e) => e.id === ID.Segment);
  assertEquals(segment.map((e) => e.type), ["start", "end"]);
  assertEquals(segment[0].size, UNKNOWN_SIZE);
});

Deno.test("EbmlParser ends an unknown-size Segment and Cluster where a new EBML header begins", () => {
  const doc = [
    ...EBML_HEADER,
    ...SEGMENT_UNKNOWN,
    ...CLUSTER_UNKNOWN,
    ...TIMESTAMP_0,
    ...SIMPLE_BLOCK,
  ];
  const events = collect([...doc, ...doc]);
  const n = doc.length;
  assertEquals(shape(events), [
    "element 0x1a45dfa3@0",
    "start 0x18538067@9",
    "start 0x1f43b675@21",
    "element 0xe7@26",
    "element 0xa3@29",
    `end 0x1f43b675@${n}`,
    `end 0x18538067@${n}`,
    `element 0x1a45dfa3@${n}`,
    `start 0x18538067@${n + 9}`,
    `start 0x1f43b675@${n + 21}`,
    `element 0xe7@${n + 26}`,
    `element 0xa3@${n + 29}`,
    `end 0x1f43b675@${2 * n}`,
    `end 0x18538067@${2 * n}`,
  ]);
});

Deno.test("EbmlParser skips unknown IDs, Void and CRC-32 without emitting them", () => {
  const unknown = [0x4F, 0xFF, 0x83, 1, 2, 3]; // an ID no schema knows, 3 bytes
  const voidEl = [0xEC, 0x82, 0, 0];
  const crc = [0xBF, 0x84, 1, 2, 3, 4];
  const events = collect([
    ...EBML_HEADER,
    ...SEGMENT_UNKNOWN,
    ...voidEl,
    ...CLUSTER_UNKNOWN,
    ...crc,
    ...unknown,
    ...TIMESTAMP_0,
  ]);
  assertEquals(events.map((e) => e.id), [
    ID.EBML,
    ID.Segment,
    ID.Cluster,
    ID.Timestamp,
    ID.Cluster,
    ID.Segment,
  ]);
});

Deno.test("EbmlParser closes known-size masters at their size", () => {
  // Cluster of known size 3 holding a Timestamp, then a top-level element after the Segment.
  const events = collect([
    ...EBML_HEADER,
    0x18,
    0x53,
    0x80,
    0x67,
    0x88,
    0x1F,
    0x43,
    0xB6,
    0x75,
    0x83,
    ...TIMESTAMP_0,
  ]);
  assertEquals(shape(events), [
    "element 0x1a45dfa3@0",
    "start 0x18538067@9",
    "start 0x1f43b675@14",
    "element 0xe7@19",
    "end 0x1f43b675@22",
    "end 0x18538067@22",
  ]);
});

Deno.test("EbmlParser refuses an element larger than the cap with RangeError", () => {
  // A SimpleBlock claiming 2^50 bytes.
  const huge = [0xA3, 0x01, 0x04, 0, 0, 0, 0, 0, 0];
  const reader = new EbmlReader({ maxElementSize: 1024 });
  const prefix = [...EBML_HEADER, ...SEGMENT_UNKNOWN, ...CLUSTER_UNKNOWN];
  assertThrows(
    () => reader.push(new Uint8Array([...prefix, ...huge]), () => {}),
    RangeError,
    "too large to buffer",
  );
});

Deno.test("EbmlParser throws EbmlSyntaxError with the offset for a 0x00 ID byte", () => {
  const reader = new EbmlReader();
  const error = assertThrows(
    () => reader.push(new Uint8Array([...EBML_HEADER, 0x00, 0x81]), () => {}),
    EbmlSyntaxError,
  );
  assertEquals(error.offset, EBML_HEADER.length);
});

Deno.test("EbmlParser throws EbmlSyntaxError for a child that overruns its parent", () => {
  const reader = new EbmlReader();
  const bytes = [...EBML_HEADER, 0x18, 0x53, 0x80, 0x67, 0x82, ...TIMESTAMP_0];
  const error = assertThrows(
    () => reader.push(new Uint8Array(bytes), () => {}),
    EbmlSyntaxError,
    "overruns",
  );
  assertEquals(error.offset, 14);
});

Deno.test("EbmlParser refuses an unknown size on an element that cannot have one", () => {
  const reader = new EbmlReader();
  assertThrows(
    () =>
      reader.push(
        new Uint8Array([
          ...EBML_HEADER,
          ...SEGMENT_UNKNOWN,
          0x16,
          0x54,
          0xAE,
          0x6B,
          0xFF,
        ]),
        () => {},
      ),
    EbmlSyntaxError,
    "unknown size",
  );
});

Deno.test("EbmlParser reports truncated input at the end with EbmlSyntaxError", async () => {
  const bytes = await readFixture("truncated.webm");
  const { events, error } = parseChunks(randomChunks(bytes, 4));
  assertInstanceOf(error, EbmlSyntaxError);
  assertGreater(events.length, 300); // everything before the cut was delivered
  const whole = parseChunks([bytes]);
  assertEquals(whole.events, events);
  assertEquals(
    (whole.error as EbmlSyntaxError).offset,
    (error as EbmlSyntaxError).offset,
  );
});

Deno.test("EbmlParser delivers every event before a truncation, then the error in-band", async () => {
  const bytes = await readFixture("truncated.webm");
  const expected = parseChunks([bytes]);
  const stream = ReadableStream.from(randomChunks(bytes, 3)).pipeThrough(new EbmlParser());
  // The stream closes normally: reading it does not throw, and nothing queued is lost.
  const batches = await Array.fromAsync(stream);
  assertEquals(batches.flatMap((b) => b.events).map(plain), expected.events);
  const last = batches[batches.length - 1];
  assertEquals(last.ended, true);
  assertInstanceOf(last.error, EbmlSyntaxError);
  assertEquals(last.error.offset, (expected.error as EbmlSyntaxError).offset);
  for (const batch of batches.slice(0, -1)) assertEquals(batch.error, undefined);
});

Deno.test("EbmlParser ends with the events before malformed bytes and the error, and cancels the source", async () => {
  const good = [...EBML_HEADER, ...SEGMENT_UNKNOWN, ...CLUSTER_UNKNOWN, ...TIMESTAMP_0];
  const chunks = [new Uint8Array(good), new Uint8Array([...SIMPLE_BLOCK, 0x00, 0xEC])];
  let cancelled = false;
  let pulls = 0;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      // A third chunk is there to be read: the parser must not ask for it after the fault.
      controller.enqueue(pulls < 2 ? chunks[pulls] : new Uint8Array(good));
      pulls++;
    },
    cancel() {
      cancelled = true;
    },
  }, { highWaterMark: 0 });
  const batches = await Array.fromAsync(source.pipeThrough(new EbmlParser()));
  const last = batches[batches.length - 1];
  assertInstanceOf(last.error, EbmlSyntaxError);
  assertEquals(last.error.offset, good.length + SIMPLE_BLOCK.length);
  assertEquals(last.ended, undefined);
  assertEquals(
    shape(batches.flatMap((b) => b.events)),
    shape(collect([...good, ...SIMPLE_BLOCK])).filter((e) => !e.startsWith("end")),
  );
  assertEquals(cancelled, true);
  assertEquals(pulls, 2);
});

Deno.test("EbmlReader with inParts gives a spanning payload as views of the chunks, not a copy", () => {
  const reader = new EbmlReader({ inParts: new Set([ID.SimpleBlock]) });
  const events: EbmlEvent[] = [];
  const payload = Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
  // A SimpleBlock of 300 bytes (0xA3, size 0x412C) in three chunks, then a Void of 2 (skipped)
  // and a second SimpleBlock whole in the last chunk.
  const element = [0xA3, 0x41, 0x2C, ...payload];
  const chunks = [
    new Uint8Array(element.slice(0, 2)),
    new Uint8Array(element.slice(2, 100)),
    new Uint8Array(element.slice(100, 250)),
    new Uint8Array([...element.slice(250), 0xEC, 0x82, 0, 0, 0xA3, 0x83, 1, 2, 3]),
  ];
  for (const chunk of chunks) reader.push(chunk, (e) => events.push(e));
  reader.end(() => {});
  assertEquals(events.length, 2);
  const [spanning, whole] = events;
  assert(spanning.type === "element" && whole.type === "element");
  const pieces = [spanning.data, ...spanning.more ?? []];
  assertEquals(pieces.map((p) => p.length), [97, 150, 53]);
  // Each piece is a view of the chunk it came in.
  assertEquals(pieces.map((p) => p.buffer), chunks.slice(1).map((c) => c.buffer));
  assertEquals(pieces.flatMap((p) => Array.from(p)), payload);
  assertEquals(spanning.offset, 0);
  assertEquals(spanning.headerSize, 3);
  // In one chunk: a plain view, no `more`.
  assertEquals([Array.from(whole.data), whole.more], [[1, 2, 3], undefined]);
  assertStrictEquals(whole.data.buffer, chunks[3].buffer);
});

Deno.test("EbmlReader with inParts gives the same payloads as without, in any chunking", async () => {
  const joined = (e: EbmlEvent) =>
    e.type === "element" ? [e.id, e.offset, [e.data, ...e.more ?? []].flatMap((p) => [...p])] : [
      e.type,
      e.id,
      e.offset,
    ];
  const inParts = new Set([ID.SimpleBlock, ID.BlockGroup, ID.Timestamp]);
  for (const name of FIXTURES) {
    const bytes = await readFixture(name);
    const whole: unknown[] = [];
    const reader = new EbmlReader();
    reader.push(bytes, (e) => whole.push(joined(e)));
    reader.end((e) => whole.push(joined(e)));
    for (const seed of [1, 2]) {
      const got: unknown[] = [];
      let pieces = 0;
      const r = new EbmlReader({ inParts });
      const emit = (e: EbmlEvent) => {
        if (e.type === "element" && e.more) pieces += e.more.length;
        got.push(joined(e));
      };
      for (const chunk of randomChunks(bytes, seed, 700)) r.push(chunk, emit);
      r.end(emit);
      assertEquals(got, whole, `${name}, seed ${seed}`);
      assertGreater(pieces, 0, name);
    }
  }
});

Deno.test("EbmlReader with inParts reports input that ends inside a payload in pieces", () => {
  const reader = new EbmlReader({ inParts: new Set([ID.SimpleBlock]) });
  reader.push(new Uint8Array([0xA3, 0x88, 1, 2, 3]), () => {});
  reader.push(new Uint8Array([4, 5]), () => {});
  const error = assertThrows(() => reader.end(() => {}), EbmlSyntaxError);
  assertEquals(
    error.message,
    "Input ends inside element 0xA3: 5 of 8 payload bytes received (at byte 0)",
  );
});
