/**
 * The shared, bounded, refcounted ring of GOPs that every viewer reads from.
 *
 * @module
 */

import type { OutputCluster } from "../matroska/gop_segmenter.ts";

/** One GOP: Clusters that begin with a keyframe Cluster. The newest GOP grows as it is cut. */
export class Gop {
  /** Sequence number, increasing by one per GOP. */
  readonly seq: number;
  /** Timestamp of its first Cluster (TimestampScale units). */
  readonly time: number;
  #clusters: Uint8Array[] = [];
  #framed: Uint8Array[] = [];
  #offset = 0;
  #bytes = 0;
  #refs = 0;
  #complete = false;
  #evicted = false;

  constructor(seq: number, time: number) {
    this.seq = seq;
    this.time = time;
  }

  /** Its Clusters so far, each one contiguous array. */
  get clusters(): readonly Uint8Array[] {
    return this.#clusters;
  }

  /** The same Clusters framed as HTTP/1.1 chunks (`SIZE\r\n` … `\r\n`), views of one buffer each. */
  get framedClusters(): readonly Uint8Array[] {
    return this.#framed;
  }

  /** Bytes held. */
  get byteLength(): number {
    return this.#bytes;
  }

  /** Viewers holding it. */
  get refs(): number {
    return this.#refs;
  }

  /** Whether a newer GOP has begun (or the stream ended), so no Cluster will be added. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Whether the ring has let go of it; viewers on it must move on. */
  get evicted(): boolean {
    return this.#evicted;
  }

  /** Adds a viewer's reference. */
  retain(): void {
    this.#refs++;
  }

  /** Drops a viewer's reference; frees the data once the ring and every viewer let go. */
  release(): void {
    if (this.#refs > 0) this.#refs--;
    if (this.#refs === 0 && this.#evicted) this.#free();
  }

  /**
   * How many Clusters were dropped from its front (a GOP in progress over the byte cap: a
   * source that stopped sending keyframes). Cluster `i` of the GOP is `clusters[i - offset]`;
   * while `offset > 0` the GOP has lost its keyframe and no viewer can start on it.
   */
  get offset(): number {
    return this.#offset;
  }

  /** @internal Drops Clusters from the front until `excess` bytes are freed (keeps one). */
  _trim(excess: number): number {
    let freed = 0;
    while (freed < excess && this.#clusters.length > 1) {
      freed += this.#clusters.shift()!.length;
      this.#framed.shift();
      this.#offset++;
    }
    this.#bytes -= freed;
    return freed;
  }

  /** @internal */
  _append(cluster: Uint8Array, framed: Uint8Array): void {
    this.#clusters.push(cluster);
    this.#framed.push(framed);
    this.#bytes += cluster.length;
  }

  /** @internal */
  _complete(): void {
    this.#complete = true;
  }

  /** @internal */
  _evict(): void {
    this.#evicted = true;
    this.#complete = true;
    if (this.#refs === 0) this.#free();
  }

  #free(): void {
    this.#clusters = [];
    this.#framed = [];
    this.#bytes = 0;
  }
}

const CRLF = [13, 10];

/**
 * Joins `parts` into one buffer laid out as an HTTP/1.1 chunk (RFC 9112 section 7.1): the
 * plain bytes are a view inside the framed ones, so one copy per Cluster serves both chunked
 * responses and plain ones, and no viewer frames anything itself.
 */
export function frameChunk(
  parts: readonly Uint8Array[],
  length: number = parts.reduce((n, p) => n + p.length, 0),
): { framed: Uint8Array; bytes: Uint8Array } {
  const prefix = `${length.toString(16)}\r\n`;
  const framed = new Uint8Array(prefix.length + length + 2);
  for (let i = 0; i < prefix.length; i++) framed[i] = prefix.charCodeAt(i);
  let at = prefix.length;
  for (const part of parts) {
    framed.set(part, at);
    at += part.length;
  }
  if (at !== prefix.length + length) {
    throw new RangeError("Cluster parts do not add up to its length");
  }
  framed.set(CRLF, at);
  return { framed, bytes: framed.subarray(prefix.length, at) };
}

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
}

/** Where a new viewer starts: `gops` back from the newest (1 = the newest), or at least `ms` back. */
export type StartPoint = { gops: number } | { ms: number };

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
 * when it is appended: that one copy per Cluster (shared by every viewer) lets each viewer
 * send a Cluster in one write, where sending the segmenter's parts would cost every viewer a
 * write per part.
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
  #pinned = new Set<Gop>();

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
   * Appends a Cluster: a keyframe Cluster starts a new GOP, any other extends the newest. A
   * non-keyframe Cluster with no GOP to extend is dropped (returns false).
   */
  append(cluster: OutputCluster): boolean {
    if (this.#ended) {
      throw new TypeError("Cannot append to a ring whose stream has ended");
    }
    let gop = this.newest;
    if (cluster.keyframe || gop === undefined) {
      if (!cluster.keyframe) return false;
      gop?._complete();
      gop = new Gop(this.#seq++, cluster.time);
      this.#gops.push(gop);
    }
    const { framed, bytes } = frameChunk(cluster.parts, cluster.byteLength);
    gop._append(bytes, framed);
    if (cluster.time > this.#liveTime) this.#liveTime = cluster.time;
    this.#bytes += bytes.length;
    this.#clusters++;
    this.#evict();
    this.#notify();
    return true;
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
      const gop = gops.shift()!;
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
  }
}
