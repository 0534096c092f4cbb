/**
 * EBML element headers (RFC 8794 section 4): an ID and a data size, both variable-size integers.
 *
 * @module
 */

import { EbmlSyntaxError } from "./ebml_syntax_error.ts";
import { formatId } from "./ids.ts";
import { measureVintLength, UNKNOWN_SIZE } from "./vint.ts";

/** An element header: what `readElementHeader` fills in. */
export interface ElementHeader {
  /** The ID with its marker bits, as `ID` lists them. */
  id: number;
  /** The payload size, or `UNKNOWN_SIZE` (-1) when all its value bits are set (any width). */
  size: number;
  /** Bytes of ID and size. */
  headerSize: number;
  /** Absolute offset of the ID's first byte. */
  offset: number;
}

/**
 * Reads the element header at `bytes[start]` into `out` (reused by the caller: no allocation per
 * element). Returns its length, or 0 when `end` comes before the header is whole (nothing is
 * written then).
 *
 * @param absolute the absolute offset of `bytes[start]`, for `out.offset` and error messages
 * @throws {EbmlSyntaxError} for an ID or size whose first byte is 0x00, or an ID over 4 bytes
 *   (Matroska's EBMLMaxIDLength)
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readElementHeader } from "./element_header.ts";
 * const out = { id: 0, size: 0, headerSize: 0, offset: 0 };
 * // A Cluster (1F 43 B6 75) of unknown size (01 FF FF FF FF FF FF FF, all value bits set).
 * const header = [0x1F, 0x43, 0xB6, 0x75, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
 * assertEquals(readElementHeader(new Uint8Array(header), 0, 12, 100, out), 12);
 * assertEquals(out, { id: 0x1F43B675, size: -1, headerSize: 12, offset: 100 });
 * assertEquals(readElementHeader(new Uint8Array(header), 0, 11, 100, out), 0);
 * ```
 */
export function readElementHeader(
  bytes: Uint8Array,
  start: number,
  end: number,
  absolute: number,
  out: ElementHeader,
): number {
  const first = bytes[start];
  const idLength = measureVintLength(first);
  if (idLength === 0) {
    throw new EbmlSyntaxError(
      "Invalid element ID: first byte is 0x00",
      absolute,
    );
  }
  if (idLength > 4) {
    throw new EbmlSyntaxError(
      `Invalid element ID: ${idLength} bytes long, Matroska allows at most 4`,
      absolute,
    );
  }
  if (start + idLength >= end) return 0;
  let id = first;
  for (let k = 1; k < idLength; k++) id = id * 256 + bytes[start + k];
  const sizeStart = start + idLength;
  const sizeFirst = bytes[sizeStart];
  const sizeLength = measureVintLength(sizeFirst);
  if (sizeLength === 0) {
    throw new EbmlSyntaxError(
      `Invalid size of element ${formatId(id)}: first byte is 0x00`,
      absolute + idLength,
    );
  }
  if (sizeStart + sizeLength > end) return 0;
  const mask = 0xff >> sizeLength;
  let size = sizeFirst & mask;
  let allOnes = size === mask;
  for (let k = 1; k < sizeLength; k++) {
    const b = bytes[sizeStart + k];
    if (b !== 0xff) allOnes = false;
    size = size * 256 + b;
  }
  out.id = id;
  out.size = allOnes ? UNKNOWN_SIZE : size;
  out.headerSize = idLength + sizeLength;
  out.offset = absolute;
  return idLength + sizeLength;
}
