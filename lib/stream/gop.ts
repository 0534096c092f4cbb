/**
 * One GOP of the ring: its Clusters, the viewers holding it, and whether the ring let it go.
 *
 * @module
 */

import type { OutputCluster } from "../matroska/gop_segmenter.ts";
import { joinWireRun, type WireBytes, type WireFormat } from "./wire_format.ts";

/**
 * A Cluster as the ring holds it: its bytes, and the run of bytes from it to the end of the
 * batch it was appended in (one tick of the delivery clock), so that a viewer reading from it
 * sends the rest of the tick in one write.
 */
export interface HeldCluster extends WireBytes {
  /** The wire bytes from this Cluster to its batch's end: a view of the batch's one buffer. */
  readonly run: Uint8Array;
  /** Payload bytes in `run` (the wire form around them not counted). */
  readonly runPayload: number;
  /** Where a viewer is once it has sent `run`: the GOP's sequence number ... */
  readonly runEndSeq: number;
  /** ... and the index in that GOP (counting trimmed Clusters, as `Gop.offset` does). */
  readonly runEndIndex: number;
}

/**
 * One GOP: Clusters that begin with a keyframe Cluster. The newest GOP grows as it is cut.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GopRing } from "./gop_ring.ts";
 * const ring = new GopRing();
 * const parts = [new Uint8Array([0x1F, 0x43, 0xB6, 0x75, 0x80])]; // an empty Cluster
 * ring.append({ time: 0, keyframe: true, parts, byteLength: 5, blocks: 0 });
 * const gop = ring.newest;
 * assertEquals([gop?.seq, gop?.clusterCount, gop?.complete], [0, 1, false]);
 * ```
 */
export class Gop {
  /** Sequence number, increasing by one per GOP. */
  readonly seq: number;
  /** Timestamp of its first Cluster (TimestampScale units). */
  readonly time: number;
  /** When its keyframe arrived, by the wall clock (ms since the epoch). */
  readonly wallTime: number;
  #clusters: HeldCluster[] = [];
  #offset = 0;
  #bytes = 0;
  #refs = 0;
  #complete = false;
  #evicted = false;

  constructor(seq: number, time: number, wallTime: number = Date.now()) {
    this.seq = seq;
    this.time = time;
    this.wallTime = wallTime;
  }

  /** Its Clusters held now, each one contiguous array (a new list on each call). */
  get clusters(): readonly Uint8Array[] {
    return this.#clusters.map((c) => c.payload);
  }

  /** How many Clusters it holds now. */
  get clusterCount(): number {
    return this.#clusters.length;
  }

  /** The `i`-th Cluster held (Cluster `i + offset` of the GOP): its payload bytes. */
  cluster(i: number): Uint8Array {
    return this.#clusters[i].payload;
  }

  /**
   * The `i`-th Cluster held in the ring's wire form: one buffer with the payload inside, shared
   * by every viewer (the payload itself when the ring has no wire form).
   */
  wire(i: number): Uint8Array {
    return this.#clusters[i].wire;
  }

  /** The `i`-th Cluster held, with the run of its batch (see `HeldCluster`). */
  held(i: number): HeldCluster {
    return this.#clusters[i];
  }

  /** Payload bytes held. */
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
   * source that stopped sending keyframes). Cluster `i` of the GOP is `cluster(i - offset)`;
   * while `offset > 0` the GOP has lost its keyframe and no viewer can start on it.
   */
  get offset(): number {
    return this.#offset;
  }

  /** @internal Drops Clusters from the front until `excess` bytes are freed (keeps one). */
  _trim(excess: number): number {
    let freed = 0;
    while (freed < excess && this.#clusters.length > 1) {
      const dropped = this.#clusters.shift();
      freed += dropped?.payload.length ?? 0;
      this.#offset++;
    }
    this.#bytes -= freed;
    return freed;
  }

  /** @internal */
  _append(cluster: HeldCluster): void {
    this.#clusters.push(cluster);
    this.#bytes += cluster.payload.length;
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
    this.#bytes = 0;
  }
}

/**
 * @internal The Clusters of one batch as the ring will hold them: joined into one buffer, each
 * with its run to the batch's end and where a viewer is after it. `nextSeq` is the number the
 * batch's first new GOP gets; `newest`, the GOP its first Clusters extend when the batch does
 * not begin with a keyframe.
 */
export function holdBatch(
  clusters: readonly OutputCluster[],
  options: { format?: WireFormat; nextSeq: number; newest?: Gop },
): HeldCluster[] {
  const { chunks, wire } = joinWireRun(clusters.map((c) => c.parts), {
    format: options.format,
    lengths: clusters.map((c) => c.byteLength),
  });
  // Where a viewer is after the batch: past its last Cluster, in the batch's last GOP.
  let lastKey = -1;
  let keys = 0;
  clusters.forEach((c, i) => {
    if (c.keyframe) [lastKey, keys] = [i, keys + 1];
  });
  const newest = options.newest;
  if (keys === 0 && newest === undefined) throw new TypeError("A batch needs a GOP to extend");
  const runEndSeq = keys > 0 ? options.nextSeq + keys - 1 : newest!.seq;
  const runEndIndex = keys > 0
    ? clusters.length - lastKey
    : newest!.offset + newest!.clusterCount + clusters.length;
  let runPayload = 0;
  for (const chunk of chunks) runPayload += chunk.payload.length;
  return chunks.map((chunk, i) => {
    const run = i === chunks.length - 1
      ? chunk.wire
      : wire.subarray(chunk.wire.byteOffset - wire.byteOffset);
    const held: HeldCluster = { ...chunk, run, runPayload, runEndSeq, runEndIndex };
    runPayload -= chunk.payload.length;
    return held;
  });
}
