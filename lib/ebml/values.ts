/**
 * Decoding EBML element values (RFC 8794, section 7).
 *
 * @module
 */

import { EbmlSyntaxError } from "./ebml_syntax_error.ts";

/** Decodes an unsigned integer element's payload (0 to 8 bytes, big-endian). */
/**
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readUint } from "./values.ts";
 * assertEquals(readUint(new Uint8Array([0x01, 0x00])), 256);
 * ```
 */
export function readUint(data: Uint8Array): number {
  if (data.length > 8) {
    throw new RangeError(`Unsigned integer too long: ${data.length} bytes`);
  }
  let value = 0;
  for (let i = 0; i < data.length; i++) value = value * 256 + data[i];
  return value;
}

/** Decodes a signed integer element's payload (0 to 8 bytes, big-endian, two's complement). */
/**
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInt } from "./values.ts";
 * assertEquals(readInt(new Uint8Array([0xFF, 0xFE])), -2);
 * ```
 */
export function readInt(data: Uint8Array): number {
  if (data.length === 0) return 0;
  const unsigned = readUint(data);
  const top = 2 ** (8 * data.length);
  return data[0] & 0x80 ? unsigned - top : unsigned;
}

/** Decodes a float element's payload (0, 4 or 8 bytes). */
/**
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readFloat } from "./values.ts";
 * assertEquals(readFloat(new Uint8Array([0x3F, 0xC0, 0x00, 0x00])), 1.5);
 * ```
 */
export function readFloat(data: Uint8Array): number {
  if (data.length === 0) return 0;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length === 4) return view.getFloat32(0);
  if (data.length === 8) return view.getFloat64(0);
  throw new RangeError(`Invalid float size: ${data.length} bytes`);
}

const decoder = new TextDecoder();

/** Decodes a string or UTF-8 element's payload, dropping trailing zero padding. */
/**
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readString } from "./values.ts";
 * assertEquals(readString(new TextEncoder().encode("webm\0")), "webm");
 * ```
 */
export function readString(data: Uint8Array): string {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return decoder.decode(data.subarray(0, end));
}

/**
 * Decodes an unsigned integer element read from the input: a payload over 8 bytes is malformed
 * (`EbmlSyntaxError` at `offset`); a value beyond 2^53 - 1 cannot be represented exactly and is
 * refused with `RangeError`, like a vint that large.
 */
export function readUintElement(data: Uint8Array, offset: number): number {
  if (data.length > 8) {
    throw new EbmlSyntaxError(
      `Invalid unsigned integer: ${data.length} bytes long, at most 8 allowed`,
      offset,
    );
  }
  const value = readUint(data);
  if (value > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(
      `Unsigned integer too large: exceeds 2^53 - 1 at byte ${offset}`,
    );
  }
  return value;
}

/** Decodes a float element read from the input: a size other than 0, 4 or 8 is malformed. */
export function readFloatElement(data: Uint8Array, offset: number): number {
  if (data.length !== 0 && data.length !== 4 && data.length !== 8) {
    throw new EbmlSyntaxError(
      `Invalid float: ${data.length} bytes long, 0, 4 or 8 allowed`,
      offset,
    );
  }
  return readFloat(data);
}
