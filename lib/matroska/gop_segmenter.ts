/**
 * Re-clustering at keyframes: every GOP starts a new Cluster.
 *
 * @module
 */

import { ID } from "../ebml/ids.ts";
import { measureVint, writeVintInto } from "../ebml/vint.ts";
import { writeElementHeader, writeIdInto, writeUintElement } from "../ebml/writer.ts";
import type { Block } from "./block.ts";
import type { LiveHeader } from "./live_header.ts";

const SIMPLE_BLOCK_ID = 0xA3;
/** Bytes of block headers per arena: about 1,500 blocks, 20 s of a 25 fps stream with audio. */
const ARENA_SIZE = 16 * 1024;

/** A Cluster written by the segmenter: new header arrays beside views of the source's payloads. */
export interface OutputCluster {
  /** The Cluster's Timestamp, in TimestampScale units. */
  time: number;
  /** Whether it begins a GOP: its first block is a keyframe of the primary video track. */
  keyframe: boolean;
  /** The Cluster's bytes, in order: small new arrays and `subarray` views of the input. */
  parts: Uint8Array[];
  /** Total length of `parts`. */
  byteLength: number;
  /** Number of blocks in it. */
  blocks: number;
}

/** Options of `GopSegmenter`. */
export interface GopSegmenterOptions {
  /**
   * Longest Cluster in milliseconds (default 1000): the GOP in progress reaches viewers at least
   * this often, so a long GOP never means a long wait.
   */
  maxClusterDuration?: number;
  /**
   * Emit every block at once (Clusters of unknown size, one output per block) instead of whole
   * Clusters: latency of one block, at the cost of many small writes.
   */
  lowLatency?: boolean;
}

/** A Cluster header of unknown size (1-byte size `FF`), for low-latency mode. */
const CLUSTER_UNKNOWN_SIZE = new Uint8Array([0x1F, 0x43, 0xB6, 0x75, 0xFF]);

/** Relative block times are signed 16-bit (RFC 9559, section 10.1). */
const INT16_MIN = -0x8000;
const INT16_MAX = 0x7fff;

/**
 * Cuts the block sequence into Clusters: a new Cluster (and GOP) at every keyframe of the
 * first video track (for audio-only streams, about every `maxClusterDuration`), another when a
 * Cluster reaches `maxClusterDuration`, and another before a relative time would overflow int16.
 * Blocks before the first keyframe are dropped, so the output starts on one.
 *
 * Each Cluster is written as small new arrays (Cluster ID and size, Timestamp, block headers
 * with rewritten relative times) beside `subarray` views of the original frame data: payload
 * bytes pass through untouched.
 *
 * @example Re-cluster a file: every Cluster begins a GOP, and no block is lost after the first keyframe
 * ```ts
 * import { assert, assertEquals } from "@std/assert";
 * import { EbmlReader } from "../ebml/ebml_reader.ts";
 * import type { Block } from "./block.ts";
 * import { GopSegmenter, type OutputCluster } from "./gop_segmenter.ts";
 * import { MatroskaDemuxer } from "./matroska_demuxer.ts";
 * const demuxer = new MatroskaDemuxer();
 * const blocks: Block[] = [];
 * new EbmlReader().push(await Deno.readFile("testdata/sample.webm"), (e) =>
 *   demuxer.push(e, (m) => {
 *     if (m.type === "block") blocks.push(m.block);
 *   }));
 * assert(demuxer.header);
 * const segmenter = new GopSegmenter(demuxer.header);
 * const clusters: OutputCluster[] = [];
 * for (const block of blocks) {
 *   const cluster = segmenter.push(block);
 *   if (cluster) clusters.push(cluster);
 * }
 * const last = segmenter.flush();
 * if (last) clusters.push(last);
 * assertEquals(clusters[0].keyframe, true);
 * const written = clusters.reduce((n, c) => n + c.blocks, 0);
 * assertEquals(written + segmenter.droppedBlocks, blocks.length);
 * ```
 */
export class GopSegmenter {
  #primary: number | undefined;
  #maxDuration: number;
  #started = false;
  #lowLatency: boolean;
  #llOpen = false;
  #dropped = 0;
  #time = 0;
  #keyframe = false;
  #parts: Uint8Array[] = [];
  /**
   * Block headers are views of a shared arena: a new small `Uint8Array` costs about 300 ns in
   * Deno (each has its own off-heap backing store), a view about 25 ns. An arena lives as long
   * as a Cluster written into it does.
   */
  #arena = new Uint8Array(0);
  #arenaAt = 0;
  #size = 0;
  #blocks = 0;

  constructor(
    header: Pick<LiveHeader, "tracks" | "timestampScale">,
    options: GopSegmenterOptions = {},
  ) {
    const ms = options.maxClusterDuration ?? 1000;
    if (!(ms > 0)) throw new TypeError(`Invalid maxClusterDuration: ${ms}`);
    this.#lowLatency = options.lowLatency ?? false;
    this.#primary = header.tracks.find((t) => t.kind === "video")?.number;
    this.#maxDuration = Math.max(
      1,
      Math.round((ms * 1e6) / header.timestampScale),
    );
  }

  /** Blocks dropped because they came before the first keyframe. */
  get droppedBlocks(): number {
    return this.#dropped;
  }

  /** The primary video track's number, or `undefined` for an audio-only stream. */
  get primaryTrack(): number | undefined {
    return this.#primary;
  }

  /** Adds a block; returns the Cluster it completed, if it cut one. */
  push(block: Block): OutputCluster | undefined {
    const open = this.#lowLatency ? this.#llOpen : this.#blocks > 0;
    const elapsed = block.time - this.#time;
    const gopStart = this.#primary === undefined
      ? !open || elapsed >= this.#maxDuration
      : block.track === this.#primary && block.keyframe;
    if (!this.#started) {
      if (!gopStart) {
        this.#dropped++;
        return undefined;
      }
      this.#started = true;
    }
    const cut = open &&
      (gopStart || elapsed >= this.#maxDuration || elapsed > INT16_MAX ||
        elapsed < INT16_MIN);
    if (this.#lowLatency) return this.#pushNow(block, gopStart, cut || !open);
    let done: OutputCluster | undefined;
    if (cut) {
      done = this.#cut();
    }
    if (this.#blocks === 0) {
      this.#time = Math.max(0, block.time);
      this.#keyframe = gopStart;
    }
    const relative = block.time - this.#time;
    if (relative < INT16_MIN) {
      this.#dropped++; // a negative absolute time no Cluster Timestamp can reach
      return done;
    }
    this.#write(block, relative);
    return done;
  }

  /**
   * Starts over at the next keyframe (a new source took over): cuts the open Cluster (returned)
   * and drops blocks until a keyframe, since the new source's first frames may depend on
   * frames viewers never got.
   */
  resync(): OutputCluster | undefined {
    const last = this.flush();
    this.#started = false;
    this.#llOpen = false;
    return last;
  }

  /** Cuts the open Cluster, if any (at the end of the stream). */
  flush(): OutputCluster | undefined {
    return this.#blocks > 0 ? this.#cut() : undefined;
  }

  /**
   * Low-latency mode: the block goes out at once, after a new Cluster header of unknown size
   * when a Cluster begins (RFC 8794 section 6.2 ends it where the next Cluster begins).
   */
  #pushNow(
    block: Block,
    gopStart: boolean,
    begin: boolean,
  ): OutputCluster | undefined {
    if (begin) {
      this.#time = Math.max(0, block.time);
      this.#llOpen = true;
    }
    const relative = block.time - this.#time;
    if (relative < INT16_MIN) {
      this.#dropped++;
      return undefined;
    }
    this.#write(block, relative);
    const parts = begin
      ? [
        CLUSTER_UNKNOWN_SIZE,
        writeUintElement(ID.Timestamp, this.#time),
        ...this.#parts,
      ]
      : this.#parts;
    let byteLength = 0;
    for (const part of parts) byteLength += part.length;
    const fragment: OutputCluster = {
      time: begin ? this.#time : Math.max(this.#time, block.time),
      keyframe: begin && gopStart,
      parts,
      byteLength,
      blocks: 1,
    };
    this.#parts = [];
    this.#size = 0;
    this.#blocks = 0;
    return fragment;
  }

  #write(block: Block, relative: number): void {
    const trackLength = measureVint(block.track);
    let frameBytes = block.frames.length;
    if (block.more) { for (const piece of block.more) frameBytes += piece.length; }
    const blockSize = trackLength + 3 + frameBytes;
    let header: Uint8Array;
    let at: number;
    if (block.group) {
      let extraSize = 0;
      for (const e of block.extra) extraSize += e.length;
      const innerSize = 1 + measureVint(blockSize) + blockSize + extraSize;
      const groupLength = 1 + measureVint(innerSize);
      header = this.#take(groupLength + 1 + measureVint(blockSize) + trackLength + 3);
      at = writeIdInto(header, 0, ID.BlockGroup);
      at += writeVintInto(header, at, innerSize);
      at += writeIdInto(header, at, ID.Block);
      at += writeVintInto(header, at, blockSize);
      this.#size += groupLength + innerSize;
    } else {
      const sizeLength = measureVint(blockSize);
      header = this.#take(1 + sizeLength + trackLength + 3);
      header[0] = SIMPLE_BLOCK_ID; // one byte: ID.SimpleBlock
      at = 1;
      at += writeVintInto(header, at, blockSize, sizeLength);
      this.#size += 1 + sizeLength + blockSize;
    }
    at += writeVintInto(header, at, block.track, trackLength);
    header[at] = (relative >> 8) & 0xff;
    header[at + 1] = relative & 0xff;
    header[at + 2] = block.flags;
    this.#parts.push(header, block.frames);
    // A block that spanned input chunks: its other pieces, in order (views, as `frames` is).
    if (block.more) { for (const piece of block.more) this.#parts.push(piece); }
    if (block.group) {
      // Not push(...extra): a BlockGroup of a few MiB can hold more children than a call has
      // room for arguments (RangeError: Maximum call stack size exceeded).
      for (const e of block.extra) this.#parts.push(e);
    }
    this.#blocks++;
  }

  /** `length` bytes of the arena, as a view. */
  #take(length: number): Uint8Array {
    if (this.#arenaAt + length > this.#arena.length) {
      this.#arena = new Uint8Array(Math.max(ARENA_SIZE, length));
      this.#arenaAt = 0;
    }
    const at = this.#arenaAt;
    this.#arenaAt += length;
    return this.#arena.subarray(at, at + length);
  }

  #cut(): OutputCluster {
    const timestamp = writeUintElement(ID.Timestamp, this.#time);
    const payload = timestamp.length + this.#size;
    const head = writeElementHeader(ID.Cluster, payload);
    const parts = [head, timestamp, ...this.#parts];
    const cluster: OutputCluster = {
      time: this.#time,
      keyframe: this.#keyframe,
      parts,
      byteLength: head.length + payload,
      blocks: this.#blocks,
    };
    this.#parts = [];
    this.#size = 0;
    this.#blocks = 0;
    return cluster;
  }
}
