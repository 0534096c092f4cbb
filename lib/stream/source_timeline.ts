/**
 * The timeline that continues a mount across sources.
 *
 * @module
 */

import type { Block } from "../matroska/block.ts";

/**
 * A mount's one timeline, fed by one source after another. Each source counts time from its
 * own start (a restarted encoder begins at 0 again), while viewers that stay connected through
 * a handover must see times keep increasing: a player drops or stalls on blocks that go back
 * in time. After `handover()`, the next source's blocks are shifted to continue one frame
 * interval (of the primary track, the video when there is one) after the newest block so far.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { SourceTimeline } from "./source_timeline.ts";
 * const timeline = new SourceTimeline(1);
 * const block = (time: number) =>
 *   ({ track: 1, time, keyframe: true, group: false, flags: 0x80, frames: new Uint8Array(), extra: [] });
 * timeline.rebase(block(0));
 * timeline.rebase(block(40));
 * timeline.handover();
 * assertEquals(timeline.rebase(block(0)).time, 80);
 * assertEquals(timeline.newestRaw, 0);
 * ```
 */
export class SourceTimeline {
  #primary: number | undefined;
  /** Set by a handover: the next block fixes the new source's shift. */
  #shiftPending = false;
  /** Added to the current source's times. */
  #shift = 0;
  #newest = -Infinity;
  #newestRaw = -Infinity;
  /** The primary track's newest frame interval, the step a handover continues with. */
  #delta = 0;
  #lastPrimary = -Infinity;
  #sources = 1;

  /** `primary` is the track whose frame interval spaces a handover (none: 1 unit). */
  constructor(primary: number | undefined) {
    this.#primary = primary;
  }

  /** Newest time given out, in the mount's timeline (`-Infinity` before any block). */
  get newest(): number {
    return this.#newest;
  }

  /** Newest time of the current source in its own timeline (`-Infinity` before any block). */
  get newestRaw(): number {
    return this.#newestRaw;
  }

  /** How many sources have fed the timeline (1 for one unbroken source). */
  get sources(): number {
    return this.#sources;
  }

  /** A new source takes over: its first block follows the newest one by a frame interval. */
  handover(): void {
    this.#shiftPending = true;
    this.#sources++;
  }

  /** `block` in the mount's timeline (the same object when no shift applies). */
  rebase(block: Block): Block {
    if (this.#shiftPending) {
      this.#shiftPending = false;
      const next = this.#newest === -Infinity
        ? block.time
        : this.#newest + Math.max(this.#delta, 1);
      this.#shift = next - block.time;
      this.#lastPrimary = -Infinity;
    }
    // A shifted source's own clock is the one an origin reports, so it is tracked as it is.
    if (block.time > this.#newestRaw || this.#newestRaw === -Infinity || this.#shift !== 0) {
      this.#newestRaw = block.time;
    }
    if (this.#shift !== 0) block = { ...block, time: block.time + this.#shift };
    if (block.time > this.#newest) this.#newest = block.time;
    if (block.track === this.#primary) {
      const delta = block.time - this.#lastPrimary;
      if (delta > 0 && delta !== Infinity) this.#delta = delta;
      this.#lastPrimary = block.time;
    }
    return block;
  }
}
