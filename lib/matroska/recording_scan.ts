/**
 * Reading a recording back to finish it: its layout from the head, and, for a file left open
 * (a Segment of unknown size: the writer was killed), every complete Cluster, its keyframes and
 * where its media ends, so that the rest can be cut and the index added.
 *
 * @module
 */

import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { ID } from "../ebml/ids.ts";
import { readElements } from "../ebml/read_elements.ts";
import { readFloat, readUint, readUintElement } from "../ebml/values.ts";
import { readVint, UNKNOWN_SIZE } from "../ebml/vint.ts";
import { type Block, readBlockGroup, readSimpleBlock } from "./block.ts";
import { DEFAULT_TIMESTAMP_SCALE, readTracks } from "./live_header.ts";
import { type CuePoint, fromDateUtc, type RecordingLayout } from "./recording_layout.ts";
import { TrackEnds } from "./recording_muxer.ts";

/** Random access to a file's bytes (the caller does the I/O). */
export interface ByteSource {
  readonly size: number;
  /** Up to `length` bytes at `at` (fewer at the end of the file). */
  read(at: number, length: number): Promise<Uint8Array>;
}

/** What a scan found. */
export interface RecordingScan {
  layout: RecordingLayout;
  /** The Segment has a known size: the file was finished. Nothing else was scanned then. */
  finished: boolean;
  timestampScale: number;
  /** Absolute end of the last complete Cluster (where the Cues go). */
  clustersEnd: number;
  clusters: number;
  cues: CuePoint[];
  /** Duration in TimestampScale units: the longest track's end. */
  duration: number;
}

/** Bytes read for a head: EBML header to Tags (CodecPrivate and Tags are small in practice). */
const HEAD_MAX = 64 * 1024;
/** Bytes enough for any element header (4-byte ID, 8-byte size). */
const HEADER_MAX = 12;

/** The element header `bytes` begin with, or undefined if they do not begin with one. */
function readHeader(
  bytes: Uint8Array,
): { id: number; headerSize: number; size: number } | undefined {
  try {
    const id = readVint(bytes, 0);
    if (id === undefined || id.length > 4) return undefined;
    const size = readVint(bytes, id.length);
    if (size === undefined) return undefined;
    const headerSize = id.length + size.length;
    return { id: readUint(bytes.subarray(0, id.length)), headerSize, size: size.value };
  } catch {
    return undefined; // a zero byte: space the file system allocated but nobody wrote
  }
}

/** The layout of a recording's head, from the SeekHead to the first Cluster. */
interface Head {
  layout: RecordingLayout;
  segmentSize: number;
  timestampScale: number;
  primary: number | undefined;
  /** Info's Duration, when it has one (a finished file). */
  duration?: number;
  /** Info's DateUTC, when it has one. */
  dateUtc?: bigint;
  /** Absolute offset of the first element after the head. */
  next: number;
}

async function readHead(source: ByteSource): Promise<Head> {
  const bytes = await source.read(0, Math.min(source.size, HEAD_MAX));
  const ebml = readHeader(bytes);
  if (ebml?.id !== ID.EBML) throw new EbmlSyntaxError("Not an EBML file", 0);
  const segmentAt = ebml.headerSize + ebml.size;
  const segment = readHeader(bytes.subarray(segmentAt));
  if (segment?.id !== ID.Segment) throw new EbmlSyntaxError("No Segment", segmentAt);
  const segmentDataAt = segmentAt + segment.headerSize;
  const at: Partial<Record<number, number>> = {};
  let infoChildren: Uint8Array[] = [];
  let timestampScale = DEFAULT_TIMESTAMP_SCALE;
  let primary: number | undefined;
  let duration: number | undefined;
  let dateUtc: bigint | undefined;
  let pos = segmentDataAt;
  for (;;) {
    const h = readHeader(bytes.subarray(pos, pos + HEADER_MAX));
    if (h === undefined || h.size === UNKNOWN_SIZE || pos + h.headerSize + h.size > bytes.length) {
      break;
    }
    if (![ID.SeekHead, ID.Void, ID.Info, ID.Tracks, ID.Tags].includes(h.id as never)) break;
    at[h.id] ??= pos;
    const data = bytes.subarray(pos + h.headerSize, pos + h.headerSize + h.size);
    const base = pos + h.headerSize;
    if (h.id === ID.Info) {
      infoChildren = readElements(data, base).filter((c) => c.id !== ID.Duration).map((c) =>
        c.raw.slice()
      );
      for (const c of readElements(data, base)) {
        if (c.id === ID.TimestampScale) timestampScale = readUintElement(c.data, 0);
        if (c.id === ID.Duration) duration = readFloat(c.data);
        if (c.id === ID.DateUTC && c.data.length === 8) {
          dateUtc = new DataView(c.data.buffer, c.data.byteOffset, 8).getBigInt64(0);
        }
      }
    }
    if (h.id === ID.Tracks) {
      const tracks = readTracks(data, base);
      primary = (tracks.find((t) => t.kind === "video") ?? tracks[0])?.number;
    }
    pos += h.headerSize + h.size;
  }
  const { [ID.SeekHead]: seekAt, [ID.Info]: infoAt, [ID.Tracks]: tracksAt } = at;
  if (seekAt === undefined || infoAt === undefined || tracksAt === undefined) {
    throw new EbmlSyntaxError("Not a recording: no SeekHead, Info or Tracks", segmentDataAt);
  }
  if (!(seekAt < infoAt && infoAt < tracksAt)) {
    throw new EbmlSyntaxError("Not a recording: SeekHead, Info and Tracks out of order", seekAt);
  }
  const layout: RecordingLayout = {
    segmentSizeAt: segmentAt + 4,
    segmentDataAt,
    seek: { at: seekAt, length: infoAt - seekAt },
    info: { at: infoAt, length: tracksAt - infoAt },
    infoChildren,
    tracksAt: tracksAt - segmentDataAt,
    tagsAt: at[ID.Tags] === undefined ? undefined : at[ID.Tags]! - segmentDataAt,
  };
  const segmentSize = segment.size;
  return { layout, segmentSize, timestampScale, primary, duration, dateUtc, next: pos };
}

/** What a recording's head says of it: whether it is finished, and its Duration then. */
export interface RecordingInfo {
  finished: boolean;
  /** Milliseconds of media, for a finished file. */
  durationMs?: number;
  /** DateUTC, Unix milliseconds. */
  startMs?: number;
}

/**
 * Reads a recording's head only.
 *
 * @throws {EbmlSyntaxError} when the file is not a recording of this layout
 */
export async function readRecordingInfo(source: ByteSource): Promise<RecordingInfo> {
  const head = await readHead(source);
  const finished = head.segmentSize !== UNKNOWN_SIZE;
  const d = head.duration;
  return {
    finished,
    durationMs: finished && d !== undefined ? d * head.timestampScale / 1e6 : undefined,
    startMs: head.dateUtc === undefined ? undefined : fromDateUtc(head.dateUtc),
  };
}

/** The blocks of a Cluster's payload, with its Timestamp applied. */
function clusterBlocks(data: Uint8Array, base: number): Block[] {
  let time = 0;
  const blocks: Block[] = [];
  for (const child of readElements(data, base)) {
    const at = base + child.offset + child.headerSize;
    if (child.id === ID.Timestamp) time = readUintElement(child.data, at);
    else if (child.id === ID.SimpleBlock) blocks.push(readSimpleBlock(child.data, time, at));
    else if (child.id === ID.BlockGroup) blocks.push(readBlockGroup(child.data, time, at));
  }
  return blocks;
}

/**
 * Scans a recording. A finished one (known Segment size) is only read to its head. One left
 * open is read Cluster by Cluster up to the first that is incomplete or not a Cluster (bytes a
 * crash left half-written, or Cues it was writing): everything before that is kept.
 *
 * @throws {EbmlSyntaxError} when the file is not a recording of this layout
 */
export async function scanRecording(source: ByteSource): Promise<RecordingScan> {
  const head = await readHead(source);
  const scan: RecordingScan = {
    layout: head.layout,
    finished: head.segmentSize !== UNKNOWN_SIZE,
    timestampScale: head.timestampScale,
    clustersEnd: head.next,
    clusters: 0,
    cues: [],
    duration: 0,
  };
  if (scan.finished) return scan;
  const ends = new TrackEnds();
  const dataAt = head.layout.segmentDataAt;
  let pos = head.next;
  while (pos < source.size) {
    const h = readHeader(await source.read(pos, HEADER_MAX));
    if (h === undefined || h.id !== ID.Cluster || h.size === UNKNOWN_SIZE) break;
    const end = pos + h.headerSize + h.size;
    if (end > source.size) break;
    let blocks: Block[];
    try {
      blocks = clusterBlocks(await source.read(pos + h.headerSize, h.size), pos + h.headerSize);
    } catch (error) {
      if (error instanceof EbmlSyntaxError || error instanceof RangeError) break;
      throw error;
    }
    const first = blocks[0];
    const video = first !== undefined && first.track === head.primary && first.keyframe;
    if (video) scan.cues.push({ time: first.time, track: first.track, clusterAt: pos - dataAt });
    for (const b of blocks) ends.observe(b.track, b.time);
    scan.clusters++;
    pos = end;
    scan.clustersEnd = end;
  }
  scan.duration = ends.end;
  return scan;
}
