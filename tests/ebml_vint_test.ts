import { assertEquals, assertThrows } from "@std/assert";
import { EbmlSyntaxError } from "../lib/ebml/ebml_syntax_error.ts";
import {
  measureVint,
  measureVintLength,
  readVint,
  UNKNOWN_SIZE,
  writeUnknownSize,
  writeVint,
} from "../lib/ebml/vint.ts";

const VECTORS: Array<[number[], number]> = [
  [[0x81], 1],
  [[0x80], 0],
  [[0xFE], 126],
  [[0x40, 0x7F], 127],
  [[0x40, 0x01], 1],
  [[0x7F, 0xFE], 16382],
  [[0x20, 0x40, 0x00], 16384],
  [[0x10, 0x20, 0x00, 0x00], 2 ** 21],
  [[0x08, 0x10, 0x00, 0x00, 0x00], 2 ** 28],
  [[0x04, 0x08, 0x00, 0x00, 0x00, 0x00], 2 ** 35],
  [[0x02, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00], 2 ** 42],
  [[0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], 2 ** 49],
  [[0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2A], 42],
];

Deno.test("readVint decodes every width from 1 to 8 bytes", () => {
  for (const [bytes, value] of VECTORS) {
    assertEquals(readVint(new Uint8Array(bytes), 0), {
      value,
      length: bytes.length,
    }, `${bytes}`);
  }
});

Deno.test("readVint reads at an offset", () => {
  assertEquals(readVint(new Uint8Array([0xFF, 0x40, 0x02]), 1), {
    value: 2,
    length: 2,
  });
});

Deno.test("readVint reports the unknown size at every width", () => {
  for (let width = 1; width <= 8; width++) {
    const bytes = writeUnknownSize(width);
    assertEquals(bytes.length, width);
    assertEquals(
      readVint(bytes, 0),
      { value: UNKNOWN_SIZE, length: width },
      `width ${width}`,
    );
  }
  assertEquals(Array.from(writeUnknownSize(1)), [0xFF]);
  assertEquals(Array.from(writeUnknownSize(2)), [0x7F, 0xFF]);
  assertEquals(Array.from(writeUnknownSize(8)), [
    0x01,
    0xFF,
    0xFF,
    0xFF,
    0xFF,
    0xFF,
    0xFF,
    0xFF,
  ]);
});

Deno.test("readVint returns undefined when the bytes end before the vint", () => {
  assertEquals(readVint(new Uint8Array([]), 0), undefined);
  assertEquals(readVint(new Uint8Array([0x40]), 0), undefined);
  assertEquals(
    readVint(new Uint8Array([0x01, 0, 0, 0, 0, 0, 0]), 0),
    undefined,
  );
});

Deno.test("readVint throws EbmlSyntaxError with the offset for a 0x00 first byte", () => {
  const error = assertThrows(
    () => readVint(new Uint8Array([0x81, 0x00, 0x81]), 1, 100),
    EbmlSyntaxError,
    "first byte is 0x00",
  );
  assertEquals(error.offset, 101);
  assertEquals(measureVintLength(0), 0);
});

Deno.test("readVint refuses values beyond 2^53 - 1", () => {
  assertThrows(
    () =>
      readVint(
        new Uint8Array([0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE]),
        0,
      ),
    RangeError,
  );
});

Deno.test("writeVint round-trips and picks the smallest width, avoiding the all-ones pattern", () => {
  assertEquals(measureVint(126), 1);
  assertEquals(measureVint(127), 2); // 0xFF would read as unknown
  assertEquals(measureVint(16382), 2);
  assertEquals(measureVint(16383), 3);
  for (const [bytes, value] of VECTORS) {
    const width = bytes.length;
    assertEquals(Array.from(writeVint(value, width)), bytes);
    const minimal = writeVint(value);
    assertEquals(readVint(minimal, 0), { value, length: minimal.length });
  }
  assertThrows(() => writeVint(127, 1), RangeError);
  assertThrows(() => writeVint(-1), RangeError);
});
