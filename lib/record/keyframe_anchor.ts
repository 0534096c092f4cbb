/**
 * Where a recording sits on the live timeline: found by the keyframes it shares, byte for
 * byte, with the ring or with the next recording.
 *
 * @module
 */

import { ID } from "../ebml/ids.ts";
import type { Block } from "../matroska/block.ts";
import { readClusterBlocks, readElementHeader } from "../matroska/file_layout.ts";
import { sameBytes } from "../matroska/live_header.ts";
import type { GopRing } from "../stream/gop_ring.ts";
import type { ClusterEntry } from "./recording_index.ts";
import { readAt } from "./recording_index.ts";
import type { Recording } from "./recordings.ts";

/** Keyframes of a recording compared at most. */
const CANDIDATES = 16;

/** A keyframe whose place on the live timeline is known. */
export interface PlacedKeyframe {
  /** Its time on the live timeline (the ring's units). */
  time: number;
  frames: Uint8Array;
}

/** The first block of `track` in a Cluster's bytes (header included), when it is a keyframe. */
function firstKeyframe(cluster: Uint8Array, track: number | undefined): Block | undefined {
  const header = readElementHeader(cluster, 0);
  if (header === undefined || header.id !== ID.Cluster) return undefined;
  const { blocks } = readClusterBlocks(cluster.subarray(header.headerSize));
  const block = blocks.find((b) => track === undefined || b.track === track);
  return block?.keyframe ? block : undefined;
}

/**
 * The ring's keyframes a recording may share: each GOP's first (those a viewer can start on).
 * Without a video track (`track` undefined) every block counts: the ring cuts audio every
 * second at whatever block comes, where the recorder's Clusters need not begin.
 */
export function ringKeyframes(ring: GopRing, track: number | undefined): PlacedKeyframe[] {
  const out: PlacedKeyframe[] = [];
  for (const gop of ring.gops) {
    if (gop.offset > 0 || gop.clusterCount === 0) continue;
    if (track !== undefined) {
      const block = firstKeyframe(gop.cluster(0), track);
      if (block !== undefined) out.push({ time: gop.time, frames: block.frames });
      continue;
    }
    for (let i = 0; i < gop.clusterCount; i++) {
      const cluster = gop.cluster(i);
      const header = readElementHeader(cluster, 0);
      if (header === undefined) continue;
      for (const b of readClusterBlocks(cluster.subarray(header.headerSize)).blocks) {
        out.push({ time: b.time, frames: b.frames });
      }
    }
  }
  return out;
}

/** Keyframes of `entries` (Clusters of `recording`), read from the file, at file times. */
async function readKeyframes(
  recording: Recording,
  entries: readonly ClusterEntry[],
  track: number | undefined,
): Promise<Block[]> {
  const out: Block[] = [];
  using file = await Deno.open(recording.path, { read: true });
  for (const entry of entries) {
    const block = firstKeyframe(await readAt(file, entry.offset, entry.length), track);
    if (block !== undefined) out.push(block);
  }
  return out;
}

/** The first few keyframes of a recording already placed at `offset` (live = t × scale + offset). */
export async function leadingKeyframes(
  recording: Recording,
  placement: { track: number | undefined; scale: number; offset: number },
): Promise<PlacedKeyframe[]> {
  const entries = recording.index.clusters.filter((c) => c.keyframe).slice(0, 4);
  const blocks = await readKeyframes(recording, entries, placement.track);
  return blocks.map((b) => ({
    time: Math.round(b.time * placement.scale) + placement.offset,
    frames: b.frames,
  }));
}

/**
 * The offset that puts `recording`'s timestamps on the live timeline (live = file time ×
 * `scale` + offset), found by its last keyframes that are among `known` byte for byte: the
 * recorder writes the frames the ring has, with timestamps of its own from 0. The offset most
 * pairs agree on wins (static pictures can make two keyframes alike); a tie goes to the one
 * nearest `estimate` (the wall clock's). `undefined` when none matches.
 */
export async function keyframeAnchor(
  recording: Recording,
  known: readonly PlacedKeyframe[],
  options: { track: number | undefined; scale: number; estimate: number },
): Promise<number | undefined> {
  if (known.length === 0) return undefined;
  const byLength = Map.groupBy(known, (k) => k.frames.length);
  const entries = recording.index.clusters.filter((c) => c.keyframe).slice(-CANDIDATES);
  const votes = new Map<number, number>();
  for (const block of await readKeyframes(recording, entries, options.track)) {
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
