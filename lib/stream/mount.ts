/**
 * A mount: one live stream, its header, its ring and its viewers.
 *
 * @module
 */

import type { Block } from "../matroska/block.ts";
import type { GopSegmenterOptions } from "../matroska/gop_segmenter.ts";
import { contentTypeOf, type LiveHeader } from "../matroska/live_header.ts";
import type { ClientStream } from "./client_stream.ts";
import type { Latency } from "./delivery_clock.ts";
import { GopRing, type GopRingOptions, type StartPoint } from "./gop_ring.ts";
import { MountInput } from "./mount_input.ts";
import type { MountTap, MountTapFactory } from "./mount_tap.ts";
import { type MountSource, type MountStatus, RateMeter, trackStatus } from "./mount_status.ts";
import {
  type ViewerOptions,
  type ViewerRecord,
  type ViewerStatus,
  ViewerTable,
} from "./viewer_table.ts";

export type { MountSource, MountStatus, TrackStatus } from "./mount_status.ts";
export type { ViewerOptions, ViewerRecord, ViewerStatus } from "./viewer_table.ts";

/** Options of `Mount`: the ring's bounds, the segmenter's mode, and how viewers start and fall behind. */
export interface MountOptions extends GopRingOptions, GopSegmenterOptions {
  /** Where new viewers start (default: the newest keyframe). */
  start?: StartPoint;
  /** What happens to a viewer that falls behind the ring (default `"skip"`). */
  slowPolicy?: "skip" | "drop";
  /** Gives viewer ids (default: a counter of this mount's own); a registry shares one. */
  nextViewerId?: () => number;
  /**
   * Milliseconds of media without a video keyframe before `onLongKeyframeGap` (default 10 s;
   * 0: never). New viewers wait for the next keyframe meanwhile, and the ring trims the GOP in
   * progress to its caps.
   */
  keyframeWarning?: number;
  /** Called once per gap when the source's video goes `keyframeWarning` ms without a keyframe. */
  onLongKeyframeGap?: (mount: string, seconds: number) => void;
  /** Called when a keyframe ends a gap that `onLongKeyframeGap` reported. */
  onKeyframeAfterGap?: (mount: string, seconds: number) => void;
  /** Gives the mount's tap: a second consumer of its blocks (segments, recordings). */
  tap?: MountTapFactory;
  /**
   * The delivery clock (`DeliveryClock`): viewers at the live edge get one write per tick of
   * `latency` ms, or per video frame (`"frame"`). Default none: one write per Cluster as cut.
   */
  latency?: Latency;
}

/**
 * One live stream: the sink of an ingest (header, then blocks, then end) and the source of
 * every viewer's `ClientStream`. It composes its ring, a `MountInput` (the header, and blocks
 * on a `SourceTimeline` across sources, watched by a `KeyframeWatch`), a `ViewerTable`, and a
 * `RateMeter` for `/status`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { Mount } from "./mount.ts";
 * const mount = new Mount("stream");
 * assertEquals(mount.status().state, "waiting");
 * ```
 */
export class Mount {
  /** The mount's name, e.g. `stream`. */
  readonly name: string;
  /** The GOP ring viewers read from. */
  readonly ring: GopRing;
  /** Set by the mount's publisher: what `/status` shows of its source (a relay's origin). */
  source: MountSource | undefined;
  #options: MountOptions;
  #input: MountInput | undefined; // the header and what the sources feed, from the first on
  readonly #startedAt = new Date();
  #viewers: ViewerTable;
  #stop = new AbortController();
  #rates = new RateMeter();
  #ready = Promise.withResolvers<LiveHeader | undefined>();
  #ended = false;
  #bytesIn = 0;
  #tap: MountTap | undefined;

  constructor(name: string, options: MountOptions = {}) {
    this.name = name;
    this.#options = options;
    this.#tap = options.tap?.(name);
    this.ring = new GopRing(options);
    this.#viewers = new ViewerTable(options.nextViewerId);
  }

  /** The live header, once the source has sent it. */
  get header(): LiveHeader | undefined {
    return this.#input?.header;
  }

  /**
   * The newest block's time on the mount's timeline (TimestampScale units; `-Infinity` before
   * any): the live edge, up to a Cluster ahead of the ring's newest Cluster.
   */
  get newestTime(): number {
    return this.#input?.timeline.newest ?? -Infinity;
  }

  /** Whether the source has ended. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The viewers connected now, oldest first. */
  get clients(): ReadonlyMap<ClientStream, ViewerRecord> {
    return this.#viewers.clients;
  }

  /** Resolves with the header once it is known, or `undefined` if the source ends first. */
  get ready(): Promise<LiveHeader | undefined> {
    return this.#ready.promise;
  }

  /** Counts bytes received from the source. */
  countBytesIn(n: number): void {
    this.#bytesIn += n;
  }

  /**
   * Sets the live header. A later one is a new source's: its viewers continue without a second
   * header when `accepts(header)`, else it throws `TypeError`.
   */
  setHeader(header: LiveHeader): void {
    const input = this.#input;
    if (input !== undefined) {
      // Other tracks are the first thing to say, whether or not the mount has ended.
      if (this.#ended && input.accepts(header)) throw new TypeError("The mount has ended");
      return input.resume(header);
    }
    const { onLongKeyframeGap: gap, onKeyframeAfterGap: again } = this.#options;
    this.#input = new MountInput(header, this.ring, {
      ...this.#options,
      tap: this.#tap,
      keyframes: {
        limit: this.#options.keyframeWarning,
        onLongGap: gap && ((seconds) => gap(this.name, seconds)),
        onKeyframe: again && ((seconds) => again(this.name, seconds)),
      },
    });
    this.#ready.resolve(header);
  }

  /** Adds a block from the source. */
  pushBlock(block: Block): void {
    if (this.#input === undefined) throw new TypeError("A block came before the header");
    this.#input.push(block);
  }

  /**
   * Whether a source with `header` can continue this mount's stream: the same TimestampScale
   * and tracks (numbers, kinds, codecs and CodecPrivate; see `sameTrackSet`).
   */
  accepts(header: LiveHeader): boolean {
    return this.#input?.accepts(header) ?? true;
  }

  /** How many sources have fed this mount (1 for one unbroken source). */
  get sources(): number {
    return this.#input?.timeline.sources ?? 1;
  }

  /** The source stopped: the mount may wait for another (its tap closes what it had open). */
  pauseSource(): void {
    if (!this.#ended && this.#input) this.#tap?.pause();
  }

  /** The source's own Cluster ended (followed only without a delivery clock: `latency`). */
  endCluster(): void {
    if (!this.#ended) this.#input?.sourceCut();
  }

  /** Ends the stream: the open Cluster is cut, viewers drain the ring and close. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#input?.finish();
    this.ring.end();
    this.#ready.resolve(undefined);
    this.#tap?.end();
  }

  /**
   * A new viewer, starting at the newest keyframe (or `options.start`, or after
   * `options.leadIn`); `undefined` when there is no header yet. A viewer in the ring's wire
   * form shares the ring's buffers (and this mount's header).
   */
  attach(options: ViewerOptions = {}): ClientStream | undefined {
    const header = this.#input?.wireHeader;
    if (header === undefined) return undefined;
    const { start, slowPolicy } = this.#options;
    return this.#viewers.attach(this.ring, header, {
      ...options,
      start: options.start ?? start,
      slowPolicy,
    });
  }

  /** The id this mount gave a viewer. */
  viewerId(client: ClientStream): number | undefined {
    return this.#viewers.idOf(client);
  }

  /** Every viewer, oldest first (at most `limit`). */
  viewers(limit = Infinity): ViewerStatus[] {
    return this.#viewers.viewers(limit);
  }

  /** Ends viewer `id`'s stream (it gets what was handed out, then its response ends). */
  disconnect(id: number): boolean {
    const client = this.#viewers.find(id);
    client?.close();
    return client !== undefined;
  }

  /** Asks the mount's source to stop (the admin API's "end a mount"); see `stopSignal`. */
  requestEnd(): void {
    this.#stop.abort();
  }

  /** Aborted when someone asked the mount to end: its ingest should stop, then `end()` it. */
  get stopSignal(): AbortSignal {
    return this.#stop.signal;
  }

  /** Updates `bitrateIn`/`bitrateOut` from the bytes counted since the last call. */
  sampleRates(now: number = performance.now()): void {
    this.#rates.sample(this.#bytesIn, this.#viewers.bytesOut(), now);
  }

  #seconds(time: number | undefined): number {
    const header = this.#input?.header;
    if (time === undefined || time === -Infinity || header === undefined) return 0;
    return Math.round(time * header.timestampScale / 1e6) / 1000;
  }

  /** A summary for `/status`. */
  status(clientLimit = 100): MountStatus {
    const header = this.#input?.header;
    const viewers = this.#viewers;
    return {
      name: this.name,
      startedAt: this.#startedAt.toISOString(),
      state: this.#ended ? "ended" : header ? "live" : "waiting",
      docType: header?.docType,
      contentType: header ? contentTypeOf(header) : undefined,
      tracks: header ? trackStatus(header) : undefined,
      viewers: viewers.size,
      bytesIn: this.#bytesIn,
      bytesOut: viewers.bytesOut(),
      blocks: this.#input?.blocks ?? 0,
      skips: viewers.skips,
      bitrateIn: this.#rates.bitrateIn,
      bitrateOut: this.#rates.bitrateOut,
      ring: { ...this.ring.stats, seconds: Math.round(this.ring.duration) / 1000 },
      liveTime: this.#seconds(this.#input?.timeline.newest),
      sourceTime: this.#seconds(this.#input?.timeline.newestRaw),
      relay: this.source?.describe(),
      clients: viewers.viewers(clientLimit),
      clientsOmitted: Math.max(0, viewers.size - clientLimit),
    };
  }
}
