/**
 * An index of one recording file, read a few bytes at a time and kept up to date as the file
 * grows: its header values and where each Cluster is.
 *
 * @module
 */

import { DEFAULT_MAX_ELEMENT_SIZE } from "../ebml/ebml_events.ts";
import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { ID } from "../ebml/ids.ts";
import { readElements } from "../ebml/read_elements.ts";
import { readString } from "../ebml/values.ts";
import { UNKNOWN_SIZE } from "../ebml/vint.ts";
import {
  type ElementHeader,
  type InfoValues,
  isTopLevel,
  readClusterBlocks,
  readClusterStart,
  readElementHeader,
  readInfoValues,
} from "../matroska/file_layout.ts";
import { readTracks, type TrackInfo } from "../matroska/live_header.ts";

/** Where a Cluster is in the file, and what it starts with. */
export interface ClusterEntry {
  /** Offset of its ID. */
  offset: number;
  /** Bytes from its ID to its end. */
  length: number;
  /** Its Timestamp (the file's units). */
  time: number;
  /**
   * Whether its first block of the primary track is a keyframe (video; any block in a file
   * without video): a viewer can start in it.
   */
  keyframe: boolean;
  /** That first block's time (the Cluster's Timestamp when it has none). */
  keyTime: number;
}

/** A recording's header values. */
export interface RecordingHead extends InfoValues {
  /** The EBML header's DocType (`matroska`, `webm`). */
  docType: string;
  tracks: TrackInfo[];
  /** The primary track: the first video track, else the first track. */
  primary: number | undefined;
}

/** Bytes read at each Cluster: its header, Timestamp and first blocks' headers. */
const PROBE = 4096;
/** The largest Cluster indexed: the parser's cap on an element it buffers. */
const MAX_CLUSTER = DEFAULT_MAX_ELEMENT_SIZE;
/** The largest header element read whole (Info, Tracks with CodecPrivate). */
const MAX_HEAD_ELEMENT = 16 * 1024 * 1024;

/** Reads up to `length` bytes at `offset` (fewer at the end of the file). */
export async function readAt(
  file: Deno.FsFile,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  const buffer = new Uint8Array(length);
  await file.seek(offset, Deno.SeekMode.Start);
  let got = 0;
  while (got < length) {
    const n = await file.read(buffer.subarray(got));
    if (n === null) break;
    got += n;
  }
  return buffer.subarray(0, got);
}

/**
 * The index of a recording at `path`: `update()` reads what was added since the last call
 * (one read per new Cluster: its header and first bytes), so a file being written is followed
 * as it grows, and a Cluster only half written is left for the next call.
 *
 * @example
 * ```ts
 * import { assert } from "@std/assert";
 * import { RecordingIndex } from "./recording_index.ts";
 * const index = new RecordingIndex("testdata/sample.webm");
 * await index.update();
 * assert(index.head && index.clusters.length > 0 && index.clusters[0].keyframe);
 * ```
 */
export class RecordingIndex {
  readonly path: string;
  #head: RecordingHead | undefined;
  #clusters: ClusterEntry[] = [];
  /** Where the next top-level element starts. */
  #next = 0;
  #segmentEnd = Infinity;
  #size = 0;
  #cues = false;
  #updating: Promise<void> = Promise.resolve();

  constructor(path: string) {
    this.path = path;
  }

  /** The header values, once read. */
  get head(): RecordingHead | undefined {
    return this.#head;
  }

  /** The Clusters found so far, in file order. */
  get clusters(): readonly ClusterEntry[] {
    return this.#clusters;
  }

  /**
   * Whether Cues follow the Clusters: the recorder has finished the file (they are written
   * last; a file still being written has none yet, whatever Duration it may carry).
   */
  get finished(): boolean {
    return this.#cues;
  }

  /** The file's size at the last `update()`. */
  get size(): number {
    return this.#size;
  }

  /**
   * Reads what the file gained since the last call. A file that shrank (replaced) is read
   * again from the start. Throws what `Deno.open` throws, and `SyntaxError`/`RangeError` for a
   * file that is not Matroska (`EbmlSyntaxError`).
   */
  update(): Promise<void> {
    // One at a time: two viewers joining at once must not index the same Clusters twice.
    const run = this.#updating.then(() => this.#update());
    this.#updating = run.catch(() => {});
    return run;
  }

  async #update(): Promise<void> {
    using file = await Deno.open(this.path, { read: true });
    const { size } = await file.stat();
    if (size < this.#size) {
      this.#head = undefined;
      this.#clusters = [];
      this.#next = 0;
      this.#segmentEnd = Infinity;
      this.#cues = false;
    }
    this.#size = size;
    if (this.#head === undefined) await this.#readHead(file);
    if (this.#head !== undefined) await this.#scan(file);
  }

  async #header(file: Deno.FsFile, at: number): Promise<ElementHeader | undefined> {
    return readElementHeader(await readAt(file, at, 12), 0);
  }

  /** The EBML header, the Segment's start, Info and Tracks: up to the first Cluster. */
  async #readHead(file: Deno.FsFile): Promise<void> {
    const ebml = await this.#header(file, 0);
    if (ebml === undefined || ebml.id !== ID.EBML || ebml.size === UNKNOWN_SIZE) {
      throw new EbmlSyntaxError(`Not a Matroska file: ${this.path}`, 0);
    }
    const ebmlPayload = await readAt(file, ebml.headerSize, ebml.size);
    if (ebmlPayload.length < ebml.size) return; // not written yet
    let docType = "matroska";
    for (const child of readElements(ebmlPayload)) {
      if (child.id === ID.DocType) docType = readString(child.data);
    }
    const segAt = ebml.headerSize + ebml.size;
    const segment = await this.#header(file, segAt);
    if (segment === undefined) return; // not written yet
    if (segment.id !== ID.Segment) {
      throw new EbmlSyntaxError(`No Segment in ${this.path}`, segAt);
    }
    let at = segAt + segment.headerSize;
    const segmentEnd = segment.size === UNKNOWN_SIZE ? Infinity : at + segment.size;
    let info: InfoValues | undefined;
    let tracks: TrackInfo[] | undefined;
    for (;;) {
      const el = await this.#header(file, at);
      if (el === undefined || el.size === UNKNOWN_SIZE) {
        if (el?.id === ID.Cluster && info && tracks) break;
        return; // the head is not whole yet
      }
      if (el.id === ID.Cluster) break;
      if (el.id === ID.Info || el.id === ID.Tracks) {
        if (el.size > MAX_HEAD_ELEMENT) {
          throw new RangeError(`Header element too large in ${this.path}`);
        }
        const payload = await readAt(file, at + el.headerSize, el.size);
        if (payload.length < el.size) return;
        if (el.id === ID.Info) info = readInfoValues(payload);
        else tracks = readTracks(payload);
      }
      at += el.headerSize + el.size;
    }
    if (info === undefined || tracks === undefined) {
      throw new EbmlSyntaxError(`No Info or Tracks before the first Cluster in ${this.path}`, at);
    }
    const primary = tracks.find((t) => t.kind === "video")?.number ?? tracks[0]?.number;
    this.#head = { ...info, docType, tracks, primary };
    this.#next = at;
    this.#segmentEnd = segmentEnd;
  }

  /** Indexes the Clusters from `#next` to the end of what is written. */
  async #scan(file: Deno.FsFile): Promise<void> {
    const primary = this.#head?.primary;
    const video = this.#head?.tracks.some((t) => t.kind === "video") ?? false;
    let at = this.#next;
    while (at < this.#segmentEnd && at < this.#size) {
      const probe = await readAt(file, at, PROBE);
      const el = readElementHeader(probe, 0);
      if (el === undefined) break;
      let length: number;
      if (el.size !== UNKNOWN_SIZE) length = el.headerSize + el.size;
      else if (el.id === ID.Cluster) {
        const end = await this.#unknownEnd(file, at + el.headerSize);
        if (end === undefined) break;
        length = end - at;
      } else break;
      if (el.id === ID.Cluster && length > MAX_CLUSTER) {
        // Each Cluster is read whole to be sent: a size this large is a broken file.
        throw new RangeError(`Cluster too large in ${this.path}: ${length} bytes at ${at}`);
      }
      if (at + length > this.#size) break; // still being written
      if (el.id === ID.Cues) this.#cues = true;
      if (el.id === ID.Cluster) {
        const track = video ? primary : undefined;
        let start = readClusterStart(probe.subarray(el.headerSize, length), track);
        if (start?.first === undefined && length > probe.length) {
          const whole = await readAt(file, at + el.headerSize, length - el.headerSize);
          start = readClusterStart(whole, track);
        }
        if (start !== undefined) {
          const first = start.first;
          this.#clusters.push({
            offset: at,
            length,
            time: start.time,
            keyframe: first?.keyframe ?? false,
            keyTime: first?.time ?? start.time,
          });
        }
      }
      at += length;
    }
    this.#next = at;
  }

  /**
   * The end of the file's media (its units), from its last Cluster: the newest block's time,
   * and for `track` its last block's time and the step from the one before (a frame interval).
   */
  async tail(
    track: number | undefined,
  ): Promise<{ newest?: number; last?: number; step?: number }> {
    const last = this.#clusters.at(-1);
    if (last === undefined) return {};
    using file = await Deno.open(this.path, { read: true });
    const bytes = await readAt(file, last.offset, last.length);
    const header = readElementHeader(bytes, 0);
    if (header === undefined) return {};
    const { time, blocks } = readClusterBlocks(bytes.subarray(header.headerSize));
    const own = blocks.filter((b) => b.track === track).map((b) => b.time);
    const step = own.length > 1 ? own[own.length - 1] - own[own.length - 2] : undefined;
    return {
      newest: blocks.reduce((newest, b) => Math.max(newest, b.time), time),
      last: own.at(-1),
      step: step !== undefined && step > 0 ? step : undefined,
    };
  }

  /** Where an unknown-size Cluster ends: at the next top-level element (RFC 8794, 6.2). */
  async #unknownEnd(file: Deno.FsFile, from: number): Promise<number | undefined> {
    let at = from;
    while (at < this.#size) {
      const el = await this.#header(file, at);
      if (el === undefined) return undefined;
      if (isTopLevel(el.id)) return at;
      if (el.size === UNKNOWN_SIZE) return undefined;
      at += el.headerSize + el.size;
    }
    return at >= this.#segmentEnd ? at : undefined;
  }
}
