import { assert, assertEquals, assertThrows } from "@std/assert";
import { joinWire, type WireFormat } from "../lib/stream/wire_format.ts";

/** A wire form with a one-byte length before and `0xFF` after: easy to read in a test. */
const TAGGED: WireFormat = {
  prefix: (length) => new Uint8Array([0xF0, length]),
  suffix: new Uint8Array([0xFF]),
};

Deno.test("joinWire lays out prefix, parts and suffix in one buffer, the payload a view inside it", () => {
  const joined = joinWire([new Uint8Array([1, 2]), new Uint8Array([3])], { format: TAGGED });
  assertEquals(Array.from(joined.wire), [0xF0, 3, 1, 2, 3, 0xFF]);
  assertEquals(Array.from(joined.payload), [1, 2, 3]);
  assert(joined.payload.buffer === joined.wire.buffer, "one buffer, not two");
  assertEquals(joined.payload.byteOffset, 2);
});

Deno.test("joinWire without a format joins into a new buffer: the payload is the wire bytes", () => {
  const part = new Uint8Array([9, 8, 7]);
  const joined = joinWire([part]);
  assertEquals(Array.from(joined.wire), [9, 8, 7]);
  assert(joined.wire === joined.payload);
  assert(joined.wire !== part, "a copy: the caller may reuse its memory");
  part[0] = 0;
  assertEquals(joined.wire[0], 9);
});

Deno.test("joinWire throws RangeError when the parts do not add up to the given length", () => {
  const parts = [new Uint8Array(4), new Uint8Array(4)];
  assertThrows(() => joinWire(parts, { length: 7 }), RangeError, "do not add up");
  assertThrows(() => joinWire(parts, { length: 9, format: TAGGED }), RangeError, "8 of 9");
});
