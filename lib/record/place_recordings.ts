/**
 * Placing recordings on the live timeline, so that a viewer that starts in them gets times
 * that keep increasing into live.
 *
 * @module
 */

import type { LiveHeader } from "../matroska/live_header.ts";
import type { GopRing } from "../stream/gop_ring.ts";
import { keyframeAnchor, leadingKeyframes, ringKeyframes } from "./keyframe_anchor.ts";
import type { LeadInFile } from "./recording_lead_in.ts";
import type { Recording } from "./recordings.ts";

/** Live time of a placed file's first keyframe. */
function startOf(f: LeadInFile): number {
  const first = f.recording.index.clusters.find((c) => c.keyframe);
  return Math.round((first?.keyTime ?? 0) * f.scale) + f.offset;
}

/**
 * Places `recordings` (oldest first) on the ring's timeline. The newest that shares keyframes
 * with the ring is placed by them exactly; each older one by the keyframes it shares with the
 * next (the recorder's files may overlap), else so that it ends where the next begins (see
 * `lengthOf`). Without any match, the newest
 * is placed by the wall clock (DateUTC against the ring's arrival times) and `onWarning` says
 * so.
 */
export async function placeRecordings(
  recordings: Recording[],
  ring: GopRing,
  header: LiveHeader,
  options: { onWarning?: (message: string) => void } = {},
): Promise<LeadInFile[]> {
  const ms = ring.msPerUnit;
  const track = header.tracks.find((t) => t.kind === "video")?.number;
  const files: LeadInFile[] = recordings.map((recording) => ({
    recording,
    offset: 0,
    scale: recording.index.head!.timestampScale / header.timestampScale,
    from: 0,
    startTime: 0,
  }));
  const oldest = ring.gops.find((g) => g.offset === 0);
  // By the wall clock: a file began `wall - start` before the ring's oldest GOP.
  const estimate = (f: LeadInFile) =>
    oldest === undefined
      ? 0
      : Math.round(oldest.time - (oldest.wallTime - f.recording.start.getTime()) / ms);
  const known = ringKeyframes(ring, track);
  let anchored = -1;
  // Only the newest two can overlap the ring.
  for (let i = files.length - 1; i >= Math.max(0, files.length - 2); i--) {
    const f = files[i];
    const offset = await keyframeAnchor(f.recording, known, { track, ...f, estimate: estimate(f) });
    if (offset !== undefined) {
      f.offset = offset;
      anchored = i;
      break;
    }
  }
  if (anchored < 0) {
    options.onWarning?.("no keyframe in common with the buffer: placed by the clock");
    anchored = files.length - 1;
    files[anchored].offset = estimate(files[anchored]);
  }
  for (let i = anchored - 1; i >= 0; i--) {
    const f = files[i];
    const next = files[i + 1];
    const shared = await leadingKeyframes(next.recording, { track, ...next });
    const length = await lengthOf(f, ms, track);
    f.offset = await keyframeAnchor(f.recording, shared, {
      track,
      ...f,
      estimate: next.offset - length,
    }) ?? next.offset - length;
  }
  for (let i = anchored + 1; i < files.length; i++) {
    files[i].offset = files[i - 1].offset + await lengthOf(files[i - 1], ms, track);
  }
  for (const f of files) f.startTime = startOf(f);
  return files;
}

/**
 * A file's length in the ring's units: where the next one begins when they meet end to end.
 * The primary track's last frame and one frame interval (a recorder cuts files at its
 * keyframes), else the Duration or the last block and one unit, whichever is more.
 */
async function lengthOf(f: LeadInFile, ms: number, track: number | undefined): Promise<number> {
  const tail = await f.recording.index.tail(track);
  if (tail.last !== undefined && tail.step !== undefined) {
    return Math.round((tail.last + tail.step) * f.scale);
  }
  return Math.max(
    Math.ceil(f.recording.duration / ms),
    tail.newest === undefined ? 0 : Math.round(tail.newest * f.scale) + 1,
  );
}
