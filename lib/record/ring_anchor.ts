/**
 * Where a recording sits on the live timeline: found by the keyframes it shares with the ring.
 *
 * @module
 */

import { ID } from "../ebml/ids.ts";
import { readClusterBlocks, readElementHeader } from "../matroska/file_layout.ts";
import { sameBytes } from "../matroska/live_header.ts";
import type { GopRing } from "../stream/gop_ring.ts";
import type { Recording } from "./recordings.ts";
import { readAt } from "./recording_index.ts";

/** Keyframes of the recording compared with the ring's, newest first. */
const CANDIDATES = 16;

/** The first block of `track` in a Cluster's bytes (header included), when it is a keyframe. */
function firstKeyframe(cluster: Uint8Array, track: number | undefined) {
  const header = readElementHeader(cluster, 0);
  if (header === undefined || header.id !== ID.Cluster) return undefined;
  const { blocks } = readClusterBlocks(cluster.subarray(header.headerSize));
  const block = blocks.find((b) => track === undefined || b.track === track);
  return block?.keyframe ? block : undefined;
}

/**
 * The offset that puts `recording`'s timestamps on the ring's timeline (live = file time ×
 * `scale` + offset, in the ring's units), found by the keyframes both hold byte for byte: the
 * recorder writes the same frames the ring has, with its own timestamps from 0. The offset
 * most keyframe pairs agree on wins (static pictures can make two keyframes alike); a tie goes
 * to the one nearest the wall clock's estimate. `undefined` when no keyframe matches (the file
 * is of an earlier stream, or has left the ring's window).
 */
export async function ringAnchor(
  recording: Recording,
  ring: GopRing,
  options: { track: number | undefined; scale: number; estimate: number },
): Promise<number | undefined> {
  const byLength = new Map<number, { time: number; frames: Uint8Array }[]>();
  for (const gop of ring.gops) {
    if (gop.offset > 0 || gop.clusterCount === 0) continue;
    const block = firstKeyframe(gop.cluster(0), options.track);
    if (block === undefined) continue;
    const list = byLength.get(block.frames.length) ?? [];
    list.push({ time: gop.time, frames: block.frames });
    byLength.set(block.frames.length, list);
  }
  if (byLength.size === 0) return undefined;
  const keyframes = recording.index.clusters.filter((c) => c.keyframe).slice(-CANDIDATES);
  const votes = new Map<number, number>();
  using file = await Deno.open(recording.path, { read: true });
  for (const entry of keyframes) {
    const block = firstKeyframe(await readAt(file, entry.offset, entry.length), options.track);
    if (block === undefined) continue;
    for (const held of byLength.get(block.frames.length) ?? []) {
      if (!sameBytes(held.frames, block.frames)) continue;
      const offset = held.time - Math.round(block.time * options.scale);
      votes.set(offset, (votes.get(offset) ?? 0) + 1);
    }
  }
  let best: number | undefined;
  let bestVotes = 0;
  for (const [offset, n] of votes) {
    const nearer = best !== undefined &&
      Math.abs(offset - options.estimate) < Math.abs(best - options.estimate);
    if (n > bestVotes || (n === bestVotes && nearer)) {
      best = offset;
      bestVotes = n;
    }
  }
  return best;
}
