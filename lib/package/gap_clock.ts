/**
 * The time a mount's source is away, cut into gap segments as it passes.
 *
 * @module
 */

/**
 * Cuts the absence of a source into gap segments on the wall clock: one of a whole target
 * duration each time one has passed, and, when the next source comes, a last one for the rest.
 * A live playlist must gain a segment within 1.5 target durations (RFC 8216bis §6.2.1), and
 * "if the encoder is temporarily unavailable" the server should add EXT-X-GAP segments instead
 * (§4.4.4.7, §6.2.1); otherwise players' reloads find nothing new and blocking reloads time out.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GapClock } from "./gap_clock.ts";
 * // The published media ends at t = 10 s; targets of 2 s.
 * const gap = new GapClock(10_000, 2_000);
 * assertEquals(gap.due(11_000), []);
 * assertEquals(gap.due(14_100), [2_000, 2_000]);
 * // The source is back at 15 s: a last gap of 1 s, 5 s in all.
 * assertEquals(gap.finish(15_000), { last: 1_000, total: 5_000 });
 * ```
 */
export class GapClock {
  readonly #from: number;
  readonly #target: number;
  #published = 0;

  /**
   * @param from wall-clock ms where the published timeline ends (the last segment's end)
   * @param target the target duration, ms
   */
  constructor(from: number, target: number) {
    if (!(target > 0)) throw new TypeError(`The target duration must be positive: ${target}`);
    this.#from = from;
    this.#target = target;
  }

  /** Milliseconds of gap segments given out so far. */
  get published(): number {
    return this.#published;
  }

  /** The durations (ms) of the whole gap segments due by `now`. */
  due(now: number): number[] {
    const out: number[] = [];
    while (this.#from + this.#published + this.#target <= now) {
      out.push(this.#target);
      this.#published += this.#target;
    }
    return out;
  }

  /**
   * The source is back at `now`: the last gap segment (ms; none when less than `min` remains)
   * and the length of the whole gap, by which the new source's media follows the old one's.
   */
  finish(now: number, min = 100): { last: number | undefined; total: number } {
    this.due(now);
    const rest = now - this.#from - this.#published;
    const last = rest >= min ? rest : undefined;
    if (last !== undefined) this.#published += last;
    return { last, total: this.#published };
  }
}
