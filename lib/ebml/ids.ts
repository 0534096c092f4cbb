/**
 * EBML and Matroska element IDs, kept with their marker bits and named as in the specifications
 * (RFC 8794 section 11 for the EBML header and global elements; the Matroska specification,
 * RFC 9559, for the rest).
 *
 * @module
 */

/** Element IDs by their specification names. */
/**
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "./ids.ts";
 * assertEquals(ID.Cluster, 0x1F43B675);
 * ```
 */
export const ID = {
  // EBML header (RFC 8794, section 11.2)
  EBML: 0x1A45DFA3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42F7,
  EBMLMaxIDLength: 0x42F2,
  EBMLMaxSizeLength: 0x42F3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  // Global elements (RFC 8794, section 11.3)
  CRC32: 0xBF,
  Void: 0xEC,
  // Matroska (RFC 9559)
  Segment: 0x18538067,
  SeekHead: 0x114D9B74,
  Info: 0x1549A966,
  TimestampScale: 0x2AD7B1,
  Duration: 0x4489,
  DateUTC: 0x4461,
  Title: 0x7BA9,
  MuxingApp: 0x4D80,
  WritingApp: 0x5741,
  Tracks: 0x1654AE6B,
  TrackEntry: 0xAE,
  TrackNumber: 0xD7,
  TrackUID: 0x73C5,
  TrackType: 0x83,
  FlagDefault: 0x88,
  CodecID: 0x86,
  CodecPrivate: 0x63A2,
  DefaultDuration: 0x23E383,
  Language: 0x22B59C,
  Name: 0x536E,
  Video: 0xE0,
  PixelWidth: 0xB0,
  PixelHeight: 0xBA,
  Audio: 0xE1,
  SamplingFrequency: 0xB5,
  Channels: 0x9F,
  Cluster: 0x1F43B675,
  Timestamp: 0xE7,
  SilentTracks: 0x5854,
  Position: 0xA7,
  PrevSize: 0xAB,
  SimpleBlock: 0xA3,
  BlockGroup: 0xA0,
  Block: 0xA1,
  BlockAdditions: 0x75A1,
  BlockDuration: 0x9B,
  ReferencePriority: 0xFA,
  ReferenceBlock: 0xFB,
  CodecState: 0xA4,
  DiscardPadding: 0x75A2,
  EncryptedBlock: 0xAF,
  Cues: 0x1C53BB6B,
  Attachments: 0x1941A469,
  Chapters: 0x1043A770,
  Tags: 0x1254C367,
  // Appended for the fMP4 writer's tests (RFC 9559, section 5.1.4.1.20 and .21)
  CodecDelay: 0x56AA,
  SeekPreRoll: 0x56BB,
  // Appended for the recorder: the index of a finished file (RFC 9559, sections 5.1.1 and 5.1.5)
  Seek: 0x4DBB,
  SeekID: 0x53AB,
  SeekPosition: 0x53AC,
  CuePoint: 0xBB,
  CueTime: 0xB3,
  CueTrackPositions: 0xB7,
  CueTrack: 0xF7,
  CueClusterPosition: 0xF1,
  Tag: 0x7373,
  SimpleTag: 0x67C8,
  TagName: 0x45A3,
} as const;

/** How the streaming parser treats an element. */
export type ElementKind =
  /** Descend: emit `start`, the children, then `end`. May have unknown size. */
  | "master"
  /** Deliver the whole payload as one view (a leaf, or a master parsed later with `readElements`). */
  | "buffer"
  /** Discard without buffering. */
  | "skip";

/** What the parser needs to know of an element: its kind and its level (0 = top). */
export interface ElementSpec {
  kind: ElementKind;
  /** Depth in the document: 0 for EBML and Segment, 1 for Segment's children, and so on. */
  level: number;
}

/** A schema: element specs by ID. IDs not in it are skipped. */
export type EbmlSchema = ReadonlyMap<number, ElementSpec>;

/**
 * The parser's schema for live Matroska: Segment and Cluster are walked; the header elements
 * and blocks are delivered whole; SeekHead, Cues, Chapters and Attachments are skipped since a
 * live stream has no use for them (and they can be large).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID, MATROSKA_SCHEMA } from "./ids.ts";
 * assertEquals(MATROSKA_SCHEMA.get(ID.Cluster)?.kind, "master");
 * ```
 */
export const MATROSKA_SCHEMA: EbmlSchema = new Map<number, ElementSpec>([
  [ID.EBML, { kind: "buffer", level: 0 }],
  [ID.Segment, { kind: "master", level: 0 }],
  [ID.SeekHead, { kind: "skip", level: 1 }],
  [ID.Info, { kind: "buffer", level: 1 }],
  [ID.Tracks, { kind: "buffer", level: 1 }],
  [ID.Cluster, { kind: "master", level: 1 }],
  [ID.Cues, { kind: "skip", level: 1 }],
  [ID.Attachments, { kind: "skip", level: 1 }],
  [ID.Chapters, { kind: "skip", level: 1 }],
  [ID.Tags, { kind: "buffer", level: 1 }],
  [ID.Timestamp, { kind: "buffer", level: 2 }],
  [ID.SilentTracks, { kind: "skip", level: 2 }],
  [ID.Position, { kind: "skip", level: 2 }],
  [ID.PrevSize, { kind: "skip", level: 2 }],
  [ID.SimpleBlock, { kind: "buffer", level: 2 }],
  [ID.BlockGroup, { kind: "buffer", level: 2 }],
  [ID.EncryptedBlock, { kind: "skip", level: 2 }],
]);

/** Formats an element ID as the specification writes it, e.g. `0x1F43B675`. */
/**
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { formatId } from "./ids.ts";
 * assertEquals(formatId(0x1A45DFA3), "0x1A45DFA3");
 * ```
 */
export function formatId(id: number): string {
  return `0x${id.toString(16).toUpperCase()}`;
}
