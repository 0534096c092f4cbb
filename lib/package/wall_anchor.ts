/**
 * Where a mount's media time lies on the wall clock: the DASH Periods and HLS program dates.
 *
 * @module
 */

/** A DASH Period: one anchoring of media time to the wall clock. */
export interface PackagerPeriod {
  id: string;
  /** Wall-clock seconds since the Unix epoch at its first segment. */
  start: number;
  /** It continues the previous Period with the same inits (period connectivity). */
  connected: boolean;
}

/**
 * Anchors media time to the wall clock at segment starts. A segment whose expected wall time is
 * off by more than half a target duration (the source was away, or runs slow) re-anchors: a new
 * DASH Period, and a jump in EXT-X-PROGRAM-DATE-TIME; so do a discontinuity (a new init) and a
 * source back from a gap. Media running ahead (a file's fast start) is allowed up to three target
 * durations. DASH-IF forbids drift ("clock drift is forbidden", restricted timing model).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { WallAnchor } from "./wall_anchor.ts";
 * const anchor = new WallAnchor("e1");
 * // Millisecond media times, 2 s targets: a segment at media 0 at wall 10 000 ms, one 2 s on.
 * assertEquals(anchor.place({ now: 10_000, media: 0, unitsPerSecond: 1000, target: 2, segment: true }), 10_000);
 * assertEquals(anchor.place({ now: 12_010, media: 2000, unitsPerSecond: 1000, target: 2, segment: true }), 12_000);
 * // 5 s late: a new Period, connected to the first.
 * assertEquals(anchor.place({ now: 19_000, media: 4000, unitsPerSecond: 1000, target: 2, segment: true }), 19_000);
 * assertEquals(anchor.periods.map((p) => [p.id, p.connected]), [["e1-0", false], ["e1-1", true]]);
 * ```
 */
export class WallAnchor {
  readonly #epoch: string;
  #anchor: { wall: number; media: number } | undefined;
  #periods: PackagerPeriod[] = [];
  #discontinuity = false;
  #newPeriod = false;

  /** `epoch` names the Periods (`EPOCH-0`, `EPOCH-1`, …). */
  constructor(epoch: string) {
    this.#epoch = epoch;
  }

  get periods(): readonly PackagerPeriod[] {
    return this.#periods;
  }

  /** The index of the newest Period (0 before any). */
  get period(): number {
    return Math.max(0, this.#periods.length - 1);
  }

  /** The next segment follows a discontinuity (a new init): a new Period, not connected. */
  discontinue(): void {
    this.#discontinuity = true;
  }

  /** The next segment opens a new Period (a source back after a gap), connected. */
  breakPeriod(): void {
    this.#newPeriod = true;
  }

  /**
   * The wall-clock time (Unix ms) of a boundary at media time `media`; a segment start may
   * re-anchor. Returns the program date; `takeDiscontinuity()` says whether it began one.
   */
  place(at: {
    now: number;
    media: number;
    unitsPerSecond: number;
    /** Target duration, seconds. */
    target: number;
    /** The boundary starts a segment (only those re-anchor). */
    segment: boolean;
  }): number {
    const { now, media, unitsPerSecond } = at;
    const target = at.target * 1000;
    let anchor = this.#anchor;
    if (at.segment) {
      const expected = anchor ? anchor.wall + (media - anchor.media) * 1000 / unitsPerSecond : 0;
      if (
        !anchor || this.#discontinuity || this.#newPeriod || now - expected > target / 2 ||
        expected - now > 3 * target
      ) {
        this.#newPeriod = false;
        anchor = this.#anchor = { wall: now, media };
        this.#periods.push({
          id: `${this.#epoch}-${this.#periods.length}`,
          start: now / 1000,
          connected: this.#periods.length > 0 && !this.#discontinuity,
        });
      }
    }
    anchor ??= { wall: now, media };
    return anchor.wall + (media - anchor.media) * 1000 / unitsPerSecond;
  }

  /** Whether the segment just placed begins after a discontinuity (asked once per segment). */
  takeDiscontinuity(): boolean {
    const discontinuity = this.#discontinuity;
    this.#discontinuity = false;
    return discontinuity;
  }
}
