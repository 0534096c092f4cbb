/**
 * One viewer's pull-based stream over the shared ring.
 *
 * @module
 */

import type { Gop, GopRing, StartPoint } from "./gop_ring.ts";

/** Options of `ClientStream`. */
export interface ClientStreamOptions {
  /** Where to start (default `{ gops: 1 }`: the newest keyframe). */
  start?: StartPoint;
  /**
   * A viewer whose GOP left the ring: `"skip"` jumps to the newest keyframe (default), `"drop"`
   * ends its stream with an error (the response is cut off).
   */
  slowPolicy?: "skip" | "drop";
  /**
   * `"chunked"`: hand out the ring's Clusters framed as HTTP/1.1 chunks (the header passed in
   * must be framed too), for a server that writes them as they are. Default `"none"`.
   */
  framing?: "chunked" | "none";
  /** Called when the viewer fell behind the ring's oldest GOP and jumped to the newest. */
  onSkip?: (client: ClientStream) => void;
  /**
   * Called once when the stream ends: `"end"` (source ended), `"cancel"` (viewer left),
   * `"close"` (closed by the server) or `"drop"` (fell behind with the drop policy).
   */
  onClose?: (client: ClientStream, reason: CloseReason) => void;
}

/** Why a viewer's stream ended. */
export type CloseReason = "end" | "cancel" | "close" | "drop";

/**
 * A viewer's stream: the live header, then Clusters from the newest keyframe on, as the viewer
 * pulls them. It holds only a cursor (a GOP and an index) and a reference on that GOP: nothing is
 * queued per viewer, so a slow viewer never slows the source or others, and a stalled one holds
 * at most one GOP. A viewer whose GOP was evicted jumps to the newest keyframe.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { GopRing } from "./gop_ring.ts";
 * import { ClientStream } from "./client_stream.ts";
 * const ring = new GopRing();
 * ring.append({ time: 0, keyframe: true, parts: [new Uint8Array([1, 2])], byteLength: 2, blocks: 1 });
 * ring.end();
 * const client = new ClientStream(ring, new Uint8Array([0xAA]));
 * const chunks = await Array.fromAsync(client.readable);
 * assertEquals(chunks.length, 2);
 * assertEquals(client.bytesSent, 3);
 * ```
 */
export class ClientStream {
  /** The bytes for the response body. */
  readonly readable: ReadableStream<Uint8Array>;
  #ring: GopRing;
  #header: Uint8Array;
  #gop: Gop | undefined;
  /** For a viewer that joined before any GOP: the first GOP it is owed. */
  #startSeq: number | undefined;
  #index = 0;
  #headerSent = false;
  #bytes = 0;
  #skips = 0;
  #closed = false;
  #options: ClientStreamOptions;
  #controller: ReadableStreamDefaultController<Uint8Array> | undefined;

  constructor(
    ring: GopRing,
    header: Uint8Array,
    options: ClientStreamOptions = {},
  ) {
    this.#ring = ring;
    this.#header = header;
    this.#options = options;
    // A viewer that joins before any GOP is owed every GOP from the first one on, however late
    // its first pull runs.
    if (ring.newest === undefined) this.#startSeq = ring.nextSeq;
    this.readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      pull: (controller) => this.#pull(controller),
      cancel: () => this.#finish("cancel"),
    }, { highWaterMark: 0 });
  }

  /** Bytes handed to the response so far. */
  get bytesSent(): number {
    return this.#bytes;
  }

  /** Times this viewer fell behind and jumped to the newest keyframe. */
  get skips(): number {
    return this.#skips;
  }

  /** Whether the stream has ended, for any reason. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Ends this viewer's stream from the server side (what was handed out is still sent). */
  close(): void {
    if (this.#closed) return;
    try {
      this.#controller?.close();
    } catch { /* already closed or errored */ }
    this.#finish("close");
  }

  #pull(
    controller: ReadableStreamDefaultController<Uint8Array>,
  ): Promise<void> | void {
    if (this.#closed) return;
    if (!this.#headerSent) {
      this.#headerSent = true;
      this.#send(controller, this.#header);
      return;
    }
    const ring = this.#ring;
    for (;;) {
      let gop = this.#gop;
      if (gop === undefined) {
        // Join at the newest keyframe; a viewer that joined before any GOP gets every GOP from
        // the first one after it joined (a burst of several must not be skipped).
        if (this.#startSeq === undefined) {
          gop = ring.startFor(this.#options.start ?? { gops: 1 });
          if (gop === undefined) this.#startSeq = ring.nextSeq;
        } else {
          gop = ring.firstFrom(this.#startSeq);
        }
        if (gop !== undefined && gop.offset > 0) {
          // Its keyframe is gone (trimmed over the byte cap): wait for the next one.
          this.#startSeq = gop.seq + 1;
          gop = ring.after(gop);
        }
        if (gop !== undefined) this.#hold(gop);
      } else if (gop.evicted) {
        // Fell behind the oldest GOP: jump to the newest keyframe (Icecast and GStreamer's
        // "skip" policy) or disconnect ("drop"), rather than pin memory or slow the source.
        if (this.#options.slowPolicy === "drop") {
          controller.error(new RangeError("The viewer fell behind the buffer"));
          this.#finish("drop");
          return;
        }
        gop.release();
        gop = ring.newest!;
        this.#hold(gop);
        this.#skips++;
        this.#options.onSkip?.(this);
      } else if (this.#index < gop.offset) {
        // What it was about to read was trimmed (a GOP in progress over the byte cap): it waits
        // for the next keyframe, or is disconnected with the drop policy.
        if (this.#options.slowPolicy === "drop") {
          controller.error(new RangeError("The viewer fell behind the buffer"));
          this.#finish("drop");
          return;
        }
        gop.release();
        this.#gop = gop = undefined;
        this.#startSeq = ring.nextSeq;
        this.#skips++;
        this.#options.onSkip?.(this);
      }
      if (gop !== undefined) {
        const clusters = this.#options.framing === "chunked" ? gop.framedClusters : gop.clusters;
        const at = this.#index - gop.offset;
        if (at < clusters.length) {
          this.#send(controller, clusters[at]);
          this.#index++;
          return;
        }
        if (gop.complete) {
          const next = ring.after(gop);
          if (next !== undefined) {
            gop.release();
            this.#hold(next);
            continue;
          }
        }
      }
      if (ring.ended) {
        controller.close();
        this.#finish("end");
        return;
      }
      return ring.wait().then(() => this.#pull(controller));
    }
  }

  #hold(gop: Gop): void {
    gop.retain();
    this.#gop = gop;
    this.#index = 0;
  }

  #send(
    controller: ReadableStreamDefaultController<Uint8Array>,
    bytes: Uint8Array,
  ): void {
    this.#bytes += bytes.length;
    controller.enqueue(bytes);
  }

  #finish(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#gop?.release();
    this.#gop = undefined;
    this.#options.onClose?.(this, reason);
  }
}
