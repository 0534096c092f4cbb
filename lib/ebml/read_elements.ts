/**
 * Reads the children of a master element that was delivered whole.
 *
 * @module
 */

import { EbmlSyntaxError } from "./ebml_syntax_error.ts";
import { formatId } from "./ids.ts";
import { readVint, UNKNOWN_SIZE } from "./vint.ts";

/** One child element: its ID, where it starts in the parent's payload, and its payload view. */
export interface EbmlChild {
  id: number;
  /** Offset of the child's first ID byte within the bytes passed to `readElements`. */
  offset: number;
  headerSize: number;
  /** The payload, a `subarray` view. */
  data: Uint8Array;
  /** The whole element (header and payload), a `subarray` view. */
  raw: Uint8Array;
}

/**
 * Splits `bytes` (a master element's payload) into its children, as views.
 *
 * @param base absolute offset of `bytes[0]`, for error messages
 * @throws {EbmlSyntaxError} on a malformed, truncated or unknown-size child
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readElements } from "./read_elements.ts";
 * const payload = new Uint8Array([0x42, 0x82, 0x84, 0x77, 0x65, 0x62, 0x6D]);
 * const [docType] = readElements(payload);
 * assertEquals(new TextDecoder().decode(docType.data), "webm");
 * ```
 */
export function readElements(bytes: Uint8Array, base = 0): EbmlChild[] {
  const children: EbmlChild[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const id = readVint(bytes, pos, base);
    if (id === undefined) {
      throw new EbmlSyntaxError("Truncated element header", base + pos);
    }
    if (id.length > 4) {
      throw new EbmlSyntaxError(
        `Invalid element ID: ${id.length} bytes long`,
        base + pos,
      );
    }
    let idValue = 0;
    for (let k = 0; k < id.length; k++) {
      idValue = idValue * 256 + bytes[pos + k];
    }
    const size = readVint(bytes, pos + id.length, base);
    if (size === undefined) {
      throw new EbmlSyntaxError("Truncated element header", base + pos);
    }
    if (size.value === UNKNOWN_SIZE) {
      throw new EbmlSyntaxError(
        `Element ${formatId(idValue)} has an unknown size inside a sized parent`,
        base + pos,
      );
    }
    const headerSize = id.length + size.length;
    const end = pos + headerSize + size.value;
    if (end > bytes.length) {
      throw new EbmlSyntaxError(
        `Element ${formatId(idValue)} of ${size.value} bytes overruns its parent`,
        base + pos,
      );
    }
    children.push({
      id: idValue,
      offset: pos,
      headerSize,
      data: bytes.subarray(pos + headerSize, end),
      raw: bytes.subarray(pos, end),
    });
    pos = end;
  }
  return children;
}
