/**
 * What a seekable reader needs of a Matroska file's layout, read from a few bytes at a time:
 * element headers, the Info values that date a recording, and the start of a Cluster.
 *
 * @module
 */

import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { ID } from "../ebml/ids.ts";
import { readElements } from "../ebml/read_elements.ts";
import { readFloat, readInt, readUint } from "../ebml/values.ts";
import { readVint, UNKNOWN_SIZE } from "../ebml/vint.ts";
import { type Block, KEYFRAME_FLAG, readBlockGroup, readSimpleBlock } from "./block.ts";

/** An element's header read at some offset. */
export interface ElementHeader {
  id: number;
  /** Payload bytes, or `UNKNOWN_SIZE`. */
  size: number;
  /** Bytes of ID and size. */
  headerSize: number;
}

/**
 * The element header at `pos` of `bytes`, or `undefined` when `bytes` ends first.
 *
 * @throws {EbmlSyntaxError} for an invalid vint or an ID over 4 bytes
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readElementHeader } from "./file_layout.ts";
 * const cluster = new Uint8Array([0x1F, 0x43, 0xB6, 0x75, 0x84]);
 * assertEquals(readElementHeader(cluster, 0), { id: 0x1F43B675, size: 4, headerSize: 5 });
 * assertEquals(readElementHeader(cluster.subarray(0, 4), 0), undefined);
 * ```
 */
export function readElementHeader(bytes: Uint8Array, pos: number): ElementHeader | undefined {
  const id = readVint(bytes, pos);
  if (id === undefined) return undefined;
  if (id.length > 4) {
    throw new EbmlSyntaxError(`Invalid element ID: ${id.length} bytes long`, pos);
  }
  const size = readVint(bytes, pos + id.length);
  if (size === undefined) return undefined;
  let value = 0;
  for (let k = 0; k < id.length; k++) value = value * 256 + bytes[pos + k];
  return { id: value, size: size.value, headerSize: id.length + size.length };
}

/** Whether an element of this ID belongs at the Segment's top level (RFC 9559, section 5.1). */
export function isTopLevel(id: number): boolean {
  return id === ID.Cluster || id === ID.Cues || id === ID.SeekHead || id === ID.Info ||
    id === ID.Tracks || id === ID.Tags || id === ID.Chapters || id === ID.Attachments;
}

/** Milliseconds from the Unix epoch to DateUTC's origin, 2001-01-01T00:00:00Z (RFC 9559, 5.1.2.4). */
const DATE_UTC_ORIGIN = Date.UTC(2001, 0, 1);

/** What a recording's Info says. */
export interface InfoValues {
  /** Nanoseconds per timestamp unit (default 1,000,000). */
  timestampScale: number;
  /** Duration in timestamp units, when the file was finished. */
  duration?: number;
  /** DateUTC: when its first block was (wall clock). */
  date?: Date;
}

/**
 * Reads TimestampScale, Duration and DateUTC from an Info element's payload.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readInfoValues } from "./file_layout.ts";
 * // DateUTC = 1 s after 2001-01-01 (1e9 ns, 8 bytes).
 * const info = new Uint8Array([0x44, 0x61, 0x88, 0, 0, 0, 0, 0x3B, 0x9A, 0xCA, 0x00]);
 * assertEquals(readInfoValues(info).date?.toISOString(), "2001-01-01T00:00:01.000Z");
 * assertEquals(readInfoValues(info).timestampScale, 1_000_000);
 * ```
 */
export function readInfoValues(payload: Uint8Array): InfoValues {
  const values: InfoValues = { timestampScale: 1_000_000 };
  for (const child of readElements(payload)) {
    if (child.id === ID.TimestampScale) values.timestampScale = readUint(child.data) || 1_000_000;
    else if (child.id === ID.Duration) values.duration = readFloat(child.data);
    else if (child.id === ID.DateUTC && child.data.length === 8) {
      values.date = new Date(DATE_UTC_ORIGIN + readInt(child.data) / 1e6);
    }
  }
  return values;
}

/**
 * The blocks of a Cluster's payload (views into it), with its Timestamp; children other than
 * Timestamp, SimpleBlock and BlockGroup (Position, PrevSize, Void, CRC-32) are skipped.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readClusterBlocks } from "./file_layout.ts";
 * // Timestamp 1000, then a SimpleBlock of track 1 at +5, keyframe, one byte.
 * const payload = new Uint8Array([0xE7, 0x82, 0x03, 0xE8, 0xA3, 0x85, 0x81, 0x00, 0x05, 0x80, 0xAA]);
 * const { time, blocks } = readClusterBlocks(payload);
 * assertEquals([time, blocks[0].time, blocks[0].keyframe], [1000, 1005, true]);
 * ```
 */
export function readClusterBlocks(
  payload: Uint8Array,
  base = 0,
): { time: number; blocks: Block[] } {
  let time = 0;
  const blocks: Block[] = [];
  for (const child of readElements(payload, base)) {
    const at = base + child.offset + child.headerSize;
    if (child.id === ID.Timestamp) time = readUint(child.data);
    else if (child.id === ID.SimpleBlock) blocks.push(readSimpleBlock(child.data, time, at));
    else if (child.id === ID.BlockGroup) blocks.push(readBlockGroup(child.data, time, at));
  }
  return { time, blocks };
}

/** What the first bytes of a Cluster's payload say: its Timestamp, and its first block's header. */
export interface ClusterStart {
  time: number;
  /** The first block of the track asked for: its time and keyframe flag, when the bytes hold it. */
  first?: Pick<Block, "track" | "time" | "keyframe">;
}

/**
 * Reads the start of a Cluster's payload (as many bytes as were read of it): its Timestamp and
 * the header of its first block of `track` (any track when `undefined`), skipping the blocks of
 * other tracks (an audio frame often comes just before the video keyframe a Cluster is cut
 * at); a BlockGroup's only when it is whole, since a ReferenceBlock after its Block decides
 * the keyframe. `undefined` when the bytes do not hold the Timestamp yet.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readClusterStart } from "./file_layout.ts";
 * // Timestamp 7; an audio block of track 2; the video keyframe of track 1 at +2.
 * const start = new Uint8Array([
 *   0xE7, 0x81, 0x07, 0xA3, 0x85, 0x82, 0x00, 0x00, 0x80, 0xAA, 0xA3, 0x85, 0x81, 0x00, 0x02, 0x80,
 * ]);
 * assertEquals(readClusterStart(start, 1), { time: 7, first: { track: 1, time: 9, keyframe: true } });
 * assertEquals(readClusterStart(start.subarray(0, 12), 1), { time: 7 });
 * ```
 */
export function readClusterStart(bytes: Uint8Array, track?: number): ClusterStart | undefined {
  let pos = 0;
  let time: number | undefined;
  while (pos < bytes.length) {
    const header = readElementHeader(bytes, pos);
    if (header === undefined || header.size === UNKNOWN_SIZE) break;
    const start = pos + header.headerSize;
    const end = start + header.size;
    if (header.id === ID.SimpleBlock && time !== undefined) {
      const number = readVint(bytes, start);
      if (number === undefined || start + number.length + 3 > bytes.length) break;
      if (track === undefined || number.value === track) {
        const at = start + number.length;
        const relative = ((bytes[at] << 8) | bytes[at + 1]) << 16 >> 16;
        const keyframe = (bytes[at + 2] & KEYFRAME_FLAG) !== 0;
        return { time, first: { track: number.value, time: time + relative, keyframe } };
      }
    } else if (end > bytes.length) break;
    else if (header.id === ID.Timestamp) time = readUint(bytes.subarray(start, end));
    else if (header.id === ID.BlockGroup && time !== undefined) {
      const block = readBlockGroup(bytes.subarray(start, end), time, start);
      if (track === undefined || block.track === track) {
        return { time, first: { track: block.track, time: block.time, keyframe: block.keyframe } };
      }
    }
    pos = end;
  }
  return time === undefined ? undefined : { time };
}
