/**
 * A single-track header cut from the live header: the WebM DASH initialization segment (EBML
 * header, Segment of unknown size, Info, Tracks holding one TrackEntry) of one track.
 *
 * @module
 */

import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { ID } from "../ebml/ids.ts";
import { type EbmlChild, readElements } from "../ebml/read_elements.ts";
import { readUintElement } from "../ebml/values.ts";
import { readVint } from "../ebml/vint.ts";
import { concatBytes, writeElementHeader, writeUnknownSizeHeader } from "../ebml/writer.ts";
import type { LiveHeader } from "./live_header.ts";

/**
 * The EBML header and the Segment's children of a live header (whose Segment has unknown size),
 * with the offset of the first child.
 */
export function splitLiveHeader(bytes: Uint8Array): {
  ebml: Uint8Array;
  children: EbmlChild[];
  childrenAt: number;
} {
  const idLength = 4;
  const size = readVint(bytes, idLength);
  if (size === undefined) throw new EbmlSyntaxError("Truncated EBML header", 0);
  const ebmlEnd = idLength + size.length + size.value;
  // The Segment header: 4-byte ID and an unknown size of any width.
  const segmentSize = readVint(bytes, ebmlEnd + idLength);
  if (segmentSize === undefined) throw new EbmlSyntaxError("Truncated Segment", ebmlEnd);
  const childrenAt = ebmlEnd + idLength + segmentSize.length;
  return {
    ebml: bytes.subarray(0, ebmlEnd),
    children: readElements(bytes.subarray(childrenAt), childrenAt),
    childrenAt,
  };
}

/**
 * The header of `track` alone: what a WebM DASH Representation's initialization segment holds
 * (WebM DASH spec: EBML header, Segment, Info, Tracks; media segments are Clusters). Tags are
 * left out: they refer to tracks a single-track file does not have (ffmpeg warns "tags refer to a
 * non-existent track").
 *
 * @throws {RangeError} when the header has no such track
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "../ebml/ids.ts";
 * import { buildLiveHeader } from "./live_header.ts";
 * import { singleTrackHeader } from "./track_header.ts";
 * const tracks = new Uint8Array([0xAE, 0x83, 0xD7, 0x81, 0x02]); // TrackEntry, TrackNumber 2
 * const header = buildLiveHeader({
 *   ebml: { id: ID.EBML, headerSize: 5, data: new Uint8Array(0), offset: 0 },
 *   tracks: { id: ID.Tracks, headerSize: 5, data: tracks, offset: 0 },
 * });
 * const init = singleTrackHeader(header, 2);
 * assertEquals(init.subarray(init.length - tracks.length), tracks);
 * ```
 */
export function singleTrackHeader(header: LiveHeader, track: number): Uint8Array {
  const { ebml, children, childrenAt } = splitLiveHeader(header.bytes);
  const info = children.find((c) => c.id === ID.Info);
  const tracks = children.find((c) => c.id === ID.Tracks);
  if (!tracks) throw new EbmlSyntaxError("Live header without Tracks", childrenAt);
  const tracksAt = childrenAt + tracks.offset + tracks.headerSize;
  const entry = readElements(tracks.data, tracksAt).find((e) => {
    if (e.id !== ID.TrackEntry) return false;
    const number = readElements(e.data).find((f) => f.id === ID.TrackNumber);
    return number !== undefined && readUintElement(number.data, 0) === track;
  });
  if (!entry) throw new RangeError(`The stream has no track ${track}`);
  return concatBytes([
    ebml,
    writeUnknownSizeHeader(ID.Segment),
    ...(info ? [info.raw] : []),
    writeElementHeader(ID.Tracks, entry.raw.length),
    entry.raw,
  ]);
}
