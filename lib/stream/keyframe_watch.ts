/**
 * Watching a source's video for keyframes that stop coming.
 *
 * @module
 */

import type { Block } from "../matroska/block.ts";

/** Options of `KeyframeWatch`. */
export interface KeyframeWatchOptions {
  /** Milliseconds of media without a keyframe before `onLongGap` (default 10 s; 0: never). */
  limit?: number;
  /** Milliseconds per timestamp unit (TimestampScale / 1e6; default 1). */
  msPerUnit?: number;
  /** Called once per gap, when it reaches `limit`, with its length in seconds (0.1 s steps). */
  onLongGap?: (seconds: number) => void;
  /** Called when a keyframe ends a gap `onLongGap` reported, with the gap's length in seconds. */
  onKeyframe?: (seconds: number) => void;
}

/**
 * Reports, once per gap, a video track that goes `limit` ms of media without a keyframe: new
 * viewers can start only on a keyframe, so they wait meanwhile, and a source whose encoder
 * stopped sending them is worth telling its operator about. It only counts and calls back:
 * the words (and any CLI flag to name) are the caller's.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { KeyframeWatch } from "./keyframe_watch.ts";
 * const gaps: number[] = [];
 * const watch = new KeyframeWatch({ limit: 1000, onLongGap: (s) => gaps.push(s) });
 * const frame = (time: number, keyframe: boolean) =>
 *   ({ track: 1, time, keyframe, group: false, flags: 0, frames: new Uint8Array(), extra: [] });
 * watch.observe(frame(0, true));
 * for (let t = 100; t <= 2000; t += 100) watch.observe(frame(t, false));
 * assertEquals(gaps, [1]);
 * ```
 */
export class KeyframeWatch {
  #options: KeyframeWatchOptions;
  #msPerUnit: number;
  /** Media time (ms) of the newest keyframe, or of the first frame before any. */
  #since = -Infinity;
  #reported = false;

  constructor(options: KeyframeWatchOptions = {}) {
    this.#options = options;
    this.#msPerUnit = options.msPerUnit ?? 1;
  }

  /** Whether the current gap was reported (and no keyframe has ended it yet). */
  get inGap(): boolean {
    return this.#reported;
  }

  /** Takes a block of the watched track (in the order the viewers get them). */
  observe(block: Block): void {
    const ms = block.time * this.#msPerUnit;
    const seconds = () => Math.round((ms - this.#since) / 100) / 10;
    if (block.keyframe) {
      if (this.#reported) this.#options.onKeyframe?.(seconds());
      this.#since = ms;
      this.#reported = false;
      return;
    }
    if (this.#since === -Infinity) this.#since = ms;
    const limit = this.#options.limit ?? 10_000;
    if (this.#reported || limit <= 0 || ms - this.#since < limit) return;
    this.#reported = true;
    this.#options.onLongGap?.(seconds());
  }
}
