/**
 * Exact audio sample times from rounded Matroska block times.
 *
 * @module
 */

/**
 * Gives audio frames back-to-back times on the sample-rate clock: each frame starts where the
 * previous one ended, as long as the block time agrees within half a frame. After a gap (a block
 * time later than that) the timeline re-anchors on the block time. A frame that would start more
 * than half a frame before the previous one ended overlaps it (a source's splice, e.g. ffmpeg
 * `-stream_loop` puts the next loop's first frame 1 ms after the last one): it is dropped
 * (`push` answers `undefined`), because a track's decode times must never go back (ISO/IEC
 * 14496-12 §8.6.1.2, a `trun` has no negative durations). So a source whose times jump back
 * loses its audio until they have caught up with the timeline.
 *
 * Why: Matroska times are rounded to the TimestampScale (1 ms by default), and a 1024-sample AAC
 * frame at 44.1 or 48 kHz is not a whole number of milliseconds, so the block times jitter by up
 * to half a millisecond. Taken as they are, consecutive samples would overlap or leave gaps of a
 * few ticks, which MSE resolves by dropping or padding audio (audible clicks).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { AudioTimeline } from "./audio_timeline.ts";
 * // AAC at 48 kHz, block times in ms (0, 21, 43, 64) mapped to ticks: 1024-sample steps.
 * const timeline = new AudioTimeline();
 * assertEquals([0, 1008, 2064, 3072].map((t) => timeline.push(t, 1024)), [0, 1024, 2048, 3072]);
 * // A frame 1 ms after the previous one overlaps it: dropped.
 * assertEquals([4096, 4117, 5120].map((t) => timeline.push(t, 1024)), [4096, undefined, 5120]);
 * ```
 */
export class AudioTimeline {
  #next: number | undefined;
  #anchors = 0;
  #dropped = 0;

  /** How many times the timeline re-anchored on a block time (the first frame included). */
  get anchors(): number {
    return this.#anchors;
  }

  /** How many frames overlapped the timeline and were dropped. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * The exact time of a frame whose block time (already in the sample-rate timescale, rounded)
   * is `time` and that lasts `duration` ticks; `undefined` when it overlaps the previous frame
   * by more than half a frame (drop it).
   */
  push(time: number, duration: number): number | undefined {
    const next = this.#next;
    let exact: number;
    if (next !== undefined && Math.abs(time - next) * 2 <= duration) {
      exact = next;
    } else if (next !== undefined && time < next) {
      this.#dropped++;
      return undefined;
    } else {
      exact = time;
      this.#anchors++;
    }
    this.#next = exact + duration;
    return exact;
  }
}
