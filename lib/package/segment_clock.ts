/**
 * Where segments and parts begin: one clock per mount, driven by its primary track (the first
 * video track, else the first audio track), shared by every track so that segment n of each
 * rendition covers the same interval (draft-pantos-hls-rfc8216bis §6.2.4: renditions' segments
 * have matching timestamps). Pure.
 *
 * @module
 */

/** A point where a new part, and maybe a new segment, begins. */
export interface Boundary {
  /** Block time (TimestampScale units) of the first block after the boundary. */
  time: number;
  /** Segment number (HLS MSN, DASH `$Number$`). */
  segment: number;
  /** Part index within the segment, from 0. */
  part: number;
  /** Whether a new segment begins here (part 0). */
  newSegment: boolean;
  /** Whether the part begins with a keyframe of the primary track. */
  independent: boolean;
}

/** Options of a {@linkcode SegmentClock}; durations in seconds. */
export interface SegmentClockOptions {
  /** Nanoseconds per block time unit (the mount's TimestampScale). */
  timestampScale: number;
  /** Whether the primary track is video: segments then begin at its keyframes. */
  video: boolean;
  /** The longest segment, and EXT-X-TARGETDURATION: a GOP longer than this is split. */
  targetDuration: number;
  /** The shortest segment that a keyframe may close (shorter GOPs share a segment). */
  minSegment: number;
  /** The longest part (PART-TARGET). */
  partTarget: number;
  /** Number of the first segment. */
  firstSegment: number;
}

/**
 * Decides, block by block of the primary track, where segments and parts begin. A part never
 * exceeds the part target and a segment never exceeds the target duration (§4.4.4.9, §4.4.3.1):
 * a cut happens at the block that would otherwise push past them, using the last frame interval
 * as the look-ahead.
 */
export class SegmentClock {
  readonly #options: SegmentClockOptions;
  readonly #unitsPerSecond: number;
  #segment: number;
  #part = 0;
  #segmentStart: number | undefined;
  #partStart = 0;
  #previous: number | undefined;
  #newest = -Infinity;
  #deltas: number[] = [];
  #interval = 0;
  #steps: number[] = [];
  #step = 0;
  #split = false;

  constructor(options: SegmentClockOptions) {
    if (!(options.partTarget > 0) || options.partTarget > options.targetDuration) {
      throw new RangeError(
        `Part target must be above 0 and at most the target duration: ${options.partTarget}`,
      );
    }
    this.#options = options;
    this.#unitsPerSecond = 1e9 / options.timestampScale;
    this.#segment = options.firstSegment;
  }

  /** Whether a long GOP has been split, so not every segment starts with a keyframe. */
  get split(): boolean {
    return this.#split;
  }

  /** The segment number the next segment will get. */
  get nextSegment(): number {
    return this.#segmentStart === undefined ? this.#segment : this.#segment + 1;
  }

  /**
   * Takes the primary track's next block; returns the boundary it begins, if any. Before the
   * first keyframe of a video track nothing begins (those blocks belong to no segment).
   */
  next(time: number, keyframe: boolean): Boundary | undefined {
    const { video } = this.#options;
    this.#observe(time);
    // With B-frames, block times (presentation times in decode order) go back and forth: the
    // clock runs on the newest time seen, which never goes back.
    time = this.#newest;
    if (this.#segmentStart === undefined) {
      if (video && !keyframe) return undefined;
      return this.#begin(time, true, true);
    }
    const units = this.#unitsPerSecond;
    // One unit of slack: Matroska's millisecond timestamps round frame times (33/34 ms at 30 fps).
    const slack = 1;
    const inSegment = time - this.#segmentStart;
    const inPart = time - this.#partStart;
    if (video && keyframe && inSegment >= this.#options.minSegment * units - slack) {
      return this.#begin(time, true, true);
    }
    if (inSegment + this.#interval > this.#options.targetDuration * units + slack) {
      if (video) this.#split = true;
      return this.#begin(time, true, !video || keyframe);
    }
    // A part must not outgrow the part target: look ahead by the largest step the newest time
    // takes (with B-frames, a P-frame's several intervals at once).
    if (inPart + Math.max(this.#step, this.#interval) > this.#options.partTarget * units + slack) {
      return this.#begin(time, false, !video || keyframe);
    }
    return undefined;
  }

  /**
   * Tracks the frame interval: the smallest step between successive block times over the last
   * 16 blocks (with B-frames, the steps between decode-order neighbours are multiples of it).
   */
  #observe(time: number): void {
    if (this.#previous !== undefined && time !== this.#previous) {
      this.#deltas.push(Math.abs(time - this.#previous));
      if (this.#deltas.length > 16) this.#deltas.shift();
      this.#interval = Math.min(...this.#deltas);
    }
    this.#previous = time;
    if (time > this.#newest) {
      if (this.#newest !== -Infinity) {
        this.#steps.push(time - this.#newest);
        if (this.#steps.length > 16) this.#steps.shift();
        this.#step = Math.max(...this.#steps);
      }
      this.#newest = time;
    }
  }

  #begin(time: number, newSegment: boolean, independent: boolean): Boundary {
    if (newSegment) {
      if (this.#segmentStart !== undefined) this.#segment++;
      this.#segmentStart = time;
      this.#part = 0;
    } else {
      this.#part++;
    }
    this.#partStart = time;
    return { time, segment: this.#segment, part: this.#part, newSegment, independent };
  }
}
