/**
 * Block lacing (RFC 9559, section 10.3): several frames of one track in one Block.
 *
 * MSE refuses laced WebM and an ISO BMFF sample is one frame, so the segment writers split laced
 * blocks into their frames first. The frames come out as `subarray` views of the block.
 *
 * @module
 */

import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { readVint, UNKNOWN_SIZE } from "../ebml/vint.ts";
import { type Block, joinPayload, type Payload } from "./block.ts";

/** The lacing bits of a block's flags byte (RFC 9559, section 10.2). */
export const LACING_MASK = 0x06;

/** Lacing kinds by the value of `(flags & LACING_MASK) >> 1` (RFC 9559, section 10.3). */
export type Lacing = "none" | "xiph" | "fixed" | "ebml";

const LACINGS: readonly Lacing[] = ["none", "xiph", "fixed", "ebml"];

/** The lacing a block's flags byte announces. */
export function readLacing(flags: number): Lacing {
  return LACINGS[(flags & LACING_MASK) >> 1];
}

/**
 * Splits a block into its frames, as views of `block.frames`; an unlaced block gives one frame.
 *
 * Strict by RFC 9559 section 10.3: every lace size must fit in the block, EBML lace sizes must
 * be valid vints (the all-ones value is reserved), fixed-size lacing must divide the block evenly,
 * and no lace may be negative. Zero-length frames are allowed, as the RFC does not forbid them.
 *
 * @param base absolute offset of `block.frames[0]`, for error messages
 * @throws {EbmlSyntaxError} on a malformed lace, with the offset of the offending byte
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { unlace } from "./lacing.ts";
 * // Xiph lacing (flags 0x02): 3 frames, sizes 2 and 1 given, the last takes the rest (3).
 * const frames = unlace({ flags: 0x02, frames: new Uint8Array([2, 2, 1, 9, 9, 8, 7, 7, 7]) });
 * assertEquals(frames.map((f) => f.length), [2, 1, 3]);
 * ```
 */
export function unlace(
  block: Pick<Block, "flags" | "frames" | "more">,
  base = 0,
): Uint8Array[] {
  // A block that spanned input chunks is joined here (a copy); `framePayloads` avoids it.
  const data = block.more ? joinPayload([block.frames, ...block.more]) : block.frames;
  const lacing = readLacing(block.flags);
  if (lacing === "none") return [data];
  if (data.length === 0) {
    throw new EbmlSyntaxError("Laced block without a frame count", base);
  }
  const count = data[0] + 1;
  if (lacing === "fixed") {
    const size = (data.length - 1) / count;
    if (!Number.isInteger(size)) {
      throw new EbmlSyntaxError(
        `Fixed-size lacing of ${count} frames does not divide ${data.length - 1} bytes`,
        base,
      );
    }
    return Array.from({ length: count }, (_, i) => data.subarray(1 + i * size, 1 + (i + 1) * size));
  }
  const sizes = lacing === "xiph"
    ? readXiphSizes(data, count, base)
    : readEbmlSizes(data, count, base);
  const frames: Uint8Array[] = [];
  let pos = sizes.end;
  for (const size of sizes.sizes) {
    frames.push(data.subarray(pos, pos + size));
    pos += size;
  }
  if (pos > data.length) {
    throw new EbmlSyntaxError(
      `Lace sizes overrun the block: ${pos - sizes.end} bytes of frames in ${
        data.length - sizes.end
      }`,
      base + sizes.end,
    );
  }
  frames.push(data.subarray(pos));
  return frames;
}

/**
 * A block's frames without copying: `unlace` for a block in one piece or a laced one (laced
 * blocks are small audio; one that spanned chunks is joined), and, for an unlaced block that
 * spanned input chunks, its one frame as the list of its pieces.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { framePayloads } from "./lacing.ts";
 * const a = new Uint8Array([1, 2]);
 * const b = new Uint8Array([3]);
 * assertEquals(framePayloads({ flags: 0x80, frames: a, more: [b] }), [[a, b]]);
 * assertEquals(framePayloads({ flags: 0x80, frames: a }), [a]);
 * ```
 */
export function framePayloads(
  block: Pick<Block, "flags" | "frames" | "more">,
  base = 0,
): Payload[] {
  if (block.more && readLacing(block.flags) === "none") return [[block.frames, ...block.more]];
  return unlace(block, base);
}

/** The first `count - 1` sizes and where the frame data begins. */
interface LaceSizes {
  sizes: number[];
  end: number;
}

/** Xiph lacing: each size is a run of 255s ended by a byte below 255, summed. */
function readXiphSizes(data: Uint8Array, count: number, base: number): LaceSizes {
  const sizes: number[] = [];
  let pos = 1;
  for (let i = 0; i < count - 1; i++) {
    let size = 0;
    let byte: number;
    do {
      if (pos >= data.length) {
        throw new EbmlSyntaxError(`Xiph lace size ${i + 1} of ${count} is truncated`, base + pos);
      }
      byte = data[pos++];
      size += byte;
    } while (byte === 255);
    sizes.push(size);
  }
  return { sizes, end: pos };
}

/**
 * EBML lacing: the first size is an unsigned vint, each next one a signed difference from the
 * previous, stored as a vint minus half its range (RFC 9559, section 10.3.3).
 */
function readEbmlSizes(data: Uint8Array, count: number, base: number): LaceSizes {
  const sizes: number[] = [];
  let pos = 1;
  let size = 0;
  for (let i = 0; i < count - 1; i++) {
    const vint = readVint(data, pos, base);
    if (vint === undefined) {
      throw new EbmlSyntaxError(`EBML lace size ${i + 1} of ${count} is truncated`, base + pos);
    }
    if (vint.value === UNKNOWN_SIZE) {
      throw new EbmlSyntaxError(
        `EBML lace size ${i + 1} is the reserved all-ones value`,
        base + pos,
      );
    }
    size = i === 0 ? vint.value : size + vint.value - (2 ** (7 * vint.length - 1) - 1);
    if (size < 0) {
      throw new EbmlSyntaxError(`EBML lace size ${i + 1} is negative: ${size}`, base + pos);
    }
    sizes.push(size);
    pos += vint.length;
  }
  return { sizes, end: pos };
}
