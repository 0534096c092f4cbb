/**
 * Writing EBML: element IDs, sizes, unsigned integers and headers, as small new arrays placed
 * beside views of existing payloads.
 *
 * @module
 */

import { measureVint, writeUnknownSize, writeVintInto } from "./vint.ts";

/** Width in bytes of an element ID kept with its marker bits. */
export function measureId(id: number): number {
  if (id >= 0x10000000) return 4;
  if (id >= 0x200000) return 3;
  if (id >= 0x4000) return 2;
  if (id >= 0x80) return 1;
  throw new RangeError(`Invalid element ID: 0x${id.toString(16)}`);
}

/** Writes an element ID into `target` at `offset`; returns its width. */
export function writeIdInto(
  target: Uint8Array,
  offset: number,
  id: number,
): number {
  const length = measureId(id);
  for (let i = length - 1, v = id; i >= 0; i--, v = Math.floor(v / 256)) {
    target[offset + i] = v & 0xff;
  }
  return length;
}

/**
 * Encodes an element ID.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "./ids.ts";
 * import { writeId } from "./writer.ts";
 * assertEquals(writeId(ID.Cluster), new Uint8Array([0x1F, 0x43, 0xB6, 0x75]));
 * ```
 */
export function writeId(id: number): Uint8Array {
  const out = new Uint8Array(measureId(id));
  writeIdInto(out, 0, id);
  return out;
}

/**
 * Encodes an element header (ID and size) for a payload of `size` bytes, with the size at
 * `sizeLength` bytes (default: the smallest that fits).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "./ids.ts";
 * import { writeElementHeader } from "./writer.ts";
 * assertEquals(writeElementHeader(ID.Tracks, 300), new Uint8Array([0x16, 0x54, 0xAE, 0x6B, 0x41, 0x2C]));
 * ```
 */
export function writeElementHeader(
  id: number,
  size: number,
  sizeLength?: number,
): Uint8Array {
  const width = sizeLength ?? measureVint(size);
  const out = new Uint8Array(measureId(id) + width);
  const n = writeIdInto(out, 0, id);
  writeVintInto(out, n, size, width);
  return out;
}

/**
 * Encodes a master element header of unknown size (8-byte size `01 FF FF FF FF FF FF FF`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "./ids.ts";
 * import { writeUnknownSizeHeader } from "./writer.ts";
 * const header = writeUnknownSizeHeader(ID.Segment);
 * assertEquals(header.length, 12);
 * assertEquals(Array.from(header.subarray(4)), [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
 * ```
 */
export function writeUnknownSizeHeader(id: number): Uint8Array {
  const idBytes = writeId(id);
  const out = new Uint8Array(idBytes.length + 8);
  out.set(idBytes);
  out.set(writeUnknownSize(8), idBytes.length);
  return out;
}

/**
 * Encodes an unsigned integer element in the fewest bytes (zero takes one byte).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "./ids.ts";
 * import { writeUintElement } from "./writer.ts";
 * assertEquals(writeUintElement(ID.Timestamp, 0), new Uint8Array([0xE7, 0x81, 0x00]));
 * assertEquals(writeUintElement(ID.Timestamp, 1000), new Uint8Array([0xE7, 0x82, 0x03, 0xE8]));
 * ```
 */
export function writeUintElement(id: number, value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Cannot encode unsigned integer: ${value}`);
  }
  let length = 1;
  while (length < 8 && value >= 2 ** (8 * length)) length++;
  const idLength = measureId(id);
  const out = new Uint8Array(idLength + 1 + length);
  writeIdInto(out, 0, id);
  out[idLength] = 0x80 | length;
  for (let i = length - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) {
    out[idLength + 1 + i] = v % 256;
  }
  return out;
}

/**
 * Encodes a whole element: a new header followed by a copy of `payload`. For small elements.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "./ids.ts";
 * import { writeElement } from "./writer.ts";
 * const docType = writeElement(ID.DocType, new TextEncoder().encode("webm"));
 * assertEquals(docType, new Uint8Array([0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6D]));
 * ```
 */
export function writeElement(id: number, payload: Uint8Array): Uint8Array {
  const header = writeElementHeader(id, payload.length);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

/**
 * Joins arrays into one new array.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { concatBytes } from "./writer.ts";
 * const joined = concatBytes([new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3])]);
 * assertEquals(joined, new Uint8Array([1, 2, 3]));
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const part of parts) total += part.length;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Encodes a float element as an 8-byte IEEE 754 double (RFC 8794, section 7.3).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "./ids.ts";
 * import { writeFloatElement } from "./writer.ts";
 * const duration = writeFloatElement(ID.Duration, 1);
 * assertEquals(Array.from(duration), [0x44, 0x89, 0x88, 0x3F, 0xF0, 0, 0, 0, 0, 0, 0]);
 * ```
 */
export function writeFloatElement(id: number, value: number): Uint8Array {
  const idLength = measureId(id);
  const out = new Uint8Array(idLength + 9);
  writeIdInto(out, 0, id);
  out[idLength] = 0x88;
  new DataView(out.buffer).setFloat64(idLength + 1, value);
  return out;
}

/**
 * Encodes a signed integer element in 8 bytes (RFC 8794, section 7.1), as Matroska's DateUTC
 * needs: nanoseconds since 2001 pass 2^53.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "./ids.ts";
 * import { writeInt64Element } from "./writer.ts";
 * assertEquals(Array.from(writeInt64Element(ID.DateUTC, -1n)).slice(3), new Array(8).fill(0xFF));
 * ```
 */
export function writeInt64Element(id: number, value: bigint): Uint8Array {
  const idLength = measureId(id);
  const out = new Uint8Array(idLength + 9);
  writeIdInto(out, 0, id);
  out[idLength] = 0x88;
  new DataView(out.buffer).setBigInt64(idLength + 1, value);
  return out;
}
