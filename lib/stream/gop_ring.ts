/**
 * The shared, bounded, refcounted ring of GOPs that every viewer reads from.
 *
 * @module
 */

import type { OutputCluster } from "../matroska/gop_segmenter.ts";
import { assert } from "../_assert.ts";
import { Gop, holdBatch } from "./gop.ts";
import type { WireFormat } from "./wire_format.ts";

export { Gop, type HeldCluster } from "./gop.ts";

/** `GopRingOptions.maxBytes` when not given: 64 MiB (also the CLI's `--buffer` default). */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

/** `GopRingOptions.maxDuration` when not given: 20 s (also the CLI's `--buffer` default). */
export const DEFAULT_MAX_DURATION = 20_000;

/** Options of `GopRing`. */
export interface GopRingOptions {
  /** Most GOPs kept (default: no limit but the others). */
  maxGops?: number;
  /** Most bytes kept (default 64 MiB); the GOP in progress is kept whatever its size. */
  maxBytes?: number;
  /**
   * Milliseconds of media kept (default 20 s): older GOPs go once the newer ones cover this
   * much. The GOP in progress is kept whatever its length.
   */
  maxDuration?: number;
  /**
   * The form a server writes each Cluster in (default none): the ring joins every Cluster once
   * as `prefix | payload | suffix`, so each viewer writes a Cluster in one write with no copy
   * of its own (`Gop.wire`), while `Gop.cluster` gives the payload inside.
   */
  wire?: WireFormat;
}

/**
 * Where a new viewer starts: `gops` back from the newest (1 = the newest), at least `ms` back,
 * or at GOP `seq` (a time-shifted join that chose its GOP).
 */
export type StartPoint = { gops: number } | { ms: number } | { seq: number };

/** Counters of a ring, for status and tests. */
export interface GopRingStats {
  gops: number;
  bytes: number;
  /** Bytes of evicted GOPs that stalled or slow viewers still hold. */
  pinnedBytes: number;
  clusters: number;
  evictedGops: number;
}

/**
 * A bounded ring of GOPs, shared by every viewer. Each Cluster is joined once into one array
 * when it is appended, in the wire form of `GopRingOptions.wire` when one is given: that one
 * copy per Cluster (shared by every viewer) lets each viewer send a Cluster in one write,
 * where sending the segmenter's parts would cost every viewer a write per part.
 *
 * GOPs beyond `maxGops` or `maxBytes` are evicted oldest first; an evicted GOP's data is freed
 * as soon as no viewer holds it (`Gop.retain` / `Gop.release`).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GopRing } from "./gop_ring.ts";
 * const ring = new GopRing({ maxGops: 2 });
 * const cluster = (time: number, keyframe: boolean) =>
 *   ({ time, keyframe, parts: [new Uint8Array(10)], byteLength: 10, blocks: 1 });
 * ring.append(cluster(0, true));
 * ring.append(cluster(1000, false));
 * ring.append(cluster(2000, true));
 * ring.append(cluster(4000, true));
 * assertEquals(ring.stats.gops, 2);
 * assertEquals(ring.newest?.time, 4000);
 * ```
 */
export class GopRing {
  #gops: Gop[] = [];
  #maxGops: number;
  #maxBytes: number;
  #maxDuration: number;
  #msPerUnit = 1;
  #liveTime = 0;
  #bytes = 0;
  #seq = 0;
  #ended = false;
  #evictedGops = 0;
  #clusters = 0;
  #wake: PromiseWithResolvers<void> = Promise.withResolvers<void>();
  /** Viewers waiting at the live edge: each is called once at the next append or the end. */
  #waiters = new Set<() => void>();
  #pinned = new Set<Gop>();
  #wire: WireFormat | undefined;

  constructor(options: GopRingOptions = {}) {
    const maxGops = options.maxGops ?? Infinity;
    const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const maxDuration = options.maxDuration ?? DEFAULT_MAX_DURATION;
    if (maxGops !== Infinity && (!Number.isInteger(maxGops) || maxGops < 1)) {
      throw new TypeError(
        `Invalid maxGops: ${maxGops} (expected an integer >= 1)`,
      );
    }
    if (!(maxBytes > 0)) throw new TypeError(`Invalid maxBytes: ${maxBytes}`);
    if (!(maxDuration > 0)) {
      throw new TypeError(`Invalid maxDuration: ${maxDuration}`);
    }
    this.#maxGops = maxGops;
    this.#maxBytes = maxBytes;
    this.#maxDuration = maxDuration;
    this.#wire = options.wire;
  }

  /** The form each Cluster is held in besides its payload (`GopRingOptions.wire`). */
  get wire(): WireFormat | undefined {
    return this.#wire;
  }

  /** The newest GOP (possibly in progress), where a new viewer starts. */
  get newest(): Gop | undefined {
    return this.#gops[this.#gops.length - 1];
  }

  /** The oldest GOP still in the ring. */
  get oldest(): Gop | undefined {
    return this.#gops[0];
  }

  /** The GOPs in the ring, oldest first. */
  get gops(): readonly Gop[] {
    return this.#gops;
  }

  /** Whether the stream has ended: nothing more will be appended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Current counters. */
  get stats(): GopRingStats {
    let pinnedBytes = 0;
    for (const gop of this.#pinned) {
      if (gop.refs === 0) this.#pinned.delete(gop);
      else pinnedBytes += gop.byteLength;
    }
    return {
      gops: this.#gops.length,
      bytes: this.#bytes,
      pinnedBytes,
      clusters: this.#clusters,
      evictedGops: this.#evictedGops,
    };
  }

  /** Sets the stream's TimestampScale (ns per unit), for the duration bound and start points. */
  setTimestampScale(nanoseconds: number): void {
    if (!(nanoseconds > 0)) {
      throw new TypeError(`Invalid TimestampScale: ${nanoseconds}`);
    }
    this.#msPerUnit = nanoseconds / 1e6;
  }

  /**
   * The newest Cluster's Timestamp (TimestampScale units): the newest media viewers can get
   * (the source's newest block may be up to a Cluster newer).
   */
  get liveTime(): number {
    return this.#liveTime;
  }

  /** Milliseconds per TimestampScale unit. */
  get msPerUnit(): number {
    return this.#msPerUnit;
  }

  /** Milliseconds of media between the oldest GOP's start and the newest Cluster. */
  get duration(): number {
    const oldest = this.#gops[0];
    return oldest ? (this.#liveTime - oldest.time) * this.#msPerUnit : 0;
  }

  /**
   * The GOP a new viewer starts at: `{ gops: n }` is the n-th newest (the oldest if fewer);
   * `{ ms: d }` is the newest that starts at least `d` ms before the live edge (the oldest if
   * none does).
   */
  startFor(point: StartPoint): Gop | undefined {
    const gops = this.#gops;
    if (gops.length === 0) return undefined;
    if ("gops" in point) {
      return gops[Math.max(0, gops.length - Math.max(1, point.gops))];
    }
    if ("seq" in point) return this.firstFrom(point.seq);
    const edge = this.#liveTime - point.ms / this.#msPerUnit;
    for (let i = gops.length - 1; i >= 0; i--) {
      if (gops[i].time <= edge) return gops[i];
    }
    return gops[0];
  }

  /** The sequence number the next GOP will get. */
  get nextSeq(): number {
    return this.#seq;
  }

  /** The oldest GOP in the ring whose sequence number is at least `seq`. */
  firstFrom(seq: number): Gop | undefined {
    const gops = this.#gops;
    if (gops.length === 0) return undefined;
    return gops[Math.max(0, seq - gops[0].seq)];
  }

  /** The GOP after `gop` in the ring, or `undefined` (none yet, or `gop` was evicted). */
  after(gop: Gop): Gop | undefined {
    if (gop.evicted || this.#gops.length === 0) return undefined;
    return this.#gops[gop.seq - this.#gops[0].seq + 1];
  }

  /** Resolves when something is appended or the stream ends. One promise shared by all waiters. */
  wait(): Promise<void> {
    return this.#wake.promise;
  }

  /**
   * Calls `wake` once, when something is appended or the stream ends. Cheaper than `wait()` for
   * many viewers: an append (a tick of the delivery clock) is one pass over the waiting ones,
   * with no promise of the ring's in between.
   */
  waitFor(wake: () => void): void {
    this.#waiters.add(wake);
  }

  /** Forgets a `wake` given to `waitFor` (its viewer left while waiting). */
  cancelWait(wake: () => void): void {
    this.#waiters.delete(wake);
  }

  /**
   * Appends a Cluster: a keyframe Cluster starts a new GOP, any other extends the newest. A
   * non-keyframe Cluster with no GOP to extend is dropped (returns false). `wallTime` is when
   * a keyframe Cluster's first block arrived (default: now), which dates the GOP it starts.
   */
  append(cluster: OutputCluster, wallTime?: number): boolean {
    return this.appendBatch([cluster], wallTime === undefined ? undefined : [wallTime]) === 1;
  }

  /**
   * Appends Clusters as one batch (a tick of the mount's delivery clock): each goes where
   * `append` would put it, and all are joined into one buffer, so a viewer at any of them can
   * send the rest of the batch in one write (`HeldCluster.run`), across a GOP boundary too.
   * Viewers are woken once. `wallTimes[i]` dates a GOP that `clusters[i]` starts (default: now).
   * Returns how many were appended.
   */
  appendBatch(clusters: readonly OutputCluster[], wallTimes?: readonly number[]): number {
    if (this.#ended) {
      throw new TypeError("Cannot append to a ring whose stream has ended");
    }
    let first = 0;
    if (this.newest === undefined) {
      first = clusters.findIndex((c) => c.keyframe);
      if (first < 0) first = clusters.length;
    }
    const kept = first === 0 ? clusters : clusters.slice(first);
    if (kept.length === 0) return 0;
    const held = holdBatch(kept, { format: this.#wire, nextSeq: this.#seq, newest: this.newest });
    for (let i = 0; i < kept.length; i++) {
      const cluster = kept[i];
      let gop = this.newest;
      if (cluster.keyframe || gop === undefined) {
        gop?._complete();
        gop = new Gop(this.#seq++, cluster.time, wallTimes?.[first + i]);
        this.#gops.push(gop);
      }
      gop._append(held[i]);
      if (cluster.time > this.#liveTime) this.#liveTime = cluster.time;
      this.#bytes += held[i].payload.length;
      this.#clusters++;
    }
    this.#evict();
    this.#notify();
    return kept.length;
  }

  /** Marks the end of the stream: viewers drain what is left, then close. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.newest?._complete();
    this.#notify();
  }

  #evict(): void {
    const gops = this.#gops;
    // Keep the GOPs that cover the last maxDuration: the oldest goes once the next one starts
    // at or before that point.
    const keepFrom = this.#liveTime - this.#maxDuration / this.#msPerUnit;
    while (
      gops.length > 1 &&
      (gops.length > this.#maxGops || this.#bytes > this.#maxBytes ||
        gops[1].time <= keepFrom)
    ) {
      const gop = gops.shift();
      assert(gop !== undefined, "the ring has a GOP to evict");
      this.#bytes -= gop.byteLength;
      this.#evictedGops++;
      gop._evict();
      if (gop.refs > 0) this.#pinned.add(gop);
    }
    // A GOP in progress over the cap on its own (a source that stopped sending keyframes):
    // drop its oldest Clusters, so memory stays within the cap whatever the source does.
    const newest = gops[gops.length - 1];
    if (newest !== undefined && this.#bytes > this.#maxBytes) {
      this.#bytes -= newest._trim(this.#bytes - this.#maxBytes);
    }
  }

  #notify(): void {
    this.#wake.resolve();
    this.#wake = Promise.withResolvers<void>();
    const waiters = this.#waiters;
    if (waiters.size === 0) return;
    this.#waiters = new Set();
    for (const wake of waiters) wake();
  }
}
