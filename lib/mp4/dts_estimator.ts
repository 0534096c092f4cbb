/**
 * Decode times from presentation times, for video with B-frames.
 *
 * @module
 */

/** Options of `DtsEstimator`. */
export interface DtsEstimatorOptions {
  /**
   * How many frames at most precede a frame in decode order and follow it in presentation order
   * (H.264 `max_num_reorder_frames`, HEVC `sps_max_num_reorder_pics`): 0 without B-frames,
   * 1 for x264 `-bf 2 -b-pyramid none`, 2 for its default `-bf 2` (pyramid). Default 0.
   */
  reorderDepth?: number;
  /** The frame interval, for the first `reorderDepth` frames; required when the depth is above 0. */
  frameDuration?: number;
}

/**
 * Turns PTS in decode order (as Matroska stores blocks) into DTS that never decrease and never
 * exceed the PTS, with no delay: each frame gets its DTS when it arrives.
 *
 * With reorder depth R, frame j's DTS is the (j − R)-th smallest PTS of the stream. That value
 * is final once frame j has arrived: at most R of the frames before j follow it in presentation
 * order, so at least j − R + 1 of the PTS seen are ≤ its own, and every later frame's PTS is above
 * it for the same reason. So DTS ≤ PTS, DTS never decreases, and with R = 0 the DTS is the PTS
 * exactly. Only R + 1 PTS are kept. The first R frames precede the smallest PTS by whole frame
 * intervals, as an encoder's DTS do; the caller keeps the timeline's start far enough above 0.
 *
 * A PTS below the DTS it would get means the depth was too small: the depth grows by one, the
 * frame gets the previous DTS (so DTS stays monotonic) and `violations` counts it.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DtsEstimator } from "./dts_estimator.ts";
 * // I0 P3 B1 B2 P6 B4 B5 in decode order, one B-frame layer: depth 1.
 * const dts = new DtsEstimator({ reorderDepth: 1, frameDuration: 1 });
 * assertEquals([0, 3, 1, 2, 6, 4, 5].map((pts) => dts.push(pts)), [-1, 0, 1, 2, 3, 4, 5]);
 * ```
 */
export class DtsEstimator {
  #depth: number;
  #frameDuration: number;
  /** The PTS not yet used as a DTS, ascending; at most depth + 1 of them. */
  #window: number[] = [];
  #count = 0;
  #last = -Infinity;
  #violations = 0;

  constructor(options: DtsEstimatorOptions = {}) {
    const depth = options.reorderDepth ?? 0;
    if (!Number.isInteger(depth) || depth < 0 || depth > 16) {
      throw new TypeError(`reorderDepth must be an integer from 0 to 16: ${depth}`);
    }
    const duration = options.frameDuration ?? (depth === 0 ? 0 : NaN);
    if (!(duration >= 0)) {
      throw new TypeError(
        `A reorder depth above 0 needs a frameDuration: ${options.frameDuration}`,
      );
    }
    this.#depth = depth;
    this.#frameDuration = duration;
  }

  /** The reorder depth in use (grown past the configured one by violations). */
  get reorderDepth(): number {
    return this.#depth;
  }

  /** How many frames came with a PTS below the DTS they should have had. */
  get violations(): number {
    return this.#violations;
  }

  /** The DTS of the next frame in decode order, given its PTS. */
  push(pts: number): number {
    const w = this.#window;
    let i = w.length;
    while (i > 0 && w[i - 1] > pts) i--;
    w.splice(i, 0, pts);
    const j = this.#count++;
    let dts: number;
    if (j < this.#depth) {
      dts = w[0] - (this.#depth - j) * this.#frameDuration;
    } else if (w[0] < this.#last) {
      // A frame before the stream's DTS: it was reordered deeper than said.
      this.#violations++;
      this.#depth++;
      dts = this.#last;
    } else {
      dts = w.shift()!;
    }
    if (dts < this.#last) dts = this.#last;
    this.#last = dts;
    return dts;
  }
}

/**
 * The reorder depth of PTS given in decode order: the most frames that precede one in decode
 * order and follow it in presentation order (the definition of H.264 `max_num_reorder_frames`).
 * For a stream's first GOP, or for tests; a packager would rather read it from the SPS.
 * Only the previous `window` frames are compared (the standards cap the depth at 16).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { measureReorderDepth } from "./dts_estimator.ts";
 * assertEquals(measureReorderDepth([0, 3, 1, 2, 6, 4, 5]), 1);
 * assertEquals(measureReorderDepth([0, 4, 2, 1, 3]), 2);
 * assertEquals(measureReorderDepth([0, 1, 2]), 0);
 * ```
 */
export function measureReorderDepth(pts: readonly number[], window = 32): number {
  let depth = 0;
  for (let j = 1; j < pts.length; j++) {
    let later = 0;
    for (let i = Math.max(0, j - window); i < j; i++) if (pts[i] > pts[j]) later++;
    if (later > depth) depth = later;
  }
  return depth;
}
