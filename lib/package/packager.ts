/**
 * The packager of one mount: a second consumer of the mount's blocks (after its time shift),
 * beside the ring. It cuts per-track segments and parts at one clock and keeps them, with their
 * wall-clock placement, for the HLS playlists and DASH manifests rendered from it.
 *
 * @module
 */

import type { Block } from "../matroska/block.ts";
import type { LiveHeader, TrackInfo } from "../matroska/live_header.ts";
import { GapClock } from "./gap_clock.ts";
import { type SegmentForms, segmentForms } from "./segment_forms.ts";
import { type Boundary, SegmentClock } from "./segment_clock.ts";
import { type Cut, TrackPackager } from "./track_packager.ts";
import { storedDuration } from "./track_store.ts";
import { type PackagerPeriod, WallAnchor } from "./wall_anchor.ts";

export { type PackagerPeriod, type SegmentForms, segmentForms };

/** Options of a {@linkcode Packager}; durations in seconds. */
export interface PackagerOptions {
  /**
   * The longest segment (EXT-X-TARGETDURATION). Default: the source's first GOP rounded up,
   * from 2 to 6 s, so that segments start at keyframes; a longer GOP is split.
   */
  targetDuration?: number;
  /** The longest part (PART-TARGET). Default 0.5 s. */
  partTarget?: number;
  /** Segments are kept for this long (the ring's `--buffer` seconds). Default 20 s. */
  keepSeconds?: number;
  /** And within this many bytes per track and format. Default 64 MiB. */
  maxBytes?: number;
  /** The wall clock, Unix milliseconds (tests drive their own). */
  now?: () => number;
}

function trackKey(tracks: readonly TrackInfo[]): string {
  return tracks.map((t) => `${t.number}:${t.kind}:${t.codecId}`).join(",");
}

/** Segments and parts of every track of a mount. */
export class Packager {
  readonly #options: Required<Omit<PackagerOptions, "targetDuration">> & {
    targetDuration?: number;
  };
  #epoch = "";
  #firstSegment = 0;
  #header: LiveHeader | undefined;
  #forms: SegmentForms = { hls: false, dash: undefined, noMp4: [] };
  #tracks = new Map<number, TrackPackager>();
  #primary: TrackInfo | undefined;
  #clock: SegmentClock | undefined;
  #firstKeyframe: number | undefined;
  #wall = new WallAnchor("");
  #ended = false;
  /** While the source is away: its absence, cut into gap segments. */
  #gap: GapClock | undefined;
  /** Added to every block's time: the gaps so far, so that media follows the gap segments. */
  #gapShift = 0;

  constructor(options: PackagerOptions = {}) {
    this.#options = {
      partTarget: options.partTarget ?? 0.5,
      keepSeconds: options.keepSeconds ?? 20,
      maxBytes: options.maxBytes ?? 64 * 1024 * 1024,
      now: options.now ?? Date.now,
      targetDuration: options.targetDuration,
    };
  }

  /** Names this incarnation in every object's URL: base36 of its start's wall-clock ms. */
  get epoch(): string {
    return this.#epoch;
  }

  get header(): LiveHeader | undefined {
    return this.#header;
  }

  get forms(): SegmentForms {
    return this.#forms;
  }

  /** The packaged tracks, by track number. */
  get tracks(): ReadonlyMap<number, TrackPackager> {
    return this.#tracks;
  }

  get periods(): readonly PackagerPeriod[] {
    return this.#wall.periods;
  }

  /**
   * EXT-X-TARGETDURATION in whole seconds, once the clock has started; it stays while a source
   * is away (the playlists and the MPD are still served, as they were).
   */
  get targetDuration(): number | undefined {
    return this.#target === undefined ? undefined : Math.ceil(this.#clockTarget - 1e-9);
  }

  /** The first segment number of the epoch (seeded from the wall clock). */
  get firstSegment(): number {
    return this.#firstSegment;
  }

  /** Seconds of segments kept. */
  get keepSeconds(): number {
    return this.#options.keepSeconds;
  }

  get partTarget(): number {
    return this.#options.partTarget;
  }

  /** Whether a long GOP was split (segments then do not all start with a keyframe). */
  get split(): boolean {
    return this.#clock?.split ?? false;
  }

  /** Bytes held by every track's stores. */
  get byteLength(): number {
    let n = 0;
    for (const track of this.#tracks.values()) n += track.byteLength;
    return n;
  }

  #clockTarget = 2;
  #target: number | undefined;

  /**
   * A source's header: the first, or a new source's. The same tracks continue (a new init where
   * a CodecPrivate changed, behind a discontinuity); other tracks start a new epoch.
   */
  setHeader(header: LiveHeader): void {
    const old = this.#ended ? undefined : this.#header;
    if (old && trackKey(old.tracks) === trackKey(header.tracks)) {
      let changed = false;
      for (const track of this.#tracks.values()) changed = track.setHeader(header) || changed;
      this.#header = header;
      if (changed) this.#wall.discontinue();
      return;
    }
    this.#reset(header);
  }

  /** A block of the mount, after its time shift. */
  push(block: Block): void {
    const track = this.#tracks.get(block.track);
    if (!track) return;
    if (this.#gap) this.#resume();
    if (this.#gapShift !== 0) block = { ...block, time: block.time + this.#gapShift };
    if (block.track === this.#primary?.number) {
      const boundary = this.#tick(block);
      if (boundary) {
        const cut = this.#place(boundary);
        for (const t of this.#tracks.values()) t.cut(cut);
      }
    }
    track.push(block);
  }

  /** The source stopped: segments in progress close now (the next source continues after). */
  sourceEnded(): void {
    for (const track of this.#tracks.values()) track.close();
    this.#clock = undefined;
    this.#firstKeyframe = undefined;
    const edge = this.#edge();
    if (edge !== undefined && this.#target !== undefined && !this.#gap) {
      this.#gap = new GapClock(edge, this.#clockTarget * 1000);
    }
  }

  /**
   * While the source is away, adds the gap segments (HLS EXT-X-GAP) its absence has filled so
   * far; the caller calls this a few times per target duration.
   */
  fillGap(): void {
    if (!this.#gap || this.#ended) return;
    for (const ms of this.#gap.due(this.#options.now())) this.#addGap(ms);
  }

  /** A source is back: the last gap segment, and its media shifted to follow the gap. */
  #resume(): void {
    const gap = this.#gap as GapClock;
    this.#gap = undefined;
    const { last, total } = gap.finish(this.#options.now());
    if (last !== undefined) this.#addGap(last);
    if (total === 0) return;
    this.#gapShift += Math.round(total * 1e6 / (this.#header?.timestampScale ?? 1e6));
    this.#wall.breakPeriod();
  }

  #addGap(ms: number): void {
    const number = this.#nextNumber();
    for (const track of this.#tracks.values()) {
      for (const store of [track.webm, track.cmaf]) {
        store?.addGap(number, Math.round(ms * store.timescale / 1000));
      }
    }
  }

  /** Wall-clock ms where the primary track's newest segment (or gap) ends. */
  #edge(): number | undefined {
    const primary = this.#primary && this.#tracks.get(this.#primary.number);
    const store = primary?.cmaf ?? primary?.webm;
    const newest = store?.segments[store.segments.length - 1];
    if (!store || !newest) return undefined;
    return newest.programDateTime + storedDuration(newest) * 1000 / store.timescale;
  }

  /** The mount ended. Every track's playlists end, even when one's last part cannot be written. */
  end(): void {
    this.#ended = true;
    let failure: unknown;
    for (const track of this.#tracks.values()) {
      try {
        track.end();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  #reset(header: LiveHeader): void {
    for (const track of this.#tracks.values()) track.end();
    const now = this.#options.now();
    this.#epoch = Math.floor(now).toString(36);
    // One counter per mount, seeded from the wall clock, so that numbers keep growing across
    // restarts of mkserver (segments average at most one a second).
    this.#firstSegment = Math.floor(now / 1000);
    this.#header = header;
    this.#forms = segmentForms(header.tracks);
    this.#tracks = new Map();
    this.#wall = new WallAnchor(this.#epoch);
    this.#clock = undefined;
    this.#firstKeyframe = undefined;
    this.#ended = false;
    this.#target = undefined;
    this.#gap = undefined;
    this.#gapShift = 0;
    const media = header.tracks.filter((t) => t.kind === "video" || t.kind === "audio");
    this.#primary = media.find((t) => t.kind === "video") ?? media[0];
    const { hls, dash } = this.#forms;
    if (!hls && !dash) return;
    for (const track of media) {
      this.#tracks.set(
        track.number,
        new TrackPackager(track, header, {
          webm: dash === "webm",
          cmaf: hls || dash === "cmaf",
          keepSeconds: this.#options.keepSeconds,
          maxBytes: this.#options.maxBytes,
        }),
      );
    }
  }

  /** The clock's verdict on a primary block; starts the clock once the GOP length is known. */
  #tick(block: Block): Boundary | undefined {
    if (!this.#clock) {
      const video = this.#primary?.kind === "video";
      let target = this.#options.targetDuration ?? this.#target;
      if (target === undefined && video) {
        if (!block.keyframe) return undefined;
        if (this.#firstKeyframe === undefined || block.time <= this.#firstKeyframe) {
          this.#firstKeyframe = block.time;
          return undefined;
        }
        const gop = (block.time - this.#firstKeyframe) * (this.#header?.timestampScale ?? 1e6) /
          1e9;
        target = Math.min(6, Math.max(2, Math.ceil(gop - 0.001)));
      }
      // Fixed for the epoch: EXT-X-TARGETDURATION must never change (RFC 8216bis §6.2.1).
      this.#target = target ?? 2;
      this.#clockTarget = this.#target;
      this.#clock = new SegmentClock({
        timestampScale: this.#header?.timestampScale ?? 1e6,
        video,
        targetDuration: this.#clockTarget,
        minSegment: Math.min(1, this.#clockTarget),
        partTarget: Math.min(this.#options.partTarget, this.#clockTarget),
        firstSegment: this.#nextNumber(),
      });
    }
    return this.#clock.next(block.time, block.keyframe);
  }

  /** The number the next segment gets: after every segment any track still holds. */
  #nextNumber(): number {
    let next = this.#firstSegment;
    for (const track of this.#tracks.values()) {
      for (const store of [track.webm, track.cmaf]) {
        const newest = store?.segments[store.segments.length - 1];
        if (newest) next = Math.max(next, newest.number + 1);
      }
    }
    return next;
  }

  /** Places a boundary on the wall clock (see `WallAnchor`). */
  #place(boundary: Boundary): Cut {
    const programDateTime = this.#wall.place({
      now: this.#options.now(),
      media: boundary.time,
      unitsPerSecond: 1e9 / (this.#header?.timestampScale ?? 1e6),
      target: this.#clockTarget,
      segment: boundary.newSegment,
    });
    return {
      boundary,
      primaryTrack: this.#primary?.number ?? 0,
      programDateTime,
      period: this.#wall.period,
      discontinuity: boundary.newSegment && this.#wall.takeDiscontinuity(),
    };
  }
}
