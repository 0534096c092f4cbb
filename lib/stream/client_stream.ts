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
  #readable: ReadableStream<Uint8Array> | undefined;
  /** Wakes a `next()` waiting for the ring, when the stream is closed meanwhile. */
  #wake: (() => void) | undefined;

  constructor(
    ring: GopRing,
    header: Uint8Array,
    options: ClientStreamOptions = {},
  ) {
    this.#ring = ring;
    this.#header = header;
    this.#options = options;
    if (ring.newest === undefined) this.#startSeq = ring.nextSeq;
  }

  /**
   * The bytes for the response body as a `ReadableStream` (made on first use; a server that
   * writes from `next()` needs none).
   */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: (controller) => {
        const deliver = (chunk: Uint8Array | null) => {
          if (chunk !== null) controller.enqueue(chunk);
          else {
            try {
              controller.close();
            } catch { /* cancelled meanwhile */ }
          }
        };
        const chunk = this.next();
        if (chunk instanceof Promise) return chunk.then(deliver);
        return deliver(chunk);
      },
      cancel: () => this.cancel(),
    }, { highWaterMark: 0 });
    return this.#readable;
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
    this.#finish("close");
  }

  /** The viewer left: releases its place in the ring. */
  cancel(): void {
    this.#finish("cancel");
  }

  /**
   * The next chunk of the body: at once when the ring has it, else a promise that settles when
   * it arrives; `null` once the stream has ended (or was closed or cancelled). Rejects with a
   * `RangeError` when the viewer fell behind with the `"drop"` policy. One call at a time.
   */
  next(): Uint8Array | null | Promise<Uint8Array | null> {
    if (this.#closed) return null;
    if (!this.#headerSent) {
      this.#headerSent = true;
      return this.#count(this.#header);
    }
    const ring = this.#ring;
    for (;;) {
      let gop = this.#gop;
      if (gop === undefined) {
        if (this.#startSeq === undefined) {
          gop = ring.startFor(this.#options.start ?? { gops: 1 });
          if (gop === undefined) this.#startSeq = ring.nextSeq;
        } else {
          gop = ring.firstFrom(this.#startSeq);
        }
        if (gop !== undefined && gop.offset > 0) {
          this.#startSeq = gop.seq + 1;
          gop = ring.after(gop);
        }
        if (gop !== undefined) this.#hold(gop);
      } else if (gop.evicted || this.#index < gop.offset) {
        if (this.#options.slowPolicy === "drop") {
          this.#finish("drop");
          return Promise.reject(new RangeError("The viewer fell behind the buffer"));
        }
        gop.release();
        if (gop.evicted) {
          gop = ring.newest!;
          this.#hold(gop);
        } else {
          // Its position in the GOP in progress was trimmed: wait for the next keyframe.
          this.#gop = gop = undefined;
          this.#startSeq = ring.nextSeq;
        }
        this.#skips++;
        this.#options.onSkip?.(this);
      }
      if (gop !== undefined) {
        const clusters = this.#options.framing === "chunked" ? gop.framedClusters : gop.clusters;
        const at = this.#index - gop.offset;
        if (at < clusters.length) {
          this.#index++;
          return this.#count(clusters[at]);
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
        this.#finish("end");
        return null;
      }
      return new Promise<void>((resolve) => {
        this.#wake = resolve;
        ring.wait().then(resolve);
      }).then(() => {
        this.#wake = undefined;
        return this.next();
      });
    }
  }

  #hold(gop: Gop): void {
    gop.retain();
    this.#gop = gop;
    this.#index = 0;
  }

  #count(bytes: Uint8Array): Uint8Array {
    this.#bytes += bytes.length;
    return bytes;
  }

  #finish(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#gop?.release();
    this.#gop = undefined;
    this.#wake?.();
    this.#options.onClose?.(this, reason);
  }
}
