/**
 * The layout of a recorded Matroska file: a head that is valid from the first byte while the
 * file grows (Segment of unknown size, a SeekHead to Info and Tracks, Info without Duration),
 * Clusters of known size appended as they complete, and the index written when it closes (Cues
 * at the end, a Cues entry in the SeekHead, Duration in Info, the Segment's size), each in room
 * the head reserved with Void elements, so finishing rewrites bytes in place and moves nothing.
 *
 * @module
 */

import { ID } from "../ebml/ids.ts";
import { readElements } from "../ebml/read_elements.ts";
import { writeVintInto } from "../ebml/vint.ts";
import {
  concatBytes,
  writeElement,
  writeElementHeader,
  writeFloatElement,
  writeId,
  writeInt64Element,
  writeUintElement,
  writeUnknownSizeHeader,
} from "../ebml/writer.ts";
import type { LiveHeader } from "./live_header.ts";
import { splitLiveHeader } from "./track_header.ts";

/** Bytes kept for the SeekHead: four Seek entries of at most 21 bytes, its header, and a Void. */
export const SEEK_REGION = 100;
/** Bytes kept after Info for its Duration (11 bytes) and a Void of at least 2. */
export const INFO_SLACK = 24;
/** Width of the Segment's size: 8 bytes, so that any size can be written over the unknown one. */
export const SEGMENT_SIZE_WIDTH = 8;
/** DateUTC counts nanoseconds from 2001-01-01T00:00:00 UTC (RFC 9559, section 5.1.2.4). */
const MATROSKA_EPOCH_MS = Date.UTC(2001, 0, 1);

/** A span of the file: absolute offset and length. */
export interface Region {
  at: number;
  length: number;
}

/** Where a recording's parts are, for finishing it (kept while writing, or read back). */
export interface RecordingLayout {
  /** Absolute offset of the Segment's 8-byte size. */
  segmentSizeAt: number;
  /** Absolute offset of the Segment's payload (what SeekPosition and Cues count from). */
  segmentDataAt: number;
  /** The SeekHead and the Void after it. */
  seek: Region;
  /** Info and the Void after it. */
  info: Region;
  /** Info's children other than Duration, whole. */
  infoChildren: Uint8Array[];
  /** Positions in the Segment of the elements the SeekHead names. */
  tracksAt: number;
  tagsAt?: number;
}

/** One CuePoint: a video keyframe (or an audio-only file's Cluster start). */
export interface CuePoint {
  /** Block time in TimestampScale units. */
  time: number;
  track: number;
  /** The Cluster's position in the Segment. */
  clusterAt: number;
}

/** A rewrite of `bytes` at absolute offset `at`. */
export interface Patch {
  at: number;
  bytes: Uint8Array;
}

/**
 * A Void element (RFC 8794, section 11.3.2) of exactly `length` bytes, at least 2.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeVoid } from "./recording_layout.ts";
 * assertEquals(Array.from(writeVoid(3)), [0xEC, 0x81, 0]);
 * assertEquals(writeVoid(200).length, 200);
 * ```
 */
export function writeVoid(length: number): Uint8Array {
  if (!(length >= 2)) throw new RangeError(`A Void needs at least 2 bytes, not ${length}`);
  const out = new Uint8Array(length);
  out[0] = ID.Void;
  if (length - 2 <= 126) out[1] = 0x80 | (length - 2);
  else writeVintInto(out, 1, length - 9, 8);
  return out;
}

/** `element`, then a Void filling `region` to its end. */
function fill(region: Region, element: Uint8Array): Uint8Array {
  if (element.length + 2 > region.length) {
    throw new RangeError(`${element.length} bytes do not fit in ${region.length}`);
  }
  return concatBytes([element, writeVoid(region.length - element.length)]);
}

function writeSeek(id: number, position: number): Uint8Array {
  const body = concatBytes([
    writeElement(ID.SeekID, writeId(id)),
    writeUintElement(ID.SeekPosition, position),
  ]);
  return writeElement(ID.Seek, body);
}

/** The SeekHead naming Info (at 0 after the SeekHead region), Tracks, Tags and Cues. */
function writeSeekHead(layout: RecordingLayout, cuesAt?: number): Uint8Array {
  const seeks = [
    writeSeek(ID.Info, layout.info.at - layout.segmentDataAt),
    writeSeek(ID.Tracks, layout.tracksAt),
  ];
  if (layout.tagsAt !== undefined) seeks.push(writeSeek(ID.Tags, layout.tagsAt));
  if (cuesAt !== undefined) seeks.push(writeSeek(ID.Cues, cuesAt));
  return writeElement(ID.SeekHead, concatBytes(seeks));
}

/** Milliseconds since the Unix epoch as DateUTC's nanoseconds since 2001. */
export function toDateUtc(ms: number): bigint {
  return BigInt(Math.round(ms - MATROSKA_EPOCH_MS)) * 1_000_000n;
}

/** DateUTC's nanoseconds since 2001 as milliseconds since the Unix epoch. */
export function fromDateUtc(ns: bigint): number {
  return Number(ns / 1_000_000n) + MATROSKA_EPOCH_MS;
}

/**
 * The head of a recording of a stream with `header`, first block at `startMs` (Unix ms): the
 * EBML header as received, a Segment of unknown size, the SeekHead region, Info (the source's
 * TimestampScale and Title, DateUTC, MuxingApp and WritingApp) with room for Duration, Tracks
 * and Tags.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "../ebml/ids.ts";
import { readElements } from "../ebml/read_elements.ts";
 * import { buildLiveHeader } from "./live_header.ts";
 * import { buildRecordingHead } from "./recording_layout.ts";
 * const header = buildLiveHeader({
 *   ebml: { id: ID.EBML, headerSize: 5, data: new Uint8Array(0), offset: 0 },
 *   tracks: { id: ID.Tracks, headerSize: 5, data: new Uint8Array([0xAE, 0x83, 0xD7, 0x81, 0x01]), offset: 0 },
 * });
 * const { bytes, layout } = buildRecordingHead(header, Date.UTC(2026, 11, 1));
 * assertEquals(bytes.length, layout.segmentDataAt + layout.tracksAt + 10);
 * ```
 */
export function buildRecordingHead(
  header: LiveHeader,
  startMs: number,
): { bytes: Uint8Array; layout: RecordingLayout } {
  const { ebml, children } = splitLiveHeader(header.bytes);
  const info = children.find((c) => c.id === ID.Info);
  const tracks = children.find((c) => c.id === ID.Tracks);
  const tags = children.find((c) => c.id === ID.Tags);
  if (!tracks) throw new TypeError("The header has no Tracks");
  const tagsElement = tags && withoutDurationTags(tags.data);
  const title = info && readElements(info.data).find((c) => c.id === ID.Title)?.raw;
  const app = new TextEncoder().encode("mkserver");
  const infoChildren = [
    writeUintElement(ID.TimestampScale, header.timestampScale),
    ...(title ? [title] : []),
    writeInt64Element(ID.DateUTC, toDateUtc(startMs)),
    writeElement(ID.MuxingApp, app),
    writeElement(ID.WritingApp, app),
  ];
  const segmentSizeAt = ebml.length + 4;
  const segmentDataAt = segmentSizeAt + SEGMENT_SIZE_WIDTH;
  const seek = { at: segmentDataAt, length: SEEK_REGION };
  const infoElement = writeElement(ID.Info, concatBytes(infoChildren));
  const infoRegion = { at: seek.at + seek.length, length: infoElement.length + INFO_SLACK };
  const tracksAt = infoRegion.at + infoRegion.length - segmentDataAt;
  const layout: RecordingLayout = {
    segmentSizeAt,
    segmentDataAt,
    seek,
    info: infoRegion,
    infoChildren,
    tracksAt,
    tagsAt: tagsElement ? tracksAt + tracks.raw.length : undefined,
  };
  const bytes = concatBytes([
    ebml,
    writeUnknownSizeHeader(ID.Segment),
    fill(seek, writeSeekHead(layout)),
    fill(infoRegion, infoElement),
    tracks.raw,
    ...(tagsElement ? [tagsElement] : []),
  ]);
  return { bytes, layout };
}

/**
 * Tags without the per-track `DURATION` tags a muxer such as ffmpeg writes at the end of a file:
 * copied from the source, they would give every recording the source file's length. Undefined
 * when nothing is left.
 */
function withoutDurationTags(tags: Uint8Array): Uint8Array | undefined {
  const kept: Uint8Array[] = [];
  for (const tag of readElements(tags)) {
    if (tag.id !== ID.Tag) {
      kept.push(tag.raw);
      continue;
    }
    const children = readElements(tag.data).filter((c) => !isDurationTag(c.id, c.data));
    if (children.some((c) => c.id === ID.SimpleTag)) {
      kept.push(writeElement(ID.Tag, concatBytes(children.map((c) => c.raw))));
    }
  }
  return kept.length === 0 ? undefined : writeElement(ID.Tags, concatBytes(kept));
}

function isDurationTag(id: number, data: Uint8Array): boolean {
  if (id !== ID.SimpleTag) return false;
  const name = readElements(data).find((c) => c.id === ID.TagName);
  return name !== undefined && new TextDecoder().decode(name.data).toUpperCase() === "DURATION";
}

/**
 * The Cues of a file: one CuePoint per entry, in order (RFC 9559, section 5.1.5).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { writeCues } from "./recording_layout.ts";
 * const cues = writeCues([{ time: 0, track: 1, clusterAt: 300 }]);
 * assertEquals(Array.from(cues.subarray(0, 4)), [0x1C, 0x53, 0xBB, 0x6B]);
 * ```
 */
export function writeCues(points: readonly CuePoint[]): Uint8Array {
  const entries = points.map((p) =>
    writeElement(
      ID.CuePoint,
      concatBytes([
        writeUintElement(ID.CueTime, p.time),
        writeElement(
          ID.CueTrackPositions,
          concatBytes([
            writeUintElement(ID.CueTrack, p.track),
            writeUintElement(ID.CueClusterPosition, p.clusterAt),
          ]),
        ),
      ]),
    )
  );
  let size = 0;
  for (const e of entries) size += e.length;
  return concatBytes([writeElementHeader(ID.Cues, size), ...entries]);
}

/** What finishing a recording writes: where its Cues begin, its Duration, where it ends. */
export interface FinishInfo {
  /** Position of the Cues in the Segment (none for a file without them). */
  cuesAt?: number;
  /** Duration in TimestampScale units. */
  duration: number;
  /** Absolute offset of the file's end (the Segment ends there). */
  end: number;
}

/**
 * The in-place rewrites that finish a recording whose Cues are written at `cuesAt`: the
 * SeekHead with a Cues entry, Info with Duration, and the Segment's size, in the order to
 * write them (the size last: until then the file still reads as one being written).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "../ebml/ids.ts";
import { readElements } from "../ebml/read_elements.ts";
 * import { buildLiveHeader } from "./live_header.ts";
 * import { buildRecordingHead, finishPatches } from "./recording_layout.ts";
 * const header = buildLiveHeader({
 *   ebml: { id: ID.EBML, headerSize: 5, data: new Uint8Array(0), offset: 0 },
 *   tracks: { id: ID.Tracks, headerSize: 5, data: new Uint8Array([0xAE, 0x83, 0xD7, 0x81, 0x01]), offset: 0 },
 * });
 * const { bytes, layout } = buildRecordingHead(header, 0);
 * const patches = finishPatches(layout, { duration: 1000, end: bytes.length });
 * assertEquals(patches.map((p) => p.bytes.length), [100, layout.info.length, 8]);
 * ```
 */
export function finishPatches(layout: RecordingLayout, finish: FinishInfo): Patch[] {
  const info = writeElement(
    ID.Info,
    concatBytes([...layout.infoChildren, writeFloatElement(ID.Duration, finish.duration)]),
  );
  const size = new Uint8Array(SEGMENT_SIZE_WIDTH);
  writeVintInto(size, 0, finish.end - layout.segmentDataAt, SEGMENT_SIZE_WIDTH);
  return [
    { at: layout.seek.at, bytes: fill(layout.seek, writeSeekHead(layout, finish.cuesAt)) },
    { at: layout.info.at, bytes: fill(layout.info, info) },
    { at: layout.segmentSizeAt, bytes: size },
  ];
}
