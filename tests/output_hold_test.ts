import { assertEquals } from "@std/assert";
import { ID } from "../lib/ebml/ids.ts";
import { concatBytes, writeId } from "../lib/ebml/writer.ts";
import { OutputHold } from "../lib/ingest/_output_hold.ts";
import { byteChunks, randomChunks } from "./_util.ts";

const TRACKS = writeId(ID.Tracks);

/** Pushes `chunks` until the hold is due; how many bytes it had then, and what it released. */
function holdUntilDue(
  chunks: Uint8Array[],
  limit: number,
): { due: number | undefined; released: Uint8Array } {
  const hold = new OutputHold(TRACKS, limit);
  let bytes = 0;
  for (const chunk of chunks) {
    bytes += chunk.length;
    if (hold.push(chunk)) return { due: bytes, released: hold.release() };
  }
  return { due: undefined, released: hold.release() };
}

/** Every way of cutting `bytes` that STYLE.md asks for: whole, one byte at a time, random. */
function cuts(bytes: Uint8Array): [string, Uint8Array[]][] {
  return [
    ["whole", [bytes]],
    ["one byte at a time", byteChunks(bytes)],
    ...[1, 2, 3].map((seed): [string, Uint8Array[]] => [
      `random chunks (seed ${seed})`,
      randomChunks(bytes, seed, 7),
    ]),
  ];
}

Deno.test("OutputHold's needle is the 4-byte Tracks ID", () => {
  assertEquals(TRACKS, new Uint8Array([0x16, 0x54, 0xAE, 0x6B]));
});

Deno.test("OutputHold is due at the chunk that completes the needle, however the bytes are cut", () => {
  const before = new Uint8Array(Array.from({ length: 40 }, (_, i) => i + 1));
  // Near misses: the needle's first bytes, then a wrong one.
  const misses = new Uint8Array([0x16, 0x54, 0xAE, 0x00, 0x16, 0x54, 0x16]);
  const bytes = concatBytes([before, misses, TRACKS, new Uint8Array([9, 9, 9])]);
  const end = before.length + misses.length + TRACKS.length;
  for (const [how, chunks] of cuts(bytes)) {
    const { due, released } = holdUntilDue(chunks, 1024);
    // Due once the needle's last byte is held: at the end of the chunk that holds it.
    let expected = 0;
    for (const chunk of chunks) {
      expected += chunk.length;
      if (expected >= end) break;
    }
    assertEquals(due, expected, how);
    assertEquals(released, bytes.subarray(0, expected), how);
  }
});

Deno.test("OutputHold is due at the limit when the needle never comes", () => {
  const bytes = new Uint8Array(100).fill(0x16);
  for (const [how, chunks] of cuts(bytes)) {
    const { due, released } = holdUntilDue(chunks, 50);
    assertEquals(due !== undefined && due >= 50, true, how);
    assertEquals(released, bytes.subarray(0, due), how);
  }
  const short = holdUntilDue(byteChunks(bytes.subarray(0, 49)), 50);
  assertEquals(short.due, undefined);
  assertEquals(short.released, bytes.subarray(0, 49));
});

Deno.test("OutputHold releases a single chunk as it is, and an empty hold as empty", () => {
  const hold = new OutputHold(TRACKS, 1024);
  assertEquals(hold.isEmpty, true);
  const chunk = new Uint8Array([1, 2, 3]);
  assertEquals(hold.push(chunk), false);
  assertEquals(hold.isEmpty, false);
  assertEquals(hold.release() === chunk, true);
  assertEquals(hold.isEmpty, true);
  assertEquals(hold.release(), new Uint8Array(0));
});
