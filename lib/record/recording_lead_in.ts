/**
 * A time-shifted viewer's way from the recordings into the ring.
 *
 * @module
 */

import type { Block } from "../matroska/block.ts";
import { readClusterBlocks, readElementHeader } from "../matroska/file_layout.ts";
import { GopSegmenter } from "../matroska/gop_segmenter.ts";
import type { LiveHeader } from "../matroska/live_header.ts";
import type { LeadIn } from "../stream/client_stream.ts";
import type { Gop, GopRing } from "../stream/gop_ring.ts";
import type { Recording } from "./recordings.ts";
import { readAt } from "./recording_index.ts";

/** One recording to read, placed on the live timeline. */
export interface LeadInFile {
  recording: Recording;
  /** Live time = file time × `scale` + `offset` (the ring's units). */
  offset: number;
  /** File units to the ring's. */
  scale: number;
  /** The Cluster to start at (an index into the recording's index). */
  from: number;
  /** Live time of its first keyframe: where the file before it hands over, if they overlap. */
  startTime: number;
}

/** Options of `RecordingLeadIn`. */
export interface RecordingLeadInOptions {
  /** Called once if reading fails (the viewer goes on in the ring). */
  onError?: (error: unknown) => void;
  /** Longest Cluster written (ms), as the live segmenter's. */
  maxClusterDuration?: number;
}

/**
 * Reads recordings from a keyframe on, writes their blocks as Clusters on the live timeline
 * (with the mount's own segmenter, so each begins where the live ones would), and stops at the
 * first keyframe the ring holds as a GOP: `continueAt` is that GOP, so the viewer runs on into
 * live with no block twice and none missing. It reads one Cluster ahead of the viewer at most.
 *
 * A file still being written is followed as it grows; if the reading reaches its end first (a
 * ring shorter than the recorder's write delay), the viewer continues at the ring's first GOP
 * after what it was sent.
 */
export class RecordingLeadIn implements LeadIn {
  #ring: GopRing;
  #files: LeadInFile[];
  #segmenter: GopSegmenter;
  #primary: number | undefined;
  #queue: Uint8Array[][] = [];
  #file: Deno.FsFile | undefined;
  #at = 0;
  #cluster = 0;
  #newest = -Infinity;
  #oldest = Infinity;
  #newestOf = new Map<number, number>();
  /** After a change of file: drop blocks until its first keyframe (the files may overlap). */
  #seekKey = false;
  #done = false;
  #cancelled = false;
  #continueAt: number;
  #options: RecordingLeadInOptions;
  /** Called once when the ring takes over, with the seconds of media sent from recordings. */
  onHandover: ((seconds: number) => void) | undefined;

  constructor(
    ring: GopRing,
    header: LiveHeader,
    files: LeadInFile[],
    options: RecordingLeadInOptions = {},
  ) {
    this.#ring = ring;
    this.#files = files;
    this.#options = options;
    this.#segmenter = new GopSegmenter(header, { maxClusterDuration: options.maxClusterDuration });
    this.#primary = this.#segmenter.primaryTrack;
    this.#continueAt = ring.nextSeq;
    this.#cluster = files[0]?.from ?? 0;
  }

  get continueAt(): number {
    return this.#continueAt;
  }

  /** The newest block time sent (the ring's units). */
  get newest(): number {
    return this.#newest;
  }

  async next(): Promise<readonly Uint8Array[] | null> {
    while (this.#queue.length === 0 && !this.#done) {
      try {
        await this.#read();
      } catch (error) {
        if (this.#cancelled) break; // its file was closed under the read: nothing went wrong
        this.#options.onError?.(error);
        this.#handOver(this.#firstAfter(this.#newest));
      }
    }
    return this.#queue.shift() ?? null;
  }

  cancel(): void {
    this.#cancelled = true;
    this.#done = true;
    this.#queue = [];
    this.#close();
  }

  /** Reads the next Cluster of the recordings, or moves on to the next file or the ring. */
  async #read(): Promise<void> {
    const current = this.#files[this.#at];
    if (current === undefined) return this.#handOver(this.#firstAfter(this.#newest));
    const index = current.recording.index;
    if (this.#cluster >= index.clusters.length) {
      if (this.#at === this.#files.length - 1) await index.update();
      if (this.#cluster >= index.clusters.length) return this.#nextFile();
    }
    const entry = index.clusters[this.#cluster++];
    this.#file ??= await Deno.open(current.recording.path, { read: true });
    const bytes = await readAt(this.#file, entry.offset, entry.length);
    if (this.#cancelled) return this.#close();
    const header = readElementHeader(bytes, 0);
    if (header === undefined || bytes.length < entry.length) {
      throw new RangeError(`${current.recording.name} ended inside a Cluster`);
    }
    const { blocks } = readClusterBlocks(bytes.subarray(header.headerSize), entry.offset);
    for (const block of blocks) {
      const time = Math.round(block.time * current.scale) + current.offset;
      if (this.#isKey(block)) {
        this.#seekKey = false;
        if (this.#reachesRing(time)) return;
        const next = this.#files[this.#at + 1];
        if (next !== undefined && next.startTime <= time) return this.#nextFile();
      }
      if (!this.#seekKey) this.#push({ ...block, time });
    }
  }

  /** Goes on with the next file, from its first Cluster. */
  #nextFile(): void {
    this.#close();
    this.#at++;
    this.#cluster = 0;
    this.#seekKey = true;
  }

  #isKey(block: Block): boolean {
    return block.keyframe && (this.#primary === undefined || block.track === this.#primary);
  }

  /** At a keyframe the ring holds as a GOP (the first one after what was sent): hand over. */
  #reachesRing(time: number): boolean {
    const gop = this.#firstAfter(this.#newest);
    if (gop === undefined || gop.time > time) return false;
    this.#handOver(gop);
    return true;
  }

  #push(block: Block): void {
    // Each track's times keep increasing whatever the files hold (an overlap placed by Duration).
    if (block.time <= (this.#newestOf.get(block.track) ?? -Infinity)) return;
    const dropped = this.#segmenter.droppedBlocks;
    const cluster = this.#segmenter.push(block);
    if (cluster !== undefined) this.#queue.push(cluster.parts);
    if (this.#segmenter.droppedBlocks > dropped) return; // before the first keyframe: not sent
    this.#newestOf.set(block.track, block.time);
    if (block.time > this.#newest) this.#newest = block.time;
    if (block.time < this.#oldest) this.#oldest = block.time;
  }

  /** The ring's first GOP a viewer can start on that begins after `time`. */
  #firstAfter(time: number): Gop | undefined {
    for (const gop of this.#ring.gops) if (gop.time > time && gop.offset === 0) return gop;
    return undefined;
  }

  #handOver(gop: Gop | undefined): void {
    const last = this.#segmenter.flush();
    if (last !== undefined) this.#queue.push(last.parts);
    this.#continueAt = gop?.seq ?? this.#ring.nextSeq;
    this.#done = true;
    this.#close();
    const sent = this.#newest === -Infinity ? 0 : this.#newest - this.#oldest;
    this.onHandover?.(Math.round(sent * this.#ring.msPerUnit) / 1000);
  }

  #close(): void {
    try {
      this.#file?.close();
    } catch { /* closed already */ }
    this.#file = undefined;
  }
}
