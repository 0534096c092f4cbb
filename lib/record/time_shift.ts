/**
 * Time-shifted joins: where a viewer that asks for a point in the past starts, in the ring or
 * in the recordings.
 *
 * @module
 */

import type { LiveHeader, TrackInfo } from "../matroska/live_header.ts";
import { sameBytes } from "../matroska/live_header.ts";
import type { GopRing, StartPoint } from "../stream/gop_ring.ts";
import { type LeadInFile, RecordingLeadIn } from "./recording_lead_in.ts";
import type { Recording, RecordingStore } from "./recordings.ts";
import { ringAnchor } from "./ring_anchor.ts";

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
  // The wall time the point stands for: `ago` counts back from the newest media, whose wall
  // time the ring's GOPs give (the clock when it arrived).
  let wall: number;
  if ("ago" in point) {
    const target = ring.liveTime - point.ago / ms;
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
  const usable = recordings.filter((r) =>
    r.index.head !== undefined && sameTracks(r.index.head.tracks, header.tracks) &&
    r.index.clusters.some((c) => c.keyframe)
  );
  const oldestKept = usable[0]?.start.getTime() ?? oldest?.wallTime;
  const first = usable.findLastIndex((r) => r.start.getTime() <= wall);
  if (first < 0) {
    return { kind: "too-old", oldest: oldestKept === undefined ? undefined : new Date(oldestKept) };
  }
  // The file before too: the clock's guess of the point may be off by the recorder's delay.
  const placed = await placeRecordings(usable.slice(Math.max(0, first - 1)), ring, header, options);
  // On the live timeline the point is exact once the files are placed (`ago` counts media).
  const live = "ago" in point
    ? ring.liveTime - point.ago / ms
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

/**
 * Places each recording on the live timeline: the newest one that shares keyframes with the
 * ring by those, each older one ending where the next begins (by its Duration), so the
 * timestamps a viewer gets keep increasing into live.
 */
async function placeRecordings(
  recordings: Recording[],
  ring: GopRing,
  header: LiveHeader,
  options: PlanShiftOptions,
): Promise<LeadInFile[]> {
  const ms = ring.msPerUnit;
  const primary = header.tracks.find((t) => t.kind === "video")?.number;
  const files: LeadInFile[] = recordings.map((recording) => ({
    recording,
    offset: 0,
    scale: recording.index.head!.timestampScale / header.timestampScale,
    from: 0,
  }));
  const oldest = ring.gops.find((g) => g.offset === 0);
  let anchored = -1;
  for (let i = files.length - 1; i >= 0 && oldest !== undefined; i--) {
    const f = files[i];
    // By the wall clock: the file began `wall - start` before the ring's oldest GOP.
    const estimate = Math.round(
      oldest.time - (oldest.wallTime - f.recording.start.getTime()) / ms,
    );
    const offset = await ringAnchor(f.recording, ring, {
      track: primary,
      scale: f.scale,
      estimate,
    });
    f.offset = offset ?? estimate;
    if (offset !== undefined) {
      anchored = i;
      break;
    }
    if (i === files.length - 1) continue;
    break; // only the newest two can overlap the ring
  }
  if (anchored < 0) {
    options.onWarning?.(
      `The recordings of ${options.mount} share no keyframe with the buffer: placed by the clock`,
    );
    anchored = files.length - 1;
  }
  // Each older file ends where the next begins: its length is its Duration, or its last
  // block's time and one unit, whichever is more (so no time repeats).
  const lengths: number[] = [];
  for (const f of files) {
    const last = await f.recording.index.lastBlockTime();
    lengths.push(Math.max(
      Math.ceil(f.recording.duration / ms),
      last === undefined ? 0 : Math.round(last * f.scale) + 1,
    ));
  }
  for (let i = anchored - 1; i >= 0; i--) files[i].offset = files[i + 1].offset - lengths[i];
  for (let i = anchored + 1; i < files.length; i++) {
    files[i].offset = files[i - 1].offset + lengths[i - 1];
  }
  return files;
}
