/**
 * Time-shifted joins: where a viewer that asks for a point in the past starts, in the ring or
 * in the recordings.
 *
 * @module
 */

import type { LiveHeader, TrackInfo } from "../matroska/live_header.ts";
import { sameBytes } from "../matroska/live_header.ts";
import type { GopRing, StartPoint } from "../stream/gop_ring.ts";
import { RecordingLeadIn } from "./recording_lead_in.ts";
import type { RecordingStore } from "./recordings.ts";
import { placeRecordings } from "./place_recordings.ts";

/** A point in the past: `ago` ms behind the newest media, or a wall-clock time. */
export type ShiftPoint = { ago: number } | { at: Date };

/** Where a time-shifted viewer starts. */
export type ShiftPlan =
  | { kind: "ring"; start: StartPoint }
  | { kind: "recordings"; leadIn: RecordingLeadIn; recording: string }
  | { kind: "too-old"; oldest: Date | undefined };

/** Options of `planShift`. */
export interface PlanShiftOptions {
  /** The mount's recordings, if it has any. */
  store?: RecordingStore;
  /** The mount's name: its recordings' folder. */
  mount: string;
  /** Called for a recording left out or an anchor not found. */
  onWarning?: (message: string) => void;
  /** Longest Cluster (ms), as the live segmenter's. */
  maxClusterDuration?: number;
  /** The wall clock (ms since the epoch). */
  now?: number;
  /**
   * The newest media's time (the ring's units), which `ago` counts back from (default: the
   * ring's newest Cluster, up to a Cluster older).
   */
  liveEdge?: number;
}

/** Whether a recording's tracks are the stream's (numbers, codecs, CodecPrivate). */
function sameTracks(a: readonly TrackInfo[], b: readonly TrackInfo[]): boolean {
  return a.length === b.length &&
    a.every((t, i) =>
      t.number === b[i].number && t.codecId === b[i].codecId &&
      sameBytes(t.codecPrivate, b[i].codecPrivate)
    );
}

/**
 * Plans a time-shifted join: the ring's GOP at or before the point when the ring still holds
 * it; else the recordings, from the keyframe at or before it, on the live timeline, handing
 * over to the ring; `too-old` (with the oldest time kept) when the point is older than both.
 * A point at or after the live edge is the newest keyframe.
 */
export async function planShift(
  ring: GopRing,
  header: LiveHeader,
  point: ShiftPoint,
  options: PlanShiftOptions,
): Promise<ShiftPlan> {
  const now = options.now ?? Date.now();
  const gops = ring.gops.filter((g) => g.offset === 0);
  const ms = ring.msPerUnit;
  const oldest = gops[0];
  const edge = Math.max(ring.liveTime, options.liveEdge ?? -Infinity);
  // The wall time the point stands for: `ago` counts back from the newest media, whose wall
  // time the ring's GOPs give (the clock when it arrived).
  let wall: number;
  if ("ago" in point) {
    const target = edge - point.ago / ms;
    for (let i = gops.length - 1; i >= 0; i--) {
      if (gops[i].time <= target) return { kind: "ring", start: { seq: gops[i].seq } };
    }
    wall = oldest ? oldest.wallTime - (oldest.time - target) * ms : now - point.ago;
  } else {
    wall = point.at.getTime();
    if (wall >= now) return { kind: "ring", start: { gops: 1 } };
    for (let i = gops.length - 1; i >= 0; i--) {
      if (gops[i].wallTime <= wall) return { kind: "ring", start: { seq: gops[i].seq } };
    }
  }
  const recordings = (await options.store?.list(
    options.mount,
    (name, error) =>
      options.onWarning?.(`Recording ${name} left out: ${(error as Error)?.message ?? error}`),
  )) ?? [];
  const usable = recordings.filter((r) => {
    if (!sameTracks(r.index.head!.tracks, header.tracks)) {
      options.onWarning?.(`Recording ${r.name} left out: its tracks are not the stream's`);
      return false;
    }
    return r.index.clusters.some((c) => c.keyframe);
  });
  const oldestKept = Math.min(usable[0]?.start.getTime() ?? Infinity, oldest?.wallTime ?? Infinity);
  const first = usable.findLastIndex((r) => r.start.getTime() <= wall);
  if (first < 0) {
    return { kind: "too-old", oldest: oldestKept === Infinity ? undefined : new Date(oldestKept) };
  }
  // The file before too: the clock's guess of the point may be off by the recorder's delay.
  const placed = await placeRecordings(usable.slice(Math.max(0, first - 1)), ring, header, {
    onWarning: (message) => options.onWarning?.(`Recordings of ${options.mount}: ${message}`),
  });
  // On the live timeline the point is exact once the files are placed (`ago` counts media).
  const live = "ago" in point
    ? edge - point.ago / ms
    : oldest && oldest.time - (oldest.wallTime - wall) / ms;
  const k = live === undefined
    ? placed.findIndex((f) => f.recording === usable[first])
    : Math.max(0, placed.findLastIndex((f) => f.offset <= live));
  const files = placed.slice(k);
  const start = files[0];
  const target = live === undefined
    ? (wall - start.recording.start.getTime()) / (start.scale * ms)
    : (live - start.offset) / start.scale;
  const clusters = start.recording.index.clusters;
  let from = clusters.findIndex((c) => c.keyframe);
  for (let i = from; i < clusters.length; i++) {
    if (clusters[i].keyframe && clusters[i].keyTime <= target) from = i;
  }
  start.from = from;
  const leadIn = new RecordingLeadIn(ring, header, files, {
    maxClusterDuration: options.maxClusterDuration,
    onError: (error) =>
      options.onWarning?.(
        `Reading the recordings failed, going on live: ${(error as Error)?.message ?? error}`,
      ),
  });
  return { kind: "recordings", leadIn, recording: start.recording.name };
}
