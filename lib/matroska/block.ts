/**
 * Matroska blocks: SimpleBlock and BlockGroup (RFC 9559, sections 10.1–10.2).
 *
 * @module
 */

import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { ID } from "../ebml/ids.ts";
import { readElements } from "../ebml/read_elements.ts";
import { readInt } from "../ebml/values.ts";
import { readVint, UNKNOWN_SIZE } from "../ebml/vint.ts";

/** SimpleBlock flag: the block is a keyframe (RFC 9559, section 10.2). */
export const KEYFRAME_FLAG = 0x80;

/** One block of a track, with its absolute time, and views of its original bytes. */
export interface Block {
  /** Track number. */
  track: number;
  /** Absolute timestamp in TimestampScale units (Cluster Timestamp + relative time). */
  time: number;
  /** SimpleBlock with flag 0x80, or a BlockGroup without ReferenceBlock. */
  keyframe: boolean;
  /** Whether it came as a BlockGroup (written back as one, with its other children). */
  group: boolean;
  /** The flags byte as received (lacing, invisible, discardable; keyframe for SimpleBlock). */
  flags: number;
  /** Lace headers and frame data: everything after the track, time and flags (a view). */
  frames: Uint8Array;
  /**
   * When the block spanned input chunks (a reader with `inParts`): the rest of its frame data,
   * in order, as views of those chunks; `frames` is then its first piece. Absent otherwise. Use
   * `framePayloads()` (or `unlace()`, which joins them) rather than `frames` alone.
   */
  more?: readonly Uint8Array[];
  /** For a BlockGroup: its children other than Block, whole (views); empty otherwise. */
  extra: Uint8Array[];
}

const NO_EXTRA: Uint8Array[] = [];

/** A frame's bytes: one view, or several (a frame that spanned input chunks) back to back. */
export type Payload = Uint8Array | readonly Uint8Array[];

/** The length of a payload. */
export function payloadLength(payload: Payload): number {
  if (payload instanceof Uint8Array) return payload.length;
  let n = 0;
  for (const part of payload) n += part.length;
  return n;
}

/** A payload as one array: itself, or its pieces joined (a copy). */
export function joinPayload(payload: Payload): Uint8Array {
  if (payload instanceof Uint8Array) return payload;
  if (payload.length === 1) return payload[0];
  const out = new Uint8Array(payloadLength(payload));
  let at = 0;
  for (const part of payload) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The longest SimpleBlock header: an 8-byte track number, the relative time and the flags. */
const MAX_BLOCK_HEADER = 11;

/**
 * Reads a SimpleBlock whose payload came in pieces (`data`, then `more`): the header from the
 * first piece (joined first when that is too short to hold it), the frames as views.
 */
export function readSimpleBlockParts(
  data: Uint8Array,
  more: readonly Uint8Array[],
  clusterTime: number,
  base = 0,
): Block {
  if (data.length < MAX_BLOCK_HEADER) {
    return readSimpleBlock(joinPayload([data, ...more]), clusterTime, base);
  }
  const block = readSimpleBlock(data, clusterTime, base);
  block.more = more;
  return block;
}

/** Reads the block header shared by SimpleBlock and Block: track, relative time, flags. */
function readBlockHeader(
  data: Uint8Array,
  base: number,
): { track: number; relative: number; flags: number; length: number } {
  if (data.length >= 4 && data[0] > 0x80 && data[0] < 0xff) {
    // The usual case: a one-byte track number (1 to 126).
    let relative = (data[1] << 8) | data[2];
    if (relative & 0x8000) relative -= 0x10000;
    return { track: data[0] & 0x7f, relative, flags: data[3], length: 4 };
  }
  const track = readVint(data, 0, base);
  if (track === undefined || track.length + 3 > data.length) {
    throw new EbmlSyntaxError("Block too short for its header", base);
  }
  if (track.value === UNKNOWN_SIZE) {
    // readVint reports all-ones as an unknown size; as a track number it cannot be written back.
    throw new EbmlSyntaxError("Invalid track number: all value bits set", base);
  }
  const t = track.length;
  let relative = (data[t] << 8) | data[t + 1];
  if (relative & 0x8000) relative -= 0x10000;
  return { track: track.value, relative, flags: data[t + 2], length: t + 3 };
}

/**
 * Reads a SimpleBlock's payload.
 *
 * @param clusterTime the enclosing Cluster's Timestamp
 * @param base absolute offset of `data[0]`, for error messages
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readSimpleBlock } from "./block.ts";
 * // Track 1, relative time +5, keyframe, one byte of frame data.
 * const block = readSimpleBlock(new Uint8Array([0x81, 0x00, 0x05, 0x80, 0xAA]), 1000);
 * assertEquals(block.track, 1);
 * assertEquals(block.time, 1005);
 * assertEquals(block.keyframe, true);
 * ```
 */
export function readSimpleBlock(
  data: Uint8Array,
  clusterTime: number,
  base = 0,
): Block {
  const header = readBlockHeader(data, base);
  return {
    track: header.track,
    time: clusterTime + header.relative,
    keyframe: (header.flags & KEYFRAME_FLAG) !== 0,
    group: false,
    flags: header.flags,
    frames: data.subarray(header.length),
    extra: NO_EXTRA,
  };
}

/**
 * Reads a BlockGroup's payload: its Block, and whether a ReferenceBlock makes it a non-keyframe.
 *
 * @param clusterTime the enclosing Cluster's Timestamp
 * @param base absolute offset of `data[0]`, for error messages
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readBlockGroup } from "./block.ts";
 * // A BlockGroup holding a Block (0xA1) of track 1 at +5, one payload byte: a keyframe (no
 * // ReferenceBlock).
 * const group = new Uint8Array([0xA1, 0x85, 0x81, 0x00, 0x05, 0x00, 0x2A]);
 * const block = readBlockGroup(group, 100);
 * assertEquals([block.track, block.time, block.keyframe, block.group], [1, 105, true, true]);
 * ```
 */
export function readBlockGroup(
  data: Uint8Array,
  clusterTime: number,
  base = 0,
): Block {
  let block: Uint8Array | undefined;
  let blockOffset = 0;
  let referenced = false;
  const extra: Uint8Array[] = [];
  for (const child of readElements(data, base)) {
    if (child.id === ID.Block) {
      block = child.data;
      blockOffset = child.offset + child.headerSize;
    } else {
      if (child.id === ID.ReferenceBlock) referenced = true;
      extra.push(child.raw);
    }
  }
  if (block === undefined) {
    throw new EbmlSyntaxError("BlockGroup without a Block", base);
  }
  const header = readBlockHeader(block, base + blockOffset);
  return {
    track: header.track,
    time: clusterTime + header.relative,
    keyframe: !referenced,
    group: true,
    flags: header.flags,
    frames: block.subarray(header.length),
    extra,
  };
}

/** Reads a block's relative timestamp as a signed 16-bit value; exported for tests and tools. */
export function readRelativeTime(data: Uint8Array): number {
  const track = readVint(data, 0);
  if (track === undefined) throw new RangeError("Block too short");
  return readInt(data.subarray(track.length, track.length + 2));
}
