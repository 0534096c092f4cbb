/**
 * The live header: what every viewer receives first (EBML header, Segment of unknown size, Info
 * without Duration, Tracks, Tags), and what mkserver knows of the stream's tracks.
 *
 * @module
 */

import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { ID } from "../ebml/ids.ts";
import { readElements } from "../ebml/read_elements.ts";
import { readFloatElement, readString, readUintElement } from "../ebml/values.ts";
import {
  concatBytes,
  writeElementHeader,
  writeUintElement,
  writeUnknownSizeHeader,
} from "../ebml/writer.ts";

/** The Matroska default TimestampScale: 1,000,000 ns, so timestamps count milliseconds. */
export const DEFAULT_TIMESTAMP_SCALE = 1_000_000;

/** Track kinds by Matroska TrackType (RFC 9559, section 5.1.4.1.3). */
export type TrackKind = "video" | "audio" | "subtitle" | "other";

/** What mkserver knows of a track. */
export interface TrackInfo {
  number: number;
  kind: TrackKind;
  /** TrackType as written (1 video, 2 audio, 17 subtitle, …). */
  type: number;
  codecId: string;
  /**
   * CodecPrivate as received (a copy: the parser's views may point into a reused read
   * buffer): the decoder's setup, such as H.264's SPS and PPS, which also fix the picture size.
   */
  codecPrivate?: Uint8Array;
  width?: number;
  height?: number;
  sampleRate?: number;
  channels?: number;
}

/** The header captured once from the source and rewritten for live use. */
export interface LiveHeader {
  /** The bytes every viewer gets first. */
  bytes: Uint8Array;
  /** DocType of the EBML header, e.g. `webm` or `matroska`. */
  docType: string;
  /** Nanoseconds per timestamp unit. */
  timestampScale: number;
  tracks: TrackInfo[];
}

/** An element as the parser delivered it: payload and header size. */
export interface ReceivedElement {
  id: number;
  headerSize: number;
  data: Uint8Array;
  offset: number;
}

/** The EBML header's raw bytes, rebuilt as received (same size width), and its DocType. */
export function readEbmlHeader(
  element: ReceivedElement,
): { raw: Uint8Array; docType: string } {
  const idLength = 4;
  const raw = concatBytes([
    writeElementHeader(
      ID.EBML,
      element.data.length,
      element.headerSize - idLength,
    ),
    element.data,
  ]);
  let docType = "matroska";
  for (
    const child of readElements(
      element.data,
      element.offset + element.headerSize,
    )
  ) {
    if (child.id === ID.DocType) docType = readString(child.data);
  }
  return { raw, docType };
}

function trackKind(type: number): TrackKind {
  if (type === 1) return "video";
  if (type === 2) return "audio";
  if (type === 17) return "subtitle";
  return "other";
}

/** Reads the tracks of a Tracks element's payload. */
/**
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { readTracks } from "./live_header.ts";
 * // One TrackEntry: TrackNumber 1, TrackType 2 (audio), CodecID "A_OPUS".
 * const entry = [0xD7, 0x81, 0x01, 0x83, 0x81, 0x02, 0x86, 0x86, ...new TextEncoder().encode("A_OPUS")];
 * const [track] = readTracks(new Uint8Array([0xAE, 0x80 | entry.length, ...entry]));
 * assertEquals([track.number, track.kind, track.codecId], [1, "audio", "A_OPUS"]);
 * ```
 */
export function readTracks(data: Uint8Array, base = 0): TrackInfo[] {
  const tracks: TrackInfo[] = [];
  for (const entry of readElements(data, base)) {
    if (entry.id !== ID.TrackEntry) continue;
    const track: TrackInfo = { number: 0, kind: "other", type: 0, codecId: "" };
    const entryBase = base + entry.offset + entry.headerSize;
    for (const field of readElements(entry.data, entryBase)) {
      // Payload offsets, for errors: malformed values are syntax errors, not RangeError.
      const at = entryBase + field.offset + field.headerSize;
      switch (field.id) {
        case ID.TrackNumber:
          track.number = readUintElement(field.data, at);
          break;
        case ID.TrackType:
          track.type = readUintElement(field.data, at);
          track.kind = trackKind(track.type);
          break;
        case ID.CodecID:
          track.codecId = readString(field.data);
          break;
        case ID.CodecPrivate:
          track.codecPrivate = field.data.slice();
          break;
        case ID.Video:
          for (const v of readElements(field.data, at)) {
            const vAt = at + v.offset + v.headerSize;
            if (v.id === ID.PixelWidth) {
              track.width = readUintElement(v.data, vAt);
            }
            if (v.id === ID.PixelHeight) {
              track.height = readUintElement(v.data, vAt);
            }
          }
          break;
        case ID.Audio:
          for (const a of readElements(field.data, at)) {
            const aAt = at + a.offset + a.headerSize;
            if (a.id === ID.SamplingFrequency) {
              track.sampleRate = readFloatElement(a.data, aAt);
            }
            if (a.id === ID.Channels) {
              track.channels = readUintElement(a.data, aAt);
            }
          }
          break;
      }
    }
    if (track.number === 0) {
      throw new EbmlSyntaxError(
        "TrackEntry without a TrackNumber",
        base + entry.offset,
      );
    }
    tracks.push(track);
  }
  return tracks;
}

/** Tracks and TimestampScale in words, for messages (CodecPrivate as its length). */
export function describeTrackSet(header: Pick<LiveHeader, "timestampScale" | "tracks">): string {
  const track = (t: TrackInfo) =>
    `${t.number}:${t.kind}:${t.codecId}` +
    (t.codecPrivate ? `+${t.codecPrivate.length} bytes of CodecPrivate` : "");
  return `${header.timestampScale}|${header.tracks.map(track).join(",")}`;
}

/** Whether two byte arrays (either may be absent) hold the same bytes. */
export function sameBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether a stream with header `b` can continue one begun with header `a` without a second
 * header: the same TimestampScale, and the same tracks by number, kind, codec and CodecPrivate.
 * CodecPrivate counts because it is the decoder's setup: a new H.264 or HEVC SPS/PPS (another
 * picture size) under the old header breaks players, so it is a different track set.
 */
export function sameTrackSet(
  a: Pick<LiveHeader, "timestampScale" | "tracks">,
  b: Pick<LiveHeader, "timestampScale" | "tracks">,
): boolean {
  if (a.timestampScale !== b.timestampScale || a.tracks.length !== b.tracks.length) return false;
  return a.tracks.every((t, i) => {
    const u = b.tracks[i];
    return t.number === u.number && t.kind === u.kind && t.codecId === u.codecId &&
      sameBytes(t.codecPrivate, u.codecPrivate);
  });
}

/** The parts a live header is built from, as the parser delivered them. */
export interface HeaderParts {
  ebml: ReceivedElement;
  info?: ReceivedElement;
  tracks: ReceivedElement;
  tags?: ReceivedElement;
}

/**
 * Builds the live header: the EBML header as received, a Segment of unknown size (a live stream
 * has no end to point to), Info without Duration, Tracks, and Tags when present. SeekHead,
 * Cues, Chapters and Attachments are left out: they point into a file that viewers never see.
 *
 * @example The live header of a file: its EBML header, Info and Tracks as the parser delivered them
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { EbmlReader, type EbmlElementEvent } from "../ebml/ebml_reader.ts";
 * import { ID } from "../ebml/ids.ts";
 * import { buildLiveHeader } from "./live_header.ts";
 * const parts = new Map<number, EbmlElementEvent>();
 * new EbmlReader().push(await Deno.readFile("testdata/sample.webm"), (e) => {
 *   if (e.type === "element" && !parts.has(e.id)) parts.set(e.id, e);
 * });
 * const ebml = parts.get(ID.EBML);
 * const tracks = parts.get(ID.Tracks);
 * assert(ebml && tracks);
 * const header = buildLiveHeader({ ebml, info: parts.get(ID.Info), tracks });
 * assertEquals(header.docType, "webm");
 * assertEquals(header.timestampScale, 1_000_000);
 * assertEquals(header.tracks.map((t) => t.kind), ["video", "audio"]);
 * // The EBML header as received, then a Segment of unknown size.
 * assertEquals(header.bytes.subarray(0, 4), new Uint8Array([0x1A, 0x45, 0xDF, 0xA3]));
 * ```
 */
export function buildLiveHeader(parts: HeaderParts): LiveHeader {
  const { raw, docType } = readEbmlHeader(parts.ebml);
  let timestampScale = DEFAULT_TIMESTAMP_SCALE;
  const infoChildren: Uint8Array[] = [];
  if (parts.info) {
    const base = parts.info.offset + parts.info.headerSize;
    for (const child of readElements(parts.info.data, base)) {
      if (child.id === ID.Duration) continue;
      if (child.id === ID.TimestampScale) {
        timestampScale = readUintElement(
          child.data,
          base + child.offset + child.headerSize,
        );
      }
      infoChildren.push(child.raw);
    }
  } else {
    infoChildren.push(
      writeUintElement(ID.TimestampScale, DEFAULT_TIMESTAMP_SCALE),
    );
  }
  if (timestampScale <= 0) {
    throw new EbmlSyntaxError(
      "TimestampScale must be positive",
      parts.info?.offset ?? 0,
    );
  }
  const infoSize = infoChildren.reduce((n, c) => n + c.length, 0);
  const tracks = readTracks(
    parts.tracks.data,
    parts.tracks.offset + parts.tracks.headerSize,
  );
  const pieces = [
    raw,
    writeUnknownSizeHeader(ID.Segment),
    writeElementHeader(ID.Info, infoSize),
    ...infoChildren,
    writeElementHeader(ID.Tracks, parts.tracks.data.length),
    parts.tracks.data,
  ];
  if (parts.tags) {
    pieces.push(
      writeElementHeader(ID.Tags, parts.tags.data.length),
      parts.tags.data,
    );
  }
  return { bytes: concatBytes(pieces), docType, timestampScale, tracks };
}

/**
 * The HTTP Content-Type for a stream: `video/webm` or `audio/webm` for DocType `webm`, else
 * `video/x-matroska` or `audio/x-matroska`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { contentTypeOf } from "./live_header.ts";
 * const tracks = [{ number: 1, kind: "video", type: 1, codecId: "V_VP8" }] as const;
 * assertEquals(contentTypeOf({ docType: "webm", tracks: [...tracks] }), "video/webm");
 * ```
 */
export function contentTypeOf(
  header: Pick<LiveHeader, "docType" | "tracks">,
): string {
  const video = header.tracks.some((t) => t.kind === "video");
  const kind = video ? "video" : "audio";
  return header.docType === "webm" ? `${kind}/webm` : `${kind}/x-matroska`;
}
