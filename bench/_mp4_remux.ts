// A whole-file Matroska → fMP4 remux over lib/mp4, for the fMP4 tests and bench/mp4_bench.ts:
// not the packager (no segment clock, no playlists), just the per-track byte path it will drive.
// Each track becomes an init segment and chunks cut at keyframes and every `partSeconds`.
import { type EbmlEvent, EbmlReader } from "../lib/ebml/ebml_reader.ts";
import { ID } from "../lib/ebml/ids.ts";
import { readElements } from "../lib/ebml/read_elements.ts";
import { readUint } from "../lib/ebml/values.ts";
import { type Block, joinPayload, type Payload } from "../lib/matroska/block.ts";
import { framePayloads } from "../lib/matroska/lacing.ts";
import type { LiveHeader } from "../lib/matroska/live_header.ts";
import { BLOCK_PARTS, MatroskaDemuxer } from "../lib/matroska/matroska_demuxer.ts";
import { DtsEstimator, measureReorderDepth } from "../lib/mp4/dts_estimator.ts";
import { writeFragment } from "../lib/mp4/fragment.ts";
import { writeInitSegment } from "../lib/mp4/init_segment.ts";
import { type Mp4Sample, type Mp4Track, toMp4Track } from "../lib/mp4/mp4_track.ts";
import { readFrameDuration } from "../lib/mp4/frame_duration.ts";
import { AudioTimeline } from "../lib/mp4/audio_timeline.ts";
import { readReorderDepth } from "../lib/mp4/reorder_depth.ts";

/** One remuxed track: its description, init segment, chunks (parts lists) and samples. */
export interface RemuxedTrack {
  track: Mp4Track;
  init: Uint8Array;
  chunks: Uint8Array[][];
  samples: Mp4Sample[];
  /** Ticks added to every time, so that the first DTS are not negative. */
  shift: number;
  reorderDepth: number;
  /** The track's extras from the Tracks element. */
  extras: TrackExtras;
}

/** CodecPrivate and DefaultDuration by track number, read from the Tracks element. */
export interface TrackExtras {
  codecPrivate?: Uint8Array;
  defaultDuration?: number;
  /** Nanoseconds the decoder delays the audio by (Opus pre-skip); ffprobe subtracts it. */
  codecDelay?: number;
}

/** Demuxes whole chunks with EbmlReader + MatroskaDemuxer, keeping the Tracks element's extras. */
export function demuxWithExtras(
  chunks: readonly Uint8Array[],
): { header: LiveHeader; blocks: Block[]; extras: Map<number, TrackExtras> } {
  const reader = new EbmlReader({ inParts: BLOCK_PARTS });
  const demuxer = new MatroskaDemuxer();
  const blocks: Block[] = [];
  const extras = new Map<number, TrackExtras>();
  const emit = (e: EbmlEvent) => {
    if (e.type === "element" && e.id === ID.Tracks && extras.size === 0) {
      for (const entry of readElements(e.data)) {
        if (entry.id !== ID.TrackEntry) continue;
        let number = 0;
        const x: TrackExtras = {};
        for (const f of readElements(entry.data)) {
          if (f.id === ID.TrackNumber) number = readUint(f.data);
          else if (f.id === ID.CodecPrivate) x.codecPrivate = f.data;
          else if (f.id === ID.DefaultDuration) x.defaultDuration = readUint(f.data);
          else if (f.id === ID.CodecDelay) x.codecDelay = readUint(f.data);
        }
        extras.set(number, x);
      }
    }
    demuxer.push(e, (m) => {
      if (m.type === "block") blocks.push(m.block);
    });
  };
  for (const chunk of chunks) reader.push(chunk, emit);
  reader.end(emit);
  if (demuxer.header === undefined) throw new Error("No Matroska header");
  return { header: demuxer.header, blocks, extras };
}

/** Remuxes every track with an ISO BMFF form into its own init segment and chunks. */
export function remuxToFmp4(
  chunks: readonly Uint8Array[],
  options: { partSeconds?: number } = {},
): RemuxedTrack[] {
  const { header, blocks, extras } = demuxWithExtras(chunks);
  const partSeconds = options.partSeconds ?? 0.5;
  const out: RemuxedTrack[] = [];
  for (const info of header.tracks) {
    const x = extras.get(info.number) ?? {};
    const track = toMp4Track({ ...info, codecPrivate: x.codecPrivate }, header.timestampScale);
    if (track === undefined) continue;
    const ticks = track.timescale / (1e9 / header.timestampScale);
    // The frame interval: DefaultDuration, else AAC's 1024 or Opus's usual 960 samples.
    const frame = x.defaultDuration !== undefined
      ? Math.round(x.defaultDuration * track.timescale / 1e9)
      : track.codecId === "A_OPUS"
      ? 960
      : 1024;
    const own = blocks.filter((b) => b.track === info.number);
    const frames: { data: Payload; pts: number; duration: number; keyframe: boolean }[] = [];
    // Only audio durations come from the frames (a frame in pieces is joined to read them).
    const durationOf = (data: Payload) =>
      track.kind === "audio" ? readFrameDuration(track, joinPayload(data)) ?? frame : frame;
    // Audio frames go back to back on the sample clock; laced ones follow each other by their
    // own durations (RFC 9559 §10.3 gives a lace one time).
    const timeline = track.kind === "audio" ? new AudioTimeline() : undefined;
    for (const b of own) {
      let pts = Math.round(b.time * ticks);
      for (const data of framePayloads(b)) {
        const duration = durationOf(data);
        const at = timeline?.push(pts, duration) ?? pts;
        frames.push({ data, pts: at, duration, keyframe: b.keyframe });
        pts += duration;
      }
    }
    // The depth the SPS declares, as ffmpeg uses it; else what the file shows.
    const depth = track.kind === "audio"
      ? 0
      : readReorderDepth(track) ?? measureReorderDepth(frames.map((f) => f.pts));
    const shift = track.timescale; // one second: room for the first frames' DTS
    const dts = new DtsEstimator({ reorderDepth: depth, frameDuration: frame });
    const samples: Mp4Sample[] = frames.map((f) => ({
      data: f.data,
      pts: f.pts + shift,
      dts: dts.push(f.pts) + shift,
      duration: f.duration,
      keyframe: track.kind === "audio" || f.keyframe,
    }));
    const cut: Uint8Array[][] = [];
    let start = 0;
    for (let i = 1; i <= samples.length; i++) {
      const s = samples[i];
      const long = s !== undefined && s.dts! - samples[start].dts! >= partSeconds * track.timescale;
      if (s === undefined || long || (track.kind === "video" && s.keyframe)) {
        cut.push(writeFragment(track, samples.slice(start, i), { sequence: cut.length + 1 }));
        start = i;
      }
    }
    out.push({
      track,
      init: writeInitSegment(track),
      chunks: cut,
      samples,
      shift,
      reorderDepth: depth,
      extras: x,
    });
  }
  return out;
}
