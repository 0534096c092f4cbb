/**
 * A mount: one live stream, its header, its ring and its viewers.
 *
 * @module
 */

import { assert } from "../_assert.ts";
import type { Block } from "../matroska/block.ts";
import { GopSegmenter, type GopSegmenterOptions } from "../matroska/gop_segmenter.ts";
import {
  contentTypeOf,
  describeTrackSet,
  type LiveHeader,
  sameTrackSet,
} from "../matroska/live_header.ts";
import { ClientStream, type ClientStreamOptions } from "./client_stream.ts";
import { GopRing, type GopRingOptions, type StartPoint } from "./gop_ring.ts";
import { KeyframeWatch } from "./keyframe_watch.ts";
import { type MountSource, type MountStatus, RateMeter, trackStatus } from "./mount_status.ts";
import { SourceTimeline } from "./source_timeline.ts";
import { type ViewerRecord, type ViewerStatus, ViewerTable } from "./viewer_table.ts";
import { joinWire, type WireBytes } from "./wire_format.ts";

export type { MountSource, MountStatus, TrackStatus } from "./mount_status.ts";
export type { ViewerRecord, ViewerStatus } from "./viewer_table.ts";

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
}

/** Who a viewer is, for `Mount.attach`. */
export interface ViewerOptions extends ClientStreamOptions {
  /** The viewer's address, for status and logs. */
  address?: string;
}

/**
 * One live stream: the sink of an ingest (header, then blocks, then end) and the source of
 * every viewer's `ClientStream`. It composes a `SourceTimeline` (times across sources), a
 * `KeyframeWatch`, a `ViewerTable` and a `RateMeter`.
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
  #header: LiveHeader | undefined;
  /** The header in the ring's wire form, joined once for every viewer. */
  #wireHeader: WireBytes | undefined;
  readonly #startedAt = new Date();
  #timeline: SourceTimeline | undefined;
  #keyframes: KeyframeWatch | undefined;
  #video: number | undefined;
  #viewers = new ViewerTable();
  #nextViewer = 1;
  #evictions = 0;
  #stop = new AbortController();
  #rates = new RateMeter();
  #segmenter: GopSegmenter | undefined;
  #ready = Promise.withResolvers<LiveHeader | undefined>();
  #ended = false;
  #bytesIn = 0;
  #blocks = 0;
  #skips = 0;

  constructor(name: string, options: MountOptions = {}) {
    this.name = name;
    this.#options = options;
    this.ring = new GopRing(options);
  }

  /** The live header, once the source has sent it. */
  get header(): LiveHeader | undefined {
    return this.#header;
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

  /** Sets the live header (once; a later one is a new source, see `accepts`). */
  setHeader(header: LiveHeader): void {
    if (this.#header !== undefined) return this.#resume(this.#header, header);
    this.#header = header;
    this.#video = header.tracks.find((t) => t.kind === "video")?.number;
    this.#timeline = new SourceTimeline(this.#video ?? header.tracks[0]?.number);
    const { onLongKeyframeGap: gap, onKeyframeAfterGap: again } = this.#options;
    this.#keyframes = new KeyframeWatch({
      limit: this.#options.keyframeWarning,
      msPerUnit: header.timestampScale / 1e6,
      onLongGap: gap && ((seconds) => gap(this.name, seconds)),
      onKeyframe: again && ((seconds) => again(this.name, seconds)),
    });
    const wire = this.ring.wire;
    this.#wireHeader = wire === undefined
      ? { payload: header.bytes, wire: header.bytes }
      : joinWire([header.bytes], { format: wire });
    this.#segmenter = new GopSegmenter(header, this.#options);
    this.ring.setTimestampScale(header.timestampScale);
    this.#ready.resolve(header);
  }

  /** Adds a block from the source. */
  pushBlock(block: Block): void {
    const segmenter = this.#segmenter;
    if (segmenter === undefined || this.#timeline === undefined) {
      throw new TypeError("A block came before the header");
    }
    this.#blocks++;
    block = this.#timeline.rebase(block);
    if (block.track === this.#video) this.#keyframes?.observe(block);
    const cluster = segmenter.push(block);
    if (cluster !== undefined) this.ring.append(cluster);
  }

  /**
   * A new source's header on a live mount: viewers continue without a second header when the
   * tracks match (`accepts`); its blocks follow the last ones in time, from its first keyframe
   * on. Different tracks throw `TypeError`.
   */
  #resume(previous: LiveHeader, header: LiveHeader): void {
    if (!this.accepts(header)) {
      throw new TypeError(
        `The new source's tracks differ from the stream's: ${describeTrackSet(header)} vs ${
          describeTrackSet(previous)
        }`,
      );
    }
    if (this.#ended) throw new TypeError("The mount has ended");
    assert(this.#segmenter !== undefined && this.#timeline, "a mount with a header segments");
    const last = this.#segmenter.resync();
    if (last !== undefined) this.ring.append(last);
    this.#timeline.handover();
  }

  /**
   * Whether a source with `header` can continue this mount's stream: the same TimestampScale
   * and tracks (numbers, kinds, codecs and CodecPrivate; see `sameTrackSet`).
   */
  accepts(header: LiveHeader): boolean {
    return this.#header === undefined || sameTrackSet(this.#header, header);
  }

  /** How many sources have fed this mount (1 for one unbroken source). */
  get sources(): number {
    return this.#timeline?.sources ?? 1;
  }

  /** Sends the open Cluster now (the source's own Cluster ended). */
  endCluster(): void {
    if (this.#ended) return;
    const cluster = this.#segmenter?.flush();
    if (cluster !== undefined) this.ring.append(cluster);
  }

  /** Ends the stream: the open Cluster is cut, viewers drain the ring and close. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const last = this.#segmenter?.flush();
    if (last !== undefined) this.ring.append(last);
    this.ring.end();
    this.#ready.resolve(undefined);
  }

  /**
   * A new viewer, starting at the newest keyframe; `undefined` when there is no header yet. A
   * viewer in the ring's wire form shares the ring's buffers (and this mount's header).
   */
  attach(options: ViewerOptions = {}): ClientStream | undefined {
    const header = this.#wireHeader;
    if (header === undefined) return undefined;
    const client = new ClientStream(this.ring, header, {
      wire: options.wire,
      start: this.#options.start,
      slowPolicy: this.#options.slowPolicy,
      onSkip: (c) => {
        this.#skips++;
        options.onSkip?.(c);
      },
      onClose: (c, reason) => {
        this.#viewers.remove(c);
        options.onClose?.(c, reason);
      },
    });
    this.#viewers.add(client, {
      id: this.#options.nextViewerId?.() ?? this.#nextViewer++,
      address: options.address ?? "unknown",
      joinedAt: new Date(),
    });
    return client;
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

  /** Counts a viewer disconnected for not reading. */
  countEviction(): void {
    this.#evictions++;
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
    if (time === undefined || time === -Infinity || this.#header === undefined) return 0;
    return Math.round(time * this.#header.timestampScale / 1e6) / 1000;
  }

  /** A summary for `/status`. */
  status(clientLimit = 100): MountStatus {
    const header = this.#header;
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
      blocks: this.#blocks,
      skips: this.#skips,
      evictions: this.#evictions,
      bitrateIn: this.#rates.bitrateIn,
      bitrateOut: this.#rates.bitrateOut,
      ring: { ...this.ring.stats, seconds: Math.round(this.ring.duration) / 1000 },
      liveTime: this.#seconds(this.#timeline?.newest),
      sourceTime: this.#seconds(this.#timeline?.newestRaw),
      relay: this.source?.describe(),
      clients: viewers.viewers(clientLimit),
      clientsOmitted: Math.max(0, viewers.size - clientLimit),
    };
  }
}
