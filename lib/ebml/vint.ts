/**
 * EBML variable-size integers (RFC 8794, section 4).
 *
 * A vint's width is given by the position of the first set bit of its first byte (1 to 8 bytes);
 * a first byte of `0x00` is invalid. A size whose value bits are all ones is the reserved
 * "unknown size", at every width (RFC 8794, section 6.2).
 *
 * @module
 */

import { EbmlSyntaxError } from "./ebml_syntax_error.ts";

/**
 * The value `readVint` reports for an unknown size (all value bits set).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readVint, UNKNOWN_SIZE } from "./vint.ts";
 * assertEquals(readVint(new Uint8Array([0xFF]), 0)?.value, UNKNOWN_SIZE);
 * ```
 */
export const UNKNOWN_SIZE = -1;

/** Largest value a vint can carry exactly as a JavaScript number. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The result of reading a vint: its value (or `UNKNOWN_SIZE`) and its width in bytes. */
export interface VintResult {
  /** The decoded value, or `UNKNOWN_SIZE` when every value bit is set. */
  value: number;
  /** Width in bytes, 1 to 8. */
  length: number;
}

/**
 * Width in bytes of the vint that starts with `firstByte`, or 0 when the byte is `0x00`
 * (invalid: a vint is at most 8 bytes wide).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { measureVintLength } from "./vint.ts";
 * assertEquals(measureVintLength(0x81), 1);
 * assertEquals(measureVintLength(0x1A), 4); // the first byte of the EBML header's ID
 * assertEquals(measureVintLength(0x00), 0);
 * ```
 */
export function measureVintLength(firstByte: number): number {
  if (firstByte >= 0x80) return 1;
  if (firstByte >= 0x40) return 2;
  if (firstByte >= 0x20) return 3;
  if (firstByte >= 0x10) return 4;
  if (firstByte >= 0x08) return 5;
  if (firstByte >= 0x04) return 6;
  if (firstByte >= 0x02) return 7;
  if (firstByte === 0x01) return 8;
  return 0;
}

/**
 * Reads the vint at `offset`: a three-way result. Returns the value and width, with
 * `UNKNOWN_SIZE` as value when all value bits are set; returns `undefined` when `bytes` ends
 * before the vint does; throws `EbmlSyntaxError` for an invalid first byte.
 *
 * Values above 2^53 - 1 cannot be represented exactly; they throw `RangeError`, since no
 * element that large can be handled anyway.
 *
 * @param base added to `offset` in error messages (the absolute position of `bytes[0]`)
 *
 * @example The three results: a value, an unknown size, more bytes needed
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readVint, UNKNOWN_SIZE } from "./vint.ts";
 * const bytes = new Uint8Array([0x42, 0x86, 0x7F, 0xFF, 0x40]);
 * assertEquals(readVint(bytes, 0), { value: 0x286, length: 2 });
 * assertEquals(readVint(bytes, 2), { value: UNKNOWN_SIZE, length: 2 });
 * assertEquals(readVint(bytes, 4), undefined); // needs a second byte
 * ```
 */
export function readVint(
  bytes: Uint8Array,
  offset: number,
  base = 0,
): VintResult | undefined {
  if (offset >= bytes.length) return undefined;
  const first = bytes[offset];
  const length = measureVintLength(first);
  if (length === 0) {
    throw new EbmlSyntaxError(
      "Invalid vint: first byte is 0x00",
      base + offset,
    );
  }
  if (offset + length > bytes.length) return undefined;
  const mask = 0xff >> length;
  let value = first & mask;
  let allOnes = value === mask;
  for (let i = 1; i < length; i++) {
    const b = bytes[offset + i];
    if (b !== 0xff) allOnes = false;
    value = value * 256 + b;
  }
  if (allOnes) return { value: UNKNOWN_SIZE, length };
  if (value > MAX_SAFE) {
    throw new RangeError(
      `Vint value too large: exceeds 2^53 - 1 at byte ${base + offset}`,
    );
  }
  return { value, length };
}

/** `LIMITS[n]`: the all-ones value of an `n`-byte vint (7 value bits per byte), reserved. */
const LIMITS = [
  0,
  2 ** 7 - 1,
  2 ** 14 - 1,
  2 ** 21 - 1,
  2 ** 28 - 1,
  2 ** 35 - 1,
  2 ** 42 - 1,
  2 ** 49 - 1,
  2 ** 56 - 1,
];

/**
 * Smallest width in bytes that encodes `value` as a size (all-ones patterns are reserved).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { measureVint } from "./vint.ts";
 * assertEquals(measureVint(126), 1);
 * assertEquals(measureVint(127), 2); // 0xFF would read as the unknown size
 * ```
 */
export function measureVint(value: number): number {
  // The common sizes first: a block's track number, a frame's size.
  if (value >= 0 && value < LIMITS[2]) {
    if (value < LIMITS[1]) return 1;
    if (Number.isInteger(value)) return 2;
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot encode vint: ${value} is not a non-negative safe integer`,
    );
  }
  for (let length = 1; length <= 8; length++) {
    // The all-ones value is reserved for "unknown".
    if (value < LIMITS[length]) return length;
  }
  throw new RangeError(`Cannot encode vint: ${value} needs more than 8 bytes`);
}

/**
 * Writes `value` as a vint of `length` bytes (default: the smallest that fits) into `target` at
 * `offset`; returns the number of bytes written.
 */
export function writeVintInto(
  target: Uint8Array,
  offset: number,
  value: number,
  length: number = measureVint(value),
): number {
  if (length < 1 || length > 8) {
    throw new RangeError(`Invalid vint width: ${length}`);
  }
  if (!(value >= 0 && value < LIMITS[length])) {
    throw new RangeError(
      `Cannot encode vint: ${value} does not fit in ${length} bytes`,
    );
  }
  if (length <= 4) {
    // Below 2^28: integer arithmetic.
    let v = value | 0;
    for (let i = length - 1; i > 0; i--) {
      target[offset + i] = v & 0xff;
      v >>>= 8;
    }
    target[offset] = v | (0x80 >> (length - 1));
    return length;
  }
  let v = value;
  for (let i = length - 1; i > 0; i--) {
    target[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
  target[offset] = v | (0x80 >> (length - 1));
  return length;
}

/**
 * Encodes `value` as a vint of `length` bytes (default: the smallest that fits).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeVint } from "./vint.ts";
 * assertEquals(writeVint(5), new Uint8Array([0x85]));
 * assertEquals(writeVint(5, 4), new Uint8Array([0x10, 0x00, 0x00, 0x05]));
 * ```
 */
export function writeVint(value: number, length?: number): Uint8Array {
  const width = length ?? measureVint(value);
  const out = new Uint8Array(width);
  writeVintInto(out, 0, value, width);
  return out;
}

/**
 * Encodes the unknown size at `length` bytes (default 8: `01 FF FF FF FF FF FF FF`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readVint, UNKNOWN_SIZE, writeUnknownSize } from "./vint.ts";
 * assertEquals(writeUnknownSize(1), new Uint8Array([0xFF]));
 * assertEquals(readVint(writeUnknownSize(), 0), { value: UNKNOWN_SIZE, length: 8 });
 * ```
 */
export function writeUnknownSize(length = 8): Uint8Array {
  if (length < 1 || length > 8) {
    throw new RangeError(`Invalid vint width: ${length}`);
  }
  const out = new Uint8Array(length).fill(0xff);
  out[0] = (0x100 >> (length - 1)) - 1;
  return out;
}
