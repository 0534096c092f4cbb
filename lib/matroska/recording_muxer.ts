/**
 * The bytes of one recorded file: its head, its Clusters as they complete (a new one at every
 * video keyframe and at least every second), and at the end its Cues and the rewrites that give
 * it a Duration and known sizes (see `recording_layout.ts`).
 *
 * @module
 */

import type { Block } from "./block.ts";
import { GopSegmenter, type OutputCluster } from "./gop_segmenter.ts";
import type { LiveHeader } from "./live_header.ts";
import {
  buildRecordingHead,
  type CuePoint,
  finishPatches,
  type Patch,
  type RecordingLayout,
  writeCues,
} from "./recording_layout.ts";

/**
 * Where each track's media ends: its newest time plus its shortest frame interval (blocks of a
 * video with B-frames come out of time order, so neither the last block nor the last interval
 * alone says it).
 */
export class TrackEnds {
  #tracks = new Map<number, { last: number; newest: number; step: number }>();

  /** Notes a block of `track` at `time`. */
  observe(track: number, time: number): void {
    const t = this.#tracks.get(track);
    if (t === undefined) {
      this.#tracks.set(track, { last: time, newest: time, step: Infinity });
      return;
    }
    const step = time - t.last;
    if (step > 0 && step < t.step) t.step = step;
    t.last = time;
    if (time > t.newest) t.newest = time;
  }

  /** The end of the longest track (0 before any block). */
  get end(): number {
    let end = 0;
    for (const t of this.#tracks.values()) {
      end = Math.max(end, t.newest + (t.step === Infinity ? 0 : t.step));
    }
    return end;
  }
}

/** What closing a recording writes: the rest at its end, then the rewrites in place. */
export interface RecordingTail {
  /** The last Cluster and the Cues, to append. */
  append: Uint8Array[];
  /** Absolute rewrites, in order (see `finishPatches`). */
  patches: Patch[];
  /** Duration in TimestampScale units. */
  duration: number;
  /** The file's length once finished. */
  byteLength: number;
  cues: number;
}

/**
 * One recording's bytes. Blocks come on the mount's timeline; the file's timestamps start at 0
 * at its first block (a video keyframe: blocks before it are dropped), and its DateUTC is
 * `startMs`, so a block's wall-clock time is DateUTC plus its timestamp.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ID } from "../ebml/ids.ts";
 * import { buildLiveHeader } from "./live_header.ts";
 * import { RecordingMuxer } from "./recording_muxer.ts";
 * // One video track, number 1.
 * const tracks = new Uint8Array([0xAE, 0x86, 0xD7, 0x81, 0x01, 0x83, 0x81, 0x01]);
 * const header = buildLiveHeader({
 *   ebml: { id: ID.EBML, headerSize: 5, data: new Uint8Array(0), offset: 0 },
 *   tracks: { id: ID.Tracks, headerSize: 5, data: tracks, offset: 0 },
 * });
 * const muxer = new RecordingMuxer(header, Date.UTC(2026, 11, 1));
 * const block = (time: number, keyframe: boolean) =>
 *   ({ track: 1, time, keyframe, group: false, flags: keyframe ? 0x80 : 0, frames: new Uint8Array(9), extra: [] });
 * for (let t = 5000; t < 9000; t += 40) muxer.push(block(t, t % 2000 === 1000));
 * const tail = muxer.finish(9000);
 * assertEquals([tail.cues, tail.duration], [2, 4000]);
 * ```
 */
export class RecordingMuxer {
  /** The file's first bytes. */
  readonly head: Uint8Array;
  readonly layout: RecordingLayout;
  /** DateUTC: wall-clock Unix ms of the first block. */
  readonly startMs: number;
  #segmenter: GopSegmenter;
  #primary: number | undefined;
  #start: number | undefined;
  #at: number;
  #cues: CuePoint[] = [];
  #ends = new TrackEnds();

  constructor(header: LiveHeader, startMs: number) {
    const { bytes, layout } = buildRecordingHead(header, startMs);
    this.head = bytes;
    this.layout = layout;
    this.startMs = startMs;
    this.#at = bytes.length;
    this.#segmenter = new GopSegmenter(header);
    this.#primary = this.#segmenter.primaryTrack ?? header.tracks[0]?.number;
  }

  /** The first block's time on the mount's timeline (the file's 0), once there is one. */
  get startTime(): number | undefined {
    return this.#start;
  }

  /** Media so far in TimestampScale units (from the first block to the newest one's end). */
  get duration(): number {
    return this.#ends.end;
  }

  /** Bytes of the head and every Cluster handed out. */
  get byteLength(): number {
    return this.#at;
  }

  /** Adds a block (mount time); returns the Cluster it completed, to append to the file. */
  push(block: Block): OutputCluster | undefined {
    if (this.#start === undefined) {
      if (this.#primary !== block.track || !block.keyframe) return undefined;
      this.#start = block.time;
    }
    const time = block.time - this.#start;
    // Another track's block from before the file's start belongs to the file before it (the
    // recorder sends it there); the first file of a stream has none to give it to.
    if (time < 0 && block.track !== this.#primary) return undefined;
    this.#ends.observe(block.track, time);
    return this.#placed(this.#segmenter.push({ ...block, time }));
  }

  /**
   * Ends the file: the open Cluster, the Cues, and the rewrites. `endTime` is where the next
   * file starts (mount time), which makes the Duration end exactly there (so consecutive files'
   * Durations tile the stream); without it the Duration ends with the longest track's last frame.
   */
  finish(endTime?: number): RecordingTail {
    const last = this.#placed(this.#segmenter.flush());
    const duration = endTime !== undefined && this.#start !== undefined
      ? endTime - this.#start
      : this.#ends.end;
    const cuesAt = this.#at - this.layout.segmentDataAt;
    const cues = writeCues(this.#cues);
    const end = this.#at + cues.length;
    return {
      append: [...(last?.parts ?? []), cues],
      patches: finishPatches(this.layout, { cuesAt, duration, end }),
      duration,
      byteLength: end,
      cues: this.#cues.length,
    };
  }

  #placed(cluster: OutputCluster | undefined): OutputCluster | undefined {
    if (cluster === undefined) return undefined;
    const clusterAt = this.#at - this.layout.segmentDataAt;
    const indexed = cluster.keyframe || this.#segmenter.primaryTrack === undefined;
    if (indexed && this.#primary !== undefined) {
      this.#cues.push({ time: cluster.time, track: this.#primary, clusterAt });
    }
    this.#at += cluster.byteLength;
    return cluster;
  }
}
