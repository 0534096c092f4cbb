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
import { DeliveryClock, type Latency } from "./delivery_clock.ts";
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
  /**
   * The delivery clock's period (see `DeliveryClock`): what arrived goes to the ring once per
   * tick, cut into whole Clusters (`lowLatency` is then ignored), and the source's own Cluster
   * cuts are not followed. Default none: each Cluster goes to the ring as it is cut, and an
   * unpaced source is cut where it cut its own.
   */
  latency?: Latency;
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
  #clock: DeliveryClock | undefined;
  /** Clusters cut since the clock's last tick. */
  #pending: OutputCluster[] = [];
  #msPerUnit: number;

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
    this.#msPerUnit = header.timestampScale / 1e6;
    const latency = options.latency;
    this.#clock = latency === undefined
      ? undefined
      : new DeliveryClock(latency, () => this.#tick());
    this.#segmenter = new GopSegmenter(
      header,
      latency === undefined ? options : { ...options, lowLatency: false },
    );
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
    this.#add(this.#segmenter.resync());
    this.timeline.handover();
    this.#tap?.header(header);
  }

  /** Adds a block from the current source. */
  push(block: Block): void {
    this.#blocks++;
    block = this.timeline.rebase(block);
    if (block.track === this.#video) this.#keyframes.observe(block);
    this.#add(this.#segmenter.push(block));
    const frame = this.#video === undefined || block.track === this.#video;
    this.#clock?.arrived(frame, block.time * this.#msPerUnit);
    this.#tap?.block(block);
  }

  /**
   * The source's own Cluster ended: without a delivery clock, the open Cluster goes to the ring
   * now; with one, the clock decides (`DeliveryClock.sourceCut`).
   */
  sourceCut(): void {
    if (this.#clock === undefined) this.#add(this.#segmenter.flush());
    else this.#clock.sourceCut();
  }

  /** The stream ends: everything pending goes to the ring now, and the clock stops. */
  finish(): void {
    this.#add(this.#segmenter.flush());
    this.#clock?.tick();
    this.#clock?.stop();
  }

  #add(cluster: OutputCluster | undefined): void {
    if (cluster === undefined) return;
    if (this.#clock === undefined) this.#ring.append(cluster, this.#wallTime(cluster));
    else this.#pending.push(cluster);
  }

  /**
   * When a Cluster's first block arrived, by the wall clock: it reaches the ring after the
   * blocks that followed it (up to a Cluster, or a tick, later), so it is dated back from now
   * by the media time between it and the newest block. It dates the GOP it starts.
   */
  #wallTime(cluster: OutputCluster): number {
    const newest = this.timeline.newest;
    const behind = newest === -Infinity ? 0 : Math.max(0, newest - cluster.time);
    return Date.now() - behind * this.#msPerUnit;
  }

  /** The clock's tick: the open Cluster is cut, and the tick's Clusters go as one batch. */
  #tick(): void {
    const open = this.#segmenter.flush();
    if (open !== undefined) this.#pending.push(open);
    if (this.#pending.length === 0 || this.#ring.ended) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#ring.appendBatch(batch, batch.map((c) => this.#wallTime(c)));
  }
}
