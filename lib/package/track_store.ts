/**
 * The segments and parts of one track in one format, as they are cut: bounded by age and bytes,
 * with waiters for the parts not yet there (blocking playlist reload, preload hints).
 *
 * @module
 */

/** One part: a view of its segment's bytes (shared by every request) and its timing. */
export interface StoredPart {
  /** Where the part lies in its segment's bytes. */
  offset: number;
  length: number;
  /** Start, in the track's timescale. */
  start: number;
  /** Duration, in the track's timescale. */
  duration: number;
  independent: boolean;
}

/** One segment: its parts so far. */
export interface StoredSegment {
  number: number;
  /** Start, in the track's timescale. */
  start: number;
  parts: StoredPart[];
  complete: boolean;
  /** Wall-clock time of its start, Unix milliseconds. */
  programDateTime: number;
  /** Init version in force. */
  init: number;
  /** Begins after a discontinuity (a new init, or a source timeline that does not continue). */
  discontinuity: boolean;
  /** Index of the DASH Period it belongs to. */
  period: number;
  byteLength: number;
  /** Its parts' bytes so far, back to back (capacity may exceed `byteLength`). */
  buffer: Uint8Array;
  /**
   * A gap segment (HLS EXT-X-GAP): time with no media while the source was away, this long in
   * the track's timescale. It has no parts and no bytes.
   */
  gap?: number;
}

/** A segment's duration in its track's timescale: its parts', or a gap's. */
export function storedDuration(segment: StoredSegment): number {
  return segment.gap ?? segment.parts.reduce((n, p) => n + p.duration, 0);
}

/** A part's bytes: a view of its segment's buffer. */
export function partBytes(segment: StoredSegment, part: StoredPart): Uint8Array {
  return segment.buffer.subarray(part.offset, part.offset + part.length);
}

/** A segment's bytes so far: its parts back to back, a view. */
export function segmentBytes(segment: StoredSegment): Uint8Array {
  return segment.buffer.subarray(0, segment.byteLength);
}

/** Limits of a {@linkcode TrackStore}. */
export interface TrackStoreOptions {
  /** Timescale of start and duration values (units per second). */
  timescale: number;
  /** Complete segments are kept while they end within this many seconds of the newest. */
  keepSeconds: number;
  /** And while all segments together stay within this many bytes. */
  maxBytes: number;
  /** Segments kept however old, so a playlist always lists enough (iOS wants 7). */
  minSegments?: number;
}

/**
 * Appends `parts` to a segment's buffer, growing it by doubling: a part is copied once on
 * arrival (and on average once more when the buffer grows), and every part and the segment are
 * views of one array, so serving them copies nothing.
 */
function append(segment: StoredSegment, parts: readonly Uint8Array[]): void {
  const length = parts.reduce((n, p) => n + p.length, 0);
  const needed = segment.byteLength + length;
  if (needed > segment.buffer.length) {
    const grown = new Uint8Array(Math.max(needed, 2 * segment.buffer.length));
    grown.set(segment.buffer.subarray(0, segment.byteLength));
    segment.buffer = grown;
  }
  let at = segment.byteLength;
  for (const part of parts) {
    segment.buffer.set(part, at);
    at += part.length;
  }
  segment.byteLength = needed;
}

/** One track's segments, oldest first; the newest may be in progress. */
export class TrackStore {
  readonly #options: TrackStoreOptions;
  readonly #segments: StoredSegment[] = [];
  readonly #inits: Uint8Array[] = [];
  #bytes = 0;
  #periodStarts = new Map<number, number>();
  #droppedDiscontinuities = 0;
  #waiters: (() => void)[] = [];
  #ended = false;

  constructor(options: TrackStoreOptions) {
    this.#options = options;
  }

  get timescale(): number {
    return this.#options.timescale;
  }

  /** Oldest first. */
  get segments(): readonly StoredSegment[] {
    return this.#segments;
  }

  /** Bytes held by segments (inits aside). */
  get byteLength(): number {
    return this.#bytes;
  }

  /** Whether the stream has ended (no more parts will come). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Adds an init version; returns its number. */
  addInit(bytes: Uint8Array): number {
    this.#inits.push(bytes);
    return this.#inits.length - 1;
  }

  init(version: number): Uint8Array | undefined {
    return this.#inits[version];
  }

  get initVersion(): number {
    return this.#inits.length - 1;
  }

  /** Opens a segment, closing the one in progress. */
  openSegment(
    segment: Omit<StoredSegment, "parts" | "complete" | "byteLength" | "buffer">,
  ): void {
    this.closeSegment();
    if (!this.#periodStarts.has(segment.period)) {
      this.#periodStarts.set(segment.period, segment.start);
    }
    // Sized like the previous segment, so most segments never grow.
    const capacity = this.#segments[this.#segments.length - 1]?.byteLength ?? 64 * 1024;
    this.#segments.push({
      ...segment,
      parts: [],
      complete: false,
      byteLength: 0,
      buffer: new Uint8Array(Math.ceil(capacity * 1.25)),
    });
  }

  /** Adds a finished part to the segment in progress. */
  addPart(parts: readonly Uint8Array[], timing: Omit<StoredPart, "offset" | "length">): void {
    const segment = this.#segments[this.#segments.length - 1];
    if (!segment || segment.complete) throw new RangeError("No segment is open for a part");
    const offset = segment.byteLength;
    append(segment, parts);
    segment.parts.push({ offset, length: segment.byteLength - offset, ...timing });
    this.#bytes += segment.byteLength - offset;
    this.#wake();
  }

  /**
   * Appends a gap segment of `duration` (this store's timescale) after the newest segment, which
   * it follows in time and wall-clock time. Nothing happens before the first segment.
   */
  addGap(number: number, duration: number): void {
    this.closeSegment();
    const newest = this.#segments[this.#segments.length - 1];
    if (!newest || duration <= 0) return;
    const previous = storedDuration(newest);
    this.#segments.push({
      number,
      start: newest.start + previous,
      parts: [],
      complete: true,
      programDateTime: newest.programDateTime + previous * 1000 / this.timescale,
      init: newest.init,
      discontinuity: false,
      period: newest.period,
      byteLength: 0,
      buffer: new Uint8Array(0),
      gap: duration,
    });
    this.#trim();
    this.#wake();
  }

  /** Closes the segment in progress (an empty one is dropped), and applies the limits. */
  closeSegment(): void {
    const newest = this.#segments[this.#segments.length - 1];
    if (!newest || newest.complete) return;
    if (newest.parts.length === 0) {
      this.#segments.pop();
    } else {
      newest.complete = true;
      // Give back the spare capacity of a segment that is now immutable.
      if (newest.buffer.length > newest.byteLength * 1.5) {
        newest.buffer = newest.buffer.slice(0, newest.byteLength);
      }
    }
    this.#trim();
    this.#wake();
  }

  /** Ends the stream: the segment in progress is closed and every waiter released. */
  end(): void {
    this.closeSegment();
    this.#ended = true;
    this.#wake();
  }

  /** Discontinuities that have left the window (EXT-X-DISCONTINUITY-SEQUENCE grows by them). */
  get droppedDiscontinuities(): number {
    return this.#droppedDiscontinuities;
  }

  /** Start (this store's timescale) of the first segment of DASH Period `period`. */
  periodStart(period: number): number | undefined {
    return this.#periodStarts.get(period);
  }

  /** The segment numbered `number`, while it is kept. */
  segment(number: number): StoredSegment | undefined {
    const first = this.#segments[0];
    if (!first) return undefined;
    const at = number - first.number;
    const found = this.#segments[at];
    return found?.number === number ? found : this.#segments.find((s) => s.number === number);
  }

  /** Resolves at the next change (a part, a closed segment, the end), or after `ms`. */
  changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #trim(): void {
    const { keepSeconds, maxBytes, timescale, minSegments = 7 } = this.#options;
    const newest = this.#segments[this.#segments.length - 1];
    const end = newest.start + storedDuration(newest);
    while (this.#segments.length > minSegments + 1) {
      const oldest = this.#segments[0];
      const oldestEnd = oldest.start + storedDuration(oldest);
      if (end - oldestEnd <= keepSeconds * timescale && this.#bytes <= maxBytes) break;
      this.#segments.shift();
      this.#bytes -= oldest.byteLength;
      if (oldest.discontinuity) this.#droppedDiscontinuities++;
    }
    const oldestPeriod = this.#segments[0]?.period ?? 0;
    for (const period of this.#periodStarts.keys()) {
      if (period < oldestPeriod) this.#periodStarts.delete(period);
    }
  }
}
