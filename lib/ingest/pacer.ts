/**
 * Real-time pacing of a file by its block timestamps.
 *
 * @module
 */

/** Options of `Pacer`. */
export interface PacerOptions {
  /** Milliseconds of media released at once at the start, to fill the fast-start window. */
  preroll?: number;
  /**
   * A timestamp more than this many milliseconds ahead of the clock, or behind the newest one
   * seen, is a jump (a damaged file, a restarted source): the clock is reset instead of
   * sleeping for the gap or bursting to catch up. Default 5000.
   */
  maxJump?: number;
}

/**
 * Maps media time to wall-clock time: `delay(t, now)` says how long to wait before releasing a
 * block of media time `t` (ms). The first `preroll` ms go at once; after that, real time.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Pacer } from "./pacer.ts";
 * const pacer = new Pacer({ preroll: 1000 });
 * assertEquals(pacer.delay(0, 10_000), 0);
 * assertEquals(pacer.delay(1000, 10_000), 0);
 * assertEquals(pacer.delay(1500, 10_000), 500);
 * assertEquals(pacer.delay(99_000, 10_000), 0);
 * ```
 */
export class Pacer {
  #preroll: number;
  #maxJump: number;
  #mediaOrigin = 0;
  #wallOrigin = 0;
  #started = false;
  #newest = -Infinity;
  #resets = 0;

  constructor(options: PacerOptions = {}) {
    this.#preroll = options.preroll ?? 0;
    this.#maxJump = options.maxJump ?? 5000;
    if (!(this.#preroll >= 0)) {
      throw new TypeError(`Invalid preroll: ${this.#preroll}`);
    }
    if (!(this.#maxJump > 0)) {
      throw new TypeError(`Invalid maxJump: ${this.#maxJump}`);
    }
  }

  /** Times the clock was reset because of a timestamp jump. */
  get resets(): number {
    return this.#resets;
  }

  /** Milliseconds to wait before releasing media time `mediaMs`, given the wall clock `now`. */
  delay(mediaMs: number, now: number): number {
    if (!this.#started) {
      this.#started = true;
      this.#mediaOrigin = mediaMs;
      this.#wallOrigin = now - this.#preroll;
    }
    let wait = this.#wallOrigin + (mediaMs - this.#mediaOrigin) - now;
    if (
      wait > this.#maxJump + this.#preroll ||
      mediaMs < this.#newest - this.#maxJump
    ) {
      this.#resets++;
      this.#mediaOrigin = mediaMs;
      this.#wallOrigin = now;
      this.#newest = mediaMs;
      wait = 0;
    }
    if (mediaMs > this.#newest) this.#newest = mediaMs;
    return wait > 0 ? wait : 0;
  }
}
