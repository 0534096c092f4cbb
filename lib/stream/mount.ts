/**
 * A mount: one live stream, its header, its ring and its viewers.
 *
 * @module
 */

import type { Logger } from "../log.ts";
import type { Block } from "../matroska/block.ts";
import { GopSegmenter, type GopSegmenterOptions } from "../matroska/gop_segmenter.ts";
import { contentTypeOf, type LiveHeader } from "../matroska/live_header.ts";
import { ClientStream, type ClientStreamOptions } from "./client_stream.ts";
import { frameChunk, GopRing, type GopRingOptions, type StartPoint } from "./gop_ring.ts";

/** Options of `Mount`: the ring's bounds, the segmenter's mode, and how viewers start and fall behind. */
export interface MountOptions extends GopRingOptions, GopSegmenterOptions {
  /** Where new viewers start (default: the newest keyframe). */
  start?: StartPoint;
  /** What happens to a viewer that falls behind the ring (default `"skip"`). */
  slowPolicy?: "skip" | "drop";
  /** Gives viewer ids (default: a counter of this mount's own); a registry shares one. */
  nextViewerId?: () => number;
  /** Where the mount says what its source does wrong (a source without keyframes). */
  log?: Logger;
  /**
   * Milliseconds of media without a video keyframe before a warning is logged (default 10 s;
   * 0: never). New viewers wait for the next keyframe meanwhile, and the ring trims the GOP in
   * progress to its caps.
   */
  keyframeWarning?: number;
}

/** A summary of a mount, for `/status`. */
export interface MountStatus {
  name: string;
  /** When the mount was created (ISO 8601). */
  startedAt: string;
  state: "waiting" | "live" | "ended";
  docType?: string;
  contentType?: string;
  tracks?: LiveHeader["tracks"];
  viewers: number;
  bytesIn: number;
  bytesOut: number;
  blocks: number;
  skips: number;
  /** Viewers disconnected because they stopped reading. */
  evictions: number;
  /** Bits per second received from the source, over the last sampling interval. */
  bitrateIn: number;
  /** Bits per second handed to viewers, over the last sampling interval. */
  bitrateOut: number;
  ring: GopRing["stats"] & { seconds: number };
  /** Media time of the newest block served (seconds, the stream's own timeline). */
  liveTime: number;
  /** Media time of the newest block in its source's timeline (seconds; differs after a handover). */
  sourceTime: number;
  /** For a relayed mount: where it pulls from and how far behind that origin it is. */
  relay?: RelayStatus;
  /** Up to `clientLimit` viewers (default 100), oldest first. */
  clients: ViewerStatus[];
  /** Viewers left out of `clients`. */
  clientsOmitted: number;
}

/** Where a relayed mount pulls from (an edge's view of its origin). */
export interface RelayStatus {
  url: string;
  state: "connecting" | "live" | "reconnecting" | "ended";
  /** Seconds the mount's newest block is behind the origin's newest, or null when unknown. */
  lagSeconds: number | null;
  /** Times the pull reconnected. */
  reconnects: number;
}

/** One viewer, for `/status` and the admin API. */
export interface ViewerStatus {
  id: number;
  address: string;
  /** When it joined (ISO 8601). */
  joinedAt: string;
  bytesSent: number;
  skips: number;
}

/** Who a viewer is, for `Mount.attach`. */
export interface ViewerOptions extends ClientStreamOptions {
  /** The viewer's address, for status and logs. */
  address?: string;
}

/** Tracks and TimestampScale, as one comparable string. */
function describeTracks(h: LiveHeader): string {
  return `${h.timestampScale}|` +
    h.tracks.map((t) => `${t.number}:${t.kind}:${t.codecId}`).join(",");
}

/**
 * One live stream: the sink of an ingest (header, then blocks, then end) and the source of
 * every viewer's `ClientStream`.
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
  #options: MountOptions;
  #header: LiveHeader | undefined;
  #framedHeader: Uint8Array | undefined;
  readonly #startedAt = new Date();
  #primary: number | undefined;
  #shiftPending = false;
  #shift = 0;
  #newest = -Infinity;
  #delta = 0;
  #lastPrimary = -Infinity;
  #sources = 1;
  #newestRaw = -Infinity;
  /** Set by a relay: where this mount pulls from (shown in `/status`). */
  relay: RelayStatus | undefined;
  #viewers = new Map<ClientStream, { id: number; address: string; joinedAt: Date }>();
  #nextViewer = 1;
  #evictions = 0;
  #stop = new AbortController();
  #sample = { at: performance.now(), in: 0, out: 0 };
  #rates = { in: 0, out: 0 };
  #segmenter: GopSegmenter | undefined;
  #ready = Promise.withResolvers<LiveHeader | undefined>();
  #clients = new Set<ClientStream>();
  #ended = false;
  #bytesIn = 0;
  #bytesOutClosed = 0;
  #blocks = 0;
  #skips = 0;
  #video: number | undefined;
  #msPerUnit = 1;
  /** Media time (ms) of the newest video keyframe, or of the first video block before any. */
  #keySince = -Infinity;
  #keyWarned = false;

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

  /** The viewers connected now. */
  get clients(): ReadonlySet<ClientStream> {
    return this.#clients;
  }

  /** Resolves with the header once it is known, or `undefined` if the source ends first. */
  get ready(): Promise<LiveHeader | undefined> {
    return this.#ready.promise;
  }

  /** Counts bytes received from the source. */
  countBytesIn(n: number): void {
    this.#bytesIn += n;
  }

  /** Sets the live header (once). */
  setHeader(header: LiveHeader): void {
    const previous = this.#header;
    if (previous !== undefined) {
      this.#resume(previous, header);
      return;
    }
    this.#header = header;
    this.#video = header.tracks.find((t) => t.kind === "video")?.number;
    this.#primary = this.#video ?? header.tracks[0]?.number;
    this.#msPerUnit = header.timestampScale / 1e6;
    this.#framedHeader = frameChunk([header.bytes]).framed;
    this.#segmenter = new GopSegmenter(header, this.#options);
    this.ring.setTimestampScale(header.timestampScale);
    this.#ready.resolve(header);
  }

  /** Adds a block from the source. */
  pushBlock(block: Block): void {
    const segmenter = this.#segmenter;
    if (segmenter === undefined) {
      throw new TypeError("A block came before the header");
    }
    this.#blocks++;
    if (this.#shiftPending) {
      // Continue one frame interval after the previous source's newest block.
      this.#shiftPending = false;
      const next = this.#newest === -Infinity
        ? block.time
        : this.#newest + Math.max(this.#delta, 1);
      this.#shift = next - block.time;
      this.#lastPrimary = -Infinity;
    }
    if (block.time > this.#newestRaw || this.#newestRaw === -Infinity || this.#shift !== 0) {
      this.#newestRaw = block.time;
    }
    if (this.#shift !== 0) block = { ...block, time: block.time + this.#shift };
    if (block.time > this.#newest) this.#newest = block.time;
    if (block.track === this.#primary) {
      const delta = block.time - this.#lastPrimary;
      if (delta > 0 && delta !== Infinity) this.#delta = delta;
      this.#lastPrimary = block.time;
    }
    if (block.track === this.#video) this.#watchKeyframes(block);
    const cluster = segmenter.push(block);
    if (cluster !== undefined) this.ring.append(cluster);
  }

  /** Warns once when the source's video goes `keyframeWarning` ms without a keyframe. */
  #watchKeyframes(block: Block): void {
    const ms = block.time * this.#msPerUnit;
    const seconds = () => Math.round((ms - this.#keySince) / 100) / 10;
    if (block.keyframe) {
      if (this.#keyWarned) {
        this.#options.log?.info(
          `The source of ${this.name} sent a video keyframe again after ${seconds()} s`,
        );
      }
      this.#keySince = ms;
      this.#keyWarned = false;
      return;
    }
    if (this.#keySince === -Infinity) this.#keySince = ms;
    const limit = this.#options.keyframeWarning ?? 10_000;
    if (this.#keyWarned || limit <= 0 || ms - this.#keySince < limit) return;
    this.#keyWarned = true;
    this.#options.log?.warn(
      `The source of ${this.name} sent no video keyframe for ${seconds()} s: new viewers wait ` +
        `for one, and the buffer keeps at most its cap (--buffer)`,
    );
  }

  /**
   * A new source's header on a live mount: viewers continue without a second header when the
   * tracks match (same numbers, kinds, codecs and TimestampScale); its blocks follow the last
   * ones in time, from its first keyframe on. Different tracks throw `TypeError`.
   */
  #resume(previous: LiveHeader, header: LiveHeader): void {
    if (!this.accepts(header)) {
      throw new TypeError(
        `The new source's tracks differ from the stream's: ${describeTracks(header)} vs ${
          describeTracks(previous)
        }`,
      );
    }
    if (this.#ended) throw new TypeError("The mount has ended");
    const last = this.#segmenter!.resync();
    if (last !== undefined) this.ring.append(last);
    this.#shiftPending = true;
    this.#sources++;
  }

  /** Whether a source with `header` can continue this mount's stream (same tracks and scale). */
  accepts(header: LiveHeader): boolean {
    return this.#header === undefined || describeTracks(this.#header) === describeTracks(header);
  }

  /** How many sources have fed this mount (1 for one unbroken source). */
  get sources(): number {
    return this.#sources;
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
   * A new viewer, starting at the newest keyframe; `undefined` when there is no header yet.
   */
  attach(options: ViewerOptions = {}): ClientStream | undefined {
    const header = this.#header;
    if (header === undefined) return undefined;
    const framed = options.framing === "chunked";
    const client = new ClientStream(
      this.ring,
      framed ? this.#framedHeader! : header.bytes,
      {
        framing: options.framing,
        start: this.#options.start,
        slowPolicy: this.#options.slowPolicy,
        onSkip: (c) => {
          this.#skips++;
          options.onSkip?.(c);
        },
        onClose: (c, reason) => {
          this.#clients.delete(c);
          this.#viewers.delete(c);
          this.#bytesOutClosed += c.bytesSent;
          options.onClose?.(c, reason);
        },
      },
    );
    this.#clients.add(client);
    this.#viewers.set(client, {
      id: this.#options.nextViewerId?.() ?? this.#nextViewer++,
      address: options.address ?? "unknown",
      joinedAt: new Date(),
    });
    return client;
  }

  /** The id this mount gave a viewer. */
  viewerId(client: ClientStream): number | undefined {
    return this.#viewers.get(client)?.id;
  }

  /** Every viewer, oldest first (at most `limit`). */
  viewers(limit = Infinity): ViewerStatus[] {
    const out: ViewerStatus[] = [];
    for (const [client, v] of this.#viewers) {
      if (out.length >= limit) break;
      out.push({
        id: v.id,
        address: v.address,
        joinedAt: v.joinedAt.toISOString(),
        bytesSent: client.bytesSent,
        skips: client.skips,
      });
    }
    return out;
  }

  /** Ends viewer `id`'s stream (it gets what was handed out, then its response ends). */
  disconnect(id: number): boolean {
    for (const [client, v] of this.#viewers) {
      if (v.id === id) {
        client.close();
        return true;
      }
    }
    return false;
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
    const out = this.#bytesOut();
    const seconds = (now - this.#sample.at) / 1000;
    if (seconds > 0.2) {
      this.#rates = {
        in: Math.round(((this.#bytesIn - this.#sample.in) * 8) / seconds),
        out: Math.round(((out - this.#sample.out) * 8) / seconds),
      };
      this.#sample = { at: now, in: this.#bytesIn, out };
    }
  }

  #seconds(time: number): number {
    if (time === -Infinity || this.#header === undefined) return 0;
    return Math.round(time * this.#header.timestampScale / 1e6) / 1000;
  }

  #bytesOut(): number {
    let bytesOut = this.#bytesOutClosed;
    for (const c of this.#clients) bytesOut += c.bytesSent;
    return bytesOut;
  }

  /** A summary for `/status`. */
  status(clientLimit = 100): MountStatus {
    const bytesOut = this.#bytesOut();
    const header = this.#header;
    return {
      name: this.name,
      startedAt: this.#startedAt.toISOString(),
      state: this.#ended ? "ended" : header ? "live" : "waiting",
      docType: header?.docType,
      contentType: header ? contentTypeOf(header) : undefined,
      tracks: header?.tracks,
      viewers: this.#clients.size,
      bytesIn: this.#bytesIn,
      bytesOut,
      blocks: this.#blocks,
      skips: this.#skips,
      evictions: this.#evictions,
      bitrateIn: this.#rates.in,
      bitrateOut: this.#rates.out,
      ring: {
        ...this.ring.stats,
        seconds: Math.round(this.ring.duration) / 1000,
      },
      liveTime: this.#seconds(this.#newest),
      sourceTime: this.#seconds(this.#newestRaw),
      relay: this.relay,
      clients: this.viewers(clientLimit),
      clientsOmitted: Math.max(0, this.#clients.size - clientLimit),
    };
  }
}
