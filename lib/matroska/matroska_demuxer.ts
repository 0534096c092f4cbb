/**
 * From EBML events to the live header and blocks.
 *
 * @module
 */

import type { EbmlEvent } from "../ebml/ebml_reader.ts";
import { EbmlSyntaxError } from "../ebml/ebml_syntax_error.ts";
import { ID } from "../ebml/ids.ts";
import { readUintElement } from "../ebml/values.ts";
import { type Block, readBlockGroup, readSimpleBlock, readSimpleBlockParts } from "./block.ts";
import { buildLiveHeader, type LiveHeader, type ReceivedElement } from "./live_header.ts";

/**
 * The elements a `MatroskaDemuxer` takes in pieces (an `EbmlReader`'s `inParts`): SimpleBlock,
 * whose frames then reach the consumers as views of the input chunks, never copied.
 */
export const BLOCK_PARTS: ReadonlySet<number> = new Set([ID.SimpleBlock]);

/** What the demuxer reports: the header once, then blocks. */
export type MatroskaEvent =
  | { type: "header"; header: LiveHeader }
  | { type: "block"; block: Block }
  /** The source's Cluster ended: what arrived so far can go out (a relay adds no delay). */
  | { type: "clusterEnd" };

/**
 * Turns EBML events into the live header (once, when the first Cluster begins) and blocks with
 * absolute times.
 *
 * A second EBML header (a concatenated or looped file, a restarted source) continues the same
 * stream when its tracks match: its blocks are shifted so that timestamps keep increasing, and its
 * header is not sent again. Different tracks or TimestampScale throw `TypeError`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EbmlReader } from "../ebml/ebml_reader.ts";
 * import { MatroskaDemuxer } from "./matroska_demuxer.ts";
 * const reader = new EbmlReader();
 * const demuxer = new MatroskaDemuxer();
 * const bytes = await Deno.readFile("testdata/sample.webm");
 * let blocks = 0;
 * reader.push(bytes, (e) => demuxer.push(e, (m) => { if (m.type === "block") blocks++; }));
 * assertEquals(demuxer.header?.docType, "webm");
 * assertEquals(blocks > 0, true);
 * ```
 */
export class MatroskaDemuxer {
  #header: LiveHeader | undefined;
  #ebml: ReceivedElement | undefined;
  #info: ReceivedElement | undefined;
  #tracks: ReceivedElement | undefined;
  #tags: ReceivedElement | undefined;
  /** Whether the current segment's header parts have been handled (sent or checked). */
  #segmentReady = false;
  #segments = 0;
  #clusterTime = 0;
  #timeOffset = 0;
  #shiftPending = false;
  #primaryTrack = 0;
  #lastPrimaryTime = -Infinity;
  #lastDelta = 0;
  #maxTime = -Infinity;

  /** The live header, once the first Cluster has begun. */
  get header(): LiveHeader | undefined {
    return this.#header;
  }

  /** How many EBML documents (Segments) have started. */
  get segments(): number {
    return this.#segments;
  }

  /** Handles one parser event, calling `emit` for what it completes. */
  push(event: EbmlEvent, emit: (event: MatroskaEvent) => void): void {
    if (event.type === "element") {
      switch (event.id) {
        case ID.SimpleBlock:
          this.#ready(event.offset, emit);
          this.#emitBlock(
            event.more
              ? readSimpleBlockParts(
                event.data,
                event.more,
                this.#clusterTime,
                event.offset + event.headerSize,
              )
              : readSimpleBlock(event.data, this.#clusterTime, event.offset + event.headerSize),
            emit,
          );
          return;
        case ID.BlockGroup:
          this.#ready(event.offset, emit);
          this.#emitBlock(
            readBlockGroup(
              event.data,
              this.#clusterTime,
              event.offset + event.headerSize,
            ),
            emit,
          );
          return;
        case ID.Timestamp:
          this.#clusterTime = readUintElement(
            event.data,
            event.offset + event.headerSize,
          );
          return;
        case ID.EBML:
          this.#segments++;
          this.#ebml = event;
          this.#info = this.#tracks = this.#tags = undefined;
          this.#segmentReady = false;
          return;
        case ID.Info:
          this.#info = event;
          return;
        case ID.Tracks:
          this.#tracks = event;
          return;
        case ID.Tags:
          if (!this.#segmentReady) this.#tags = event;
          return;
      }
    } else if (event.type === "start") {
      if (event.id === ID.Cluster) {
        this.#ready(event.offset, emit);
        this.#clusterTime = 0;
      }
    } else if (event.id === ID.Cluster && this.#segmentReady) {
      emit({ type: "clusterEnd" });
    } else if (event.id === ID.Segment && this.#tracks && !this.#segmentReady) {
      this.#ready(event.offset, emit);
    }
  }

  /** Builds the header when the first Cluster (or block) of a segment arrives. */
  #ready(offset: number, emit: (event: MatroskaEvent) => void): void {
    if (this.#segmentReady) return;
    if (this.#ebml === undefined) {
      throw new EbmlSyntaxError("Matroska data before any EBML header", offset);
    }
    if (this.#tracks === undefined) {
      throw new EbmlSyntaxError("Cluster before the Tracks element", offset);
    }
    const header = buildLiveHeader({
      ebml: this.#ebml,
      info: this.#info,
      tracks: this.#tracks,
      tags: this.#tags,
    });
    this.#segmentReady = true;
    if (this.#header === undefined) {
      this.#header = header;
      const video = header.tracks.find((t) => t.kind === "video");
      this.#primaryTrack = (video ?? header.tracks[0])?.number ?? 0;
      emit({ type: "header", header });
      return;
    }
    const previous = this.#header;
    const describe = (h: LiveHeader) =>
      h.tracks.map((t) => `${t.number}:${t.kind}:${t.codecId}`).join(", ");
    if (describe(previous) !== describe(header)) {
      throw new TypeError(
        `New segment changes the tracks: was ${describe(previous)}, now ${describe(header)}`,
      );
    }
    if (previous.timestampScale !== header.timestampScale) {
      throw new TypeError(
        `New segment changes the TimestampScale: was ${previous.timestampScale}, now ${header.timestampScale}`,
      );
    }
    this.#shiftPending = true;
  }

  #emitBlock(block: Block, emit: (event: MatroskaEvent) => void): void {
    if (this.#shiftPending) {
      // Continue after the previous segment's last block, one frame interval later.
      this.#shiftPending = false;
      const next = this.#maxTime === -Infinity ? 0 : this.#maxTime + Math.max(this.#lastDelta, 1);
      this.#timeOffset = next - block.time;
      this.#lastPrimaryTime = -Infinity;
    }
    block.time += this.#timeOffset;
    if (!Number.isSafeInteger(block.time)) {
      // A Cluster Timestamp near 2^53 plus a relative time, or shifted by earlier segments.
      throw new RangeError(
        `Block timestamp too large: ${block.time} exceeds 2^53 - 1`,
      );
    }
    if (block.time > this.#maxTime) this.#maxTime = block.time;
    if (block.track === this.#primaryTrack) {
      const delta = block.time - this.#lastPrimaryTime;
      if (delta > 0 && delta !== Infinity) this.#lastDelta = delta;
      this.#lastPrimaryTime = block.time;
    }
    emit({ type: "block", block });
  }
}
