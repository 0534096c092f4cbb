/**
 * What the fMP4 writer needs to know of a track and of a sample. CMAF tracks are single-track
 * files (ISO/IEC 23000-19, section 7.3.1), so every init segment and fragment holds one track.
 *
 * @module
 */

import type { TrackInfo } from "../matroska/live_header.ts";
import { hasMp4Form } from "./sample_entry.ts";

/** One track, as the Matroska header describes it, with the timescale its samples count in. */
export interface Mp4Track {
  /** ISO BMFF track_ID, at least 1. */
  id: number;
  kind: "video" | "audio";
  /** The Matroska CodecID, e.g. `V_MPEG4/ISO/AVC` or `A_OPUS`. */
  codecId: string;
  /** The Matroska CodecPrivate, when the track has one. */
  codecPrivate?: Uint8Array;
  width?: number;
  height?: number;
  /** Audio: the sampling frequency in Hz (Matroska SamplingFrequency). */
  sampleRate?: number;
  channels?: number;
  /** ISO 639-2/T code, e.g. `eng`; `und` when absent. */
  language?: string;
  /** Ticks per second of every time in the samples; see `chooseTimescale`. */
  timescale: number;
}

/** One sample (one frame), times in the track's timescale. */
export interface Mp4Sample {
  /**
   * The frame's bytes: one view, or several (a stripped header beside the payload) that the
   * sample is the concatenation of. Never copied by the writer.
   */
  data: Uint8Array | readonly Uint8Array[];
  /** Presentation time. */
  pts: number;
  /** Decode time; the presentation time when absent (no reordering). See `DtsEstimator`. */
  dts?: number;
  /**
   * Decode duration. Only the last sample of a fragment uses it: the others last until the next
   * sample's decode time, so that the fragment's timeline has no gaps.
   */
  duration: number;
  /** A sync sample (a video keyframe; every audio frame of the codecs written here). */
  keyframe: boolean;
}

/** The MPEG-TS and HLS clock: exact for 24, 25, 30, 50 and 60 fps and for millisecond times. */
export const VIDEO_TIMESCALE = 90_000;

/**
 * The timescale for a track: the sample rate for audio (48 kHz for Opus), so that every codec frame has an exact
 * integer duration (an AAC frame at 44.1 kHz lasts 23.22 ms, which no millisecond clock holds);
 * 90 kHz for video when Matroska times map onto it exactly (any TimestampScale that is a
 * multiple of 1/90,000 s, which includes the default 1 ms), else the Matroska clock itself
 * (`1e9 / timestampScale`, when that is an integer), so that no time is ever rounded.
 *
 * @param timestampScale nanoseconds per Matroska timestamp unit (Info\TimestampScale)
 */
export function chooseTimescale(
  track: Pick<Mp4Track, "kind" | "codecId" | "sampleRate">,
  timestampScale: number,
): number {
  if (track.kind === "audio") {
    // Opus always runs at 48 kHz, whatever the input rate (Opus in ISO BMFF, §4.3, RFC 7845 §5.1).
    if (track.codecId === "A_OPUS") return 48000;
    const rate = track.sampleRate;
    if (rate === undefined || !Number.isInteger(rate) || rate <= 0) {
      throw new TypeError(`Audio track needs an integer sample rate: ${rate}`);
    }
    return rate;
  }
  if ((timestampScale * VIDEO_TIMESCALE) % 1e9 === 0) return VIDEO_TIMESCALE;
  const native = 1e9 / timestampScale;
  if (Number.isInteger(native) && native <= 0xffff_ffff) return native;
  return VIDEO_TIMESCALE;
}

/** What `toMp4Track` reads of a Matroska track: its `TrackInfo` (a language, if known). */
export type MatroskaTrackFields =
  & Pick<TrackInfo, "number" | "kind" | "codecId">
  & Partial<Pick<TrackInfo, "codecPrivate" | "width" | "height" | "sampleRate" | "channels">>
  & { language?: string };

/**
 * The fMP4 description of a Matroska video or audio track whose codec has an ISO BMFF form,
 * with the track number as track_ID; `undefined` for the others (VP8, Vorbis, subtitles…),
 * which WebM DASH or the progressive stream serve instead.
 *
 * @param timestampScale nanoseconds per Matroska timestamp unit (Info\TimestampScale)
 */
export function toMp4Track(
  info: MatroskaTrackFields,
  timestampScale: number,
): Mp4Track | undefined {
  if ((info.kind !== "video" && info.kind !== "audio") || !hasMp4Form(info.codecId)) {
    return undefined;
  }
  const kind = info.kind === "video" ? "video" : "audio";
  const { number, codecId, codecPrivate, width, height, sampleRate, channels, language } = info;
  const track: Omit<Mp4Track, "timescale"> = {
    id: number,
    kind,
    codecId,
    codecPrivate,
    width,
    height,
    sampleRate,
    channels,
    language,
  };
  return { ...track, timescale: chooseTimescale(track, timestampScale) };
}
