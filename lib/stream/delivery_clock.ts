/**
 * A mount's delivery clock: when what the source sent goes to the ring, and so to viewers.
 *
 * @module
 */

/**
 * How often a mount delivers: every `n` milliseconds, or `"frame"`: with each frame of the
 * primary video track (the blocks that came with it or since the last one ride along).
 */
export type Latency = number | "frame";

/** `Latency` of the CLI's `--latency` when not given: one write per viewer per second. */
export const DEFAULT_LATENCY = 1000;

/**
 * The fallback period in `"frame"` mode for blocks that come without a video frame after them
 * (an audio-only stretch), until the stream's own frame interval is measured.
 */
const DEFAULT_FRAME_MS = 40;

/**
 * One clock per mount, not per viewer: it calls `onTick` at most once per period while the
 * source sends, and not at all while it does not. Each tick appends what arrived since the last
 * one to the ring as one batch, so every viewer waiting at the live edge is woken once and
 * makes one write, whatever the source's own cadence (ffmpeg writing into a pipe cuts a Cluster
 * every ~32 KB, about 7 a second at 2 Mbit/s). A tick's cost is one pass over the viewers
 * waiting for it.
 *
 * After an idle stretch longer than the period, the first block goes out at once (at the end of
 * the input batch it came in); from then on, every period. In `"frame"` mode, a video frame
 * goes out at the end of its input batch, and other blocks wait for the next frame at most the
 * measured frame interval.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DeliveryClock } from "./delivery_clock.ts";
 * let ticks = 0;
 * const clock = new DeliveryClock(1000, () => ticks++);
 * clock.arrived(false); // the first block: out at once (after this task)
 * await new Promise((r) => setTimeout(r, 10));
 * clock.arrived(false); // the next: at the next tick, a second after the first
 * clock.arrived(false);
 * assertEquals(ticks, 1);
 * clock.stop();
 * ```
 */
export class DeliveryClock {
  #period: number;
  #frames: boolean;
  #onTick: () => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #queued = false;
  #stopped = false;
  #last = -Infinity;
  #lastFrameTime: number | undefined;

  /** `latency` in ms (> 0) or `"frame"`; `onTick` delivers what is pending. */
  constructor(latency: Latency, onTick: () => void) {
    if (latency !== "frame" && !(latency > 0 && Number.isFinite(latency))) {
      throw new TypeError(`Invalid latency: ${latency}`);
    }
    this.#frames = latency === "frame";
    this.#period = latency === "frame" ? DEFAULT_FRAME_MS : latency;
    this.#onTick = onTick;
  }

  /** The period in ms (in `"frame"` mode: the measured frame interval, for other blocks). */
  get period(): number {
    return this.#period;
  }

  /**
   * Something is pending. `frame`: a frame of the primary video track, at `ms` on the stream's
   * timeline (in `"frame"` mode it goes out at the end of its input batch).
   */
  arrived(frame: boolean, ms?: number): void {
    if (this.#stopped) return;
    if (this.#frames && frame) {
      if (ms !== undefined) this.#measure(ms);
      this.#queue();
      return;
    }
    if (this.#timer !== undefined || this.#queued) return;
    const wait = this.#last + this.#period - performance.now();
    if (wait <= 0) this.#queue();
    else this.#timer = setTimeout(() => this.#stopped || this.tick(), wait);
  }

  /** Delivers now (the clock's time came, or the stream ends). */
  tick(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#last = performance.now();
    this.#onTick();
  }

  /** Stops the clock for good: no tick after this one (deliver the rest with `tick()` first). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** A microtask, so that every block of the input batch goes in the same tick. */
  #queue(): void {
    if (this.#queued) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      if (!this.#stopped) this.tick();
    });
  }

  #measure(ms: number): void {
    const last = this.#lastFrameTime;
    this.#lastFrameTime = ms;
    if (last === undefined) return;
    const interval = ms - last;
    // A frame interval of 5 to 200 ms (200 to 5 fps); anything else is a jump or a reorder.
    if (interval >= 5 && interval <= 200) this.#period = interval;
  }
}
