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

/** `Latency` of the CLI's `--latency` when not given: two writes per viewer a second. */
export const DEFAULT_LATENCY = 500;

/**
 * The fallback period in `"frame"` mode for blocks that come without a video frame after them
 * (an audio-only stretch), until the stream's own frame interval is measured.
 */
const DEFAULT_FRAME_MS = 40;

/**
 * How long a tick that is due at once waits for the rest of its burst, with a period of 100 ms
 * or more: a write from upstream (an origin's tick, 260 KB at 2 Mbit/s) comes in as several
 * reads, and without this the first read would go out alone and the rest a period later.
 */
const BURST_GRACE_MS = 5;

/** Source Cluster cuts less than this far apart belong to one burst (one write upstream). */
const SAME_BURST_MS = 20;

/**
 * One clock per mount, not per viewer: it calls `onTick` at most once per period while the
 * source sends, and not at all while it does not. Each tick appends what arrived since the last
 * one to the ring as one batch, so every viewer waiting at the live edge is woken once and
 * makes one write, whatever the source's own cadence (ffmpeg writing into a pipe cuts a Cluster
 * every ~32 KB, about 7 a second at 2 Mbit/s). A tick's cost is one pass over the viewers
 * waiting for it.
 *
 * After an idle stretch longer than the period, the first block goes out at once (at the end of
 * the input batch it came in, or 5 ms later with a period of 100 ms or more, so that the rest of
 * a burst goes with it); from then on, every period, counted from when each tick was due, so
 * that timers firing late do not make an edge's ticks drift against its origin's. In `"frame"`
 * mode, a video frame goes out at the end of its input batch, and other blocks wait for the
 * next frame at most the measured frame interval. A source whose own Cluster cuts come no more
 * often than the ticks (an origin, for an edge) is followed instead (`sourceCut`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DeliveryClock } from "./delivery_clock.ts";
 * let ticks = 0;
 * const clock = new DeliveryClock(1000, () => ticks++);
 * clock.arrived(false); // the first block: out at once (5 ms later: its burst goes with it)
 * await new Promise((r) => setTimeout(r, 20));
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
  /** When the pending timer is due: the next tick counts from there, not from when it ran. */
  #due: number | undefined;
  #lastFrameTime: number | undefined;
  #lastCut: number | undefined;
  /** The source's Cluster cuts: their average distance in ms (a moving average). */
  #cutGap: number | undefined;

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
    const now = performance.now();
    this.#schedule(now, Math.max(this.#last + this.#period, now + this.#grace));
  }

  get #grace(): number {
    return this.#period >= 100 ? BURST_GRACE_MS : 0;
  }

  /** Sets the next tick for `due`, unless one is set already for no later. */
  #schedule(now: number, due: number): void {
    if (this.#queued || (this.#timer !== undefined && this.#due! <= due)) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (due <= now) return this.#queue();
    this.#due = due;
    this.#timer = setTimeout(() => this.#stopped || this.tick(), due - now);
  }

  /**
   * The source's own Cluster ended. A source that cuts no more often than the clock ticks (an
   * origin mkserver, read by an edge: its writes are its ticks) is followed: the tick comes with
   * its cut, so a relay tier adds a few ms, not up to a tick. A source that cuts more often
   * (ffmpeg writing into a pipe: every ~32 KB) is not: the clock decides.
   */
  sourceCut(): void {
    if (this.#stopped || this.#frames) return;
    const now = performance.now();
    const gap = this.#lastCut === undefined ? undefined : now - this.#lastCut;
    this.#lastCut = now;
    if (gap === undefined) return;
    if (gap >= SAME_BURST_MS) {
      const capped = Math.min(gap, 4 * this.#period);
      this.#cutGap = this.#cutGap === undefined ? capped : 0.75 * this.#cutGap + 0.25 * capped;
    }
    if (this.#cutGap !== undefined && this.#cutGap >= 0.8 * this.#period) {
      this.#schedule(now, now + this.#grace);
    }
  }

  /** Delivers now (the clock's time came, or the stream ends). */
  tick(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#last = this.#due ?? performance.now();
    this.#due = undefined;
    this.#onTick();
  }

  /** Stops the clock for good: no tick after this one (deliver the rest with `tick()` first). */
  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = undefined;
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
