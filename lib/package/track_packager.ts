/**
 * One track of a packager: its blocks, unlaced, cut into parts and segments at the mount's
 * boundaries, written as WebM Clusters and/or CMAF chunks into a store per format.
 *
 * @module
 */

import { type Block, joinPayload, type Payload } from "../matroska/block.ts";
import { framePayloads } from "../matroska/lacing.ts";
import { type LiveHeader, sameBytes, type TrackInfo } from "../matroska/live_header.ts";
import { singleTrackHeader } from "../matroska/track_header.ts";
import { DtsEstimator } from "../mp4/dts_estimator.ts";
import { writeFragment } from "../mp4/fragment.ts";
import { writeInitSegment } from "../mp4/init_segment.ts";
import { AudioTimeline } from "../mp4/audio_timeline.ts";
import { readFrameDuration } from "../mp4/frame_duration.ts";
import { type Mp4Sample, type Mp4Track, toMp4Track } from "../mp4/mp4_track.ts";
import { readReorderDepth } from "../mp4/reorder_depth.ts";
import { codecString } from "../mp4/sample_entry.ts";
import type { Boundary } from "./segment_clock.ts";
import { TrackStore } from "./track_store.ts";
import { type WebmFrame, writeWebmPart } from "./webm_part.ts";

/** A boundary as the packager hands it to its tracks, with the segment's wall-clock placement. */
export interface Cut {
  boundary: Boundary;
  /** Wall-clock time of the boundary, Unix milliseconds. */
  programDateTime: number;
  /** The track whose blocks drive the clock (its parts are timed by the boundaries). */
  primaryTrack: number;
  /** DASH Period index. */
  period: number;
  /** The segment follows a discontinuity. */
  discontinuity: boolean;
}

/** Options of a {@linkcode TrackPackager}. */
export interface TrackPackagerOptions {
  webm: boolean;
  cmaf: boolean;
  keepSeconds: number;
  maxBytes: number;
}

/**
 * CMAF times start this far above the mount's timeline, so that the decode times of the first
 * frames of a stream with B-frames (which precede its first presentation time) stay positive.
 */
const CMAF_OFFSET_SECONDS = 10;

/** Frames of reordering assumed when an H.264/HEVC SPS does not say (x264 declares 2). */
const REORDER_DEPTH = 2;

/** One track's parts and segments, in the formats the mount offers. */
export class TrackPackager {
  readonly track: TrackInfo;
  readonly webm: TrackStore | undefined;
  readonly cmaf: TrackStore | undefined;
  readonly #units: number;
  #mp4: Mp4Track | undefined;
  #codecs: string | undefined;
  #dts: DtsEstimator | undefined;
  #queue: Cut[] = [];
  #open: Cut | undefined;
  #started = false;
  #independent = false;
  #frames: WebmFrame[] = [];
  #partStart = 0;
  #lastTime = 0;
  #interval = 0;
  #samples: Mp4Sample[] = [];
  #sequence = 0;
  #audio = new AudioTimeline();

  constructor(track: TrackInfo, header: LiveHeader, options: TrackPackagerOptions) {
    this.track = track;
    this.#units = 1e9 / header.timestampScale;
    const limits = { keepSeconds: options.keepSeconds, maxBytes: options.maxBytes };
    this.webm = options.webm ? new TrackStore({ timescale: this.#units, ...limits }) : undefined;
    const mp4 = options.cmaf ? toMp4Track(track, header.timestampScale) : undefined;
    if (mp4) this.cmaf = new TrackStore({ timescale: mp4.timescale, ...limits });
    this.setHeader(header);
  }

  /** RFC 6381 codecs string of the CMAF form. */
  get codecs(): string | undefined {
    return this.#codecs;
  }

  /** Bytes held by both stores. */
  get byteLength(): number {
    return (this.webm?.byteLength ?? 0) + (this.cmaf?.byteLength ?? 0);
  }

  /** Takes a new header (same track number, kind and codec); true when an init changed. */
  setHeader(header: LiveHeader): boolean {
    const track = header.tracks.find((t) => t.number === this.track.number) ?? this.track;
    let changed = false;
    if (this.webm) {
      const init = singleTrackHeader(header, track.number);
      if (!sameBytes(this.webm.init(this.webm.initVersion), init)) {
        changed = this.webm.addInit(init) > 0 || changed;
      }
    }
    const mp4 = this.cmaf ? toMp4Track(track, header.timestampScale) : undefined;
    if (this.cmaf && mp4) {
      mp4.timescale = this.cmaf.timescale;
      const init = writeInitSegment(mp4);
      this.#codecs = codecString(mp4);
      if (!sameBytes(this.cmaf.init(this.cmaf.initVersion), init)) {
        changed = this.cmaf.addInit(init) > 0 || changed;
      }
      this.#mp4 = mp4;
      // The SPS says how deep frames are reordered; where it leaves that open, assume x264's.
      const bFrames = track.codecId === "V_MPEG4/ISO/AVC" || track.codecId === "V_MPEGH/ISO/HEVC";
      const depth = readReorderDepth(track) ?? (bFrames ? REORDER_DEPTH : 0);
      this.#dts = depth > 0
        ? new DtsEstimator({ reorderDepth: depth, frameDuration: Math.round(mp4.timescale / 25) })
        : undefined;
    }
    return changed;
  }

  /** A boundary of the mount: it takes effect at this track's first block at or after it. */
  cut(cut: Cut): void {
    this.#queue.push(cut);
  }

  /** The track's next block. */
  push(block: Block): void {
    const frames = framePayloads(block);
    const times = this.#frameTimes(block, frames);
    const samples = this.cmaf ? this.#cmafSamples(block, frames, times) : undefined;
    while (this.#queue.length > 0 && this.#queue[0].boundary.time <= block.time) {
      const cut = this.#queue.shift() as Cut;
      // Parts are timed on the presentation axis: the primary track's by the clock's boundary
      // (its newest time, so that B-frames do not shorten or stretch them), the others' by
      // their first frame at or after it.
      const at = cut.primaryTrack === this.track.number ? cut.boundary.time : block.time;
      this.#closePart(at, samples?.[0]);
      this.#partStart = at;
      if (cut.boundary.newSegment) {
        this.#open = cut;
        this.#started = true;
      }
      this.#independent = this.track.kind !== "video" || cut.boundary.independent;
    }
    if (!this.#started) return;
    if (this.#open) this.#openSegment(this.#open);
    this.#open = undefined;
    if (this.webm) {
      frames.forEach((data, i) =>
        this.#frames.push({ time: times[i], keyframe: block.keyframe, data })
      );
    }
    if (samples) this.#samples.push(...samples);
    if (block.time > this.#lastTime) this.#interval = block.time - this.#lastTime;
    this.#lastTime = times[times.length - 1];
  }

  /** The source stopped: the part and segment in progress close now. */
  close(): void {
    this.#closePart(this.#lastTime + this.#interval, undefined);
    this.webm?.closeSegment();
    this.cmaf?.closeSegment();
    this.#queue = [];
    this.#started = false;
  }

  /** The mount ended (or its packaging failed: then the part that cannot be written is lost). */
  end(): void {
    try {
      this.close();
    } finally {
      this.webm?.end();
      this.cmaf?.end();
    }
  }

  /** Frame times of a block's frames: laced frames follow each other by the codec's frame size. */
  #frameTimes(block: Block, frames: Payload[]): number[] {
    if (frames.length === 1) return [block.time];
    const clock: Mp4Track = {
      id: this.track.number,
      kind: "audio",
      codecId: this.track.codecId,
      sampleRate: this.track.sampleRate,
      timescale: 1e6 * this.#units, // microunits, then rounded: no drift over a lace
    };
    const times: number[] = [];
    let at = block.time * 1e6;
    for (const frame of frames) {
      times.push(Math.round(at / 1e6));
      at += readFrameDuration(clock, joinPayload(frame)) ?? 0;
    }
    return times;
  }

  #cmafSamples(block: Block, frames: Payload[], times: number[]): Mp4Sample[] {
    const timescale = this.cmaf?.timescale ?? 1;
    const offset = CMAF_OFFSET_SECONDS * timescale;
    const samples: Mp4Sample[] = [];
    frames.forEach((data, i) => {
      const exact = Math.round(times[i] * timescale / this.#units) + offset;
      if (this.track.kind !== "audio") {
        const dts = this.#dts ? this.#dts.push(exact) : exact;
        samples.push({ data, pts: exact, dts, duration: 0, keyframe: block.keyframe });
        return;
      }
      // Audio: one frame after another by the codec's frame size (Matroska's millisecond times
      // are rounded), re-anchored on the block times after a gap; a frame overlapping the
      // previous one (a splice in the source) is left out.
      // (An audio frame in pieces is rare and small: its header is read from it joined.)
      const duration = this.#mp4 ? readFrameDuration(this.#mp4, joinPayload(data)) : undefined;
      const pts = duration === undefined ? exact : this.#audio.push(exact, duration);
      if (pts !== undefined) {
        samples.push({ data, pts, dts: pts, duration: duration ?? 0, keyframe: true });
      }
    });
    return samples;
  }

  /** A block time in the CMAF store's timescale. */
  #ticks(time: number): number {
    const timescale = this.cmaf?.timescale ?? 1;
    return Math.round(time * timescale / this.#units) + CMAF_OFFSET_SECONDS * timescale;
  }

  #openSegment(cut: Cut): void {
    const common = {
      number: cut.boundary.segment,
      programDateTime: cut.programDateTime,
      discontinuity: cut.discontinuity,
      period: cut.period,
    };
    const start = this.#partStart;
    this.webm?.openSegment({ ...common, start, init: this.webm.initVersion });
    this.cmaf?.openSegment({ ...common, start: this.#ticks(start), init: this.cmaf.initVersion });
  }

  /**
   * Closes the part in progress at `end` (block time, on the presentation axis) before `next`
   * (the next sample, whose decode time ends the last sample's duration in CMAF).
   */
  #closePart(end: number, next: Mp4Sample | undefined): void {
    if (this.webm && this.#frames.length > 0) {
      const part = writeWebmPart(this.track.number, this.#partStart, this.#frames);
      this.webm.addPart(part.parts, {
        start: this.#partStart,
        duration: end - this.#partStart,
        independent: this.#independent,
      });
    }
    this.#frames = [];
    const samples = this.#samples;
    if (this.cmaf && this.#mp4 && samples.length > 0) {
      const last = samples[samples.length - 1];
      const lastDts = last.dts ?? last.pts;
      const previous = samples.length > 1 ? samples[samples.length - 2] : undefined;
      const fallback = previous ? lastDts - (previous.dts ?? previous.pts) : last.duration;
      const nextDts = next ? next.dts ?? next.pts : lastDts + (last.duration || fallback);
      last.duration = Math.max(0, nextDts - lastDts);
      const chunk = writeFragment(this.#mp4, samples, { sequence: ++this.#sequence });
      const start = this.#ticks(this.#partStart);
      this.cmaf.addPart(chunk, {
        start,
        duration: this.#ticks(end) - start,
        independent: this.#independent,
      });
    }
    this.#samples = [];
  }
}
