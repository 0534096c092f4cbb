/**
 * The input side of a mount: its header, and its sources' blocks cut into the ring's Clusters.
 *
 * @module
 */

import type { Block } from "../matroska/block.ts";
import {
  GopSegmenter,
  type GopSegmenterOptions,
  type OutputCluster,
} from "../matroska/gop_segmenter.ts";
import { describeTrackSet, type LiveHeader, sameTrackSet } from "../matroska/live_header.ts";
import type { GopRing } from "./gop_ring.ts";
import { KeyframeWatch, type KeyframeWatchOptions } from "./keyframe_watch.ts";
import type { MountTap } from "./mount_tap.ts";
import { SourceTimeline } from "./source_timeline.ts";
import { joinWire, type WireBytes } from "./wire_format.ts";

/** Options of `MountInput`. */
export interface MountInputOptions extends GopSegmenterOptions {
  /** How the video's keyframes are watched (`msPerUnit` comes from the header). */
  keyframes?: Omit<KeyframeWatchOptions, "msPerUnit">;
  /** Gets every block too, on the mount's timeline. */
  tap?: MountTap;
}

/**
 * What a mount's sources feed, from the first header on: blocks go through the
 * `SourceTimeline` (continuous across sources), the video's through a `KeyframeWatch`, then
 * into Clusters appended to `ring`. A later source continues it only with the same track set.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GopRing } from "./gop_ring.ts";
 * import { MountInput } from "./mount_input.ts";
 * const header = { bytes: new Uint8Array(8), docType: "webm", timestampScale: 1e6, tracks: [] };
 * const input = new MountInput(header, new GopRing());
 * assertEquals(input.wireHeader.wire.length, 8);
 * assertEquals(input.accepts({ ...header, timestampScale: 1e5 }), false);
 * ```
 */
export class MountInput {
  /** The first source's header, as it came. */
  readonly header: LiveHeader;
  /** The header's bytes and the same in the ring's wire form, joined once for every viewer. */
  readonly wireHeader: WireBytes;
  readonly timeline: SourceTimeline;
  #ring: GopRing;
  #segmenter: GopSegmenter;
  #keyframes: KeyframeWatch;
  #video: number | undefined;
  #tap: MountTap | undefined;
  #blocks = 0;

  constructor(header: LiveHeader, ring: GopRing, options: MountInputOptions = {}) {
    this.header = header;
    this.#ring = ring;
    const wire = ring.wire;
    this.wireHeader = wire === undefined
      ? { payload: header.bytes, wire: header.bytes }
      : joinWire([header.bytes], { format: wire });
    this.#video = header.tracks.find((t) => t.kind === "video")?.number;
    this.timeline = new SourceTimeline(this.#video ?? header.tracks[0]?.number);
    this.#keyframes = new KeyframeWatch({
      ...options.keyframes,
      msPerUnit: header.timestampScale / 1e6,
    });
    this.#segmenter = new GopSegmenter(header, options);
    ring.setTimestampScale(header.timestampScale);
    this.#tap = options.tap;
    this.#tap?.header(header);
  }

  /** Blocks received, from every source. */
  get blocks(): number {
    return this.#blocks;
  }

  /** Whether a source with `header` can continue the stream (see `sameTrackSet`). */
  accepts(header: LiveHeader): boolean {
    return sameTrackSet(this.header, header);
  }

  /**
   * A new source's header: viewers continue without a second header; its blocks follow the
   * last ones in time, from its first keyframe on. Another track set throws `TypeError`.
   */
  resume(header: LiveHeader): void {
    if (!this.accepts(header)) {
      throw new TypeError(
        `The new source's tracks differ from the stream's: ${describeTrackSet(header)} vs ${
          describeTrackSet(this.header)
        }`,
      );
    }
    const last = this.#segmenter.resync();
    if (last !== undefined) this.#append(last);
    this.timeline.handover();
    this.#tap?.header(header);
  }

  /** Adds a block from the current source. */
  push(block: Block): void {
    this.#blocks++;
    block = this.timeline.rebase(block);
    if (block.track === this.#video) this.#keyframes.observe(block);
    const cluster = this.#segmenter.push(block);
    if (cluster !== undefined) this.#append(cluster);
    this.#tap?.block(block);
  }

  /** Appends the open Cluster now (the source's own Cluster ended, or the stream does). */
  flush(): void {
    const cluster = this.#segmenter.flush();
    if (cluster !== undefined) this.#append(cluster);
  }

  /**
   * A Cluster is appended when the block after it arrives (up to a Cluster later than its own
   * first block): its GOP is dated back from now by the media time between the two.
   */
  #append(cluster: OutputCluster): void {
    const newest = this.timeline.newest;
    const behind = newest === -Infinity ? 0 : Math.max(0, newest - cluster.time);
    this.#ring.append(cluster, Date.now() - behind * this.#ring.msPerUnit);
  }
}
