/**
 * One viewer's pull-based stream over the shared ring.
 *
 * @module
 */

import { assert } from "../_assert.ts";
import type { Gop, GopRing, StartPoint } from "./gop_ring.ts";
import { joinWire, type WireBytes, type WireFormat } from "./wire_format.ts";

/**
 * What a time-shifted viewer gets between the header and the ring: Clusters from elsewhere (a
 * recording), on the ring's timeline, up to the ring's GOP `continueAt`.
 */
export interface LeadIn {
  /**
   * The next Cluster, as parts to join (views; joined once, in this viewer's wire form), or
   * `null` once the ring takes over (then `continueAt` is set).
   */
  next(): Promise<readonly Uint8Array[] | null>;
  /** The sequence number of the ring's GOP that follows the last Cluster `next` gave. */
  readonly continueAt: number;
  /** The viewer left: stop reading. */
  cancel(): void;
}

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
   * The form a server writes the chunks in as they are (default none: plain payload bytes).
   * The ring's own `wire` form hands out its shared buffers, one per Cluster with no copy per
   * viewer; any other form costs this viewer a copy of each chunk.
   */
  wire?: WireFormat;
  /** Clusters to send before the ring (a time-shifted join); `start` is then not used. */
  leadIn?: LeadIn;
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
  #header: WireBytes | undefined;
  /** Which bytes a chunk goes out as: the payload, the ring's shared wire buffer, or a copy. */
  #form: "payload" | "shared" | "copy";
  /** Whether it sends runs: the rest of a batch in one write (its bytes are contiguous). */
  #runs: boolean;
  #gop: Gop | undefined;
  /** For a viewer that joined before any GOP: the first GOP it is owed. */
  #startSeq: number | undefined;
  #index = 0;
  #bytes = 0;
  #skips = 0;
  #closed = false;
  #options: ClientStreamOptions;
  #readable: ReadableStream<Uint8Array> | undefined;
  #leadIn: LeadIn | undefined;
  /** What a `next()` waiting at the live edge returned, settled by `#wakeUp`. */
  #waiter: PromiseWithResolvers<Uint8Array | null> | undefined;
  /** Given to the ring's `waitFor`: one function per viewer, made once. */
  #onWake = () => this.#wakeUp();

  /**
   * `header` is the first chunk: plain bytes, or `WireBytes` already in the ring's wire form
   * (a mount joins its header once for all its viewers).
   */
  constructor(
    ring: GopRing,
    header: Uint8Array | WireBytes,
    options: ClientStreamOptions = {},
  ) {
    this.#ring = ring;
    this.#options = options;
    const wire = options.wire;
    this.#form = wire === undefined ? "payload" : wire === ring.wire ? "shared" : "copy";
    this.#header = !(header instanceof Uint8Array)
      ? header
      : this.#form === "shared"
      ? joinWire([header], { format: wire })
      : { payload: header, wire: header };
    this.#runs = this.#form === "shared" || (this.#form === "payload" && ring.wire === undefined);
    if (ring.newest === undefined) this.#startSeq = ring.nextSeq;
    this.#leadIn = options.leadIn;
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

  /** Payload bytes handed to the response so far (the wire form around them not counted). */
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
    const header = this.#header;
    if (header !== undefined) {
      this.#header = undefined;
      return this.#out(header.payload, header.wire);
    }
    if (this.#leadIn !== undefined) return this.#lead(this.#leadIn);
    const ring = this.#ring;
    for (;;) {
      const gop = this.#gop === undefined ? this.#enter() : this.#keepUp(this.#gop);
      if (gop === null) return Promise.reject(new RangeError("The viewer fell behind the buffer"));
      if (gop !== undefined) {
        const at = this.#index - gop.offset;
        if (at < gop.clusterCount) {
          const held = gop.held(at);
          if (!this.#runs) {
            this.#index++;
            return this.#out(held.payload, held.wire);
          }
          this.#moveTo(gop, held.runEndSeq, held.runEndIndex);
          this.#bytes += held.runPayload;
          return held.run;
        }
        if (gop.complete && this.#advance(gop)) continue;
      }
      if (ring.ended) {
        this.#finish("end");
        return null;
      }
      // One promise per wait, settled with the chunk itself when the ring wakes this viewer.
      const waiter = Promise.withResolvers<Uint8Array | null>();
      this.#waiter = waiter;
      ring.waitFor(this.#onWake);
      return waiter.promise;
    }
  }

  /** The lead-in's next Cluster; at its end, the ring from the GOP it continues at. */
  async #lead(leadIn: LeadIn): Promise<Uint8Array | null> {
    let parts: readonly Uint8Array[] | null = null;
    try {
      parts = await leadIn.next();
    } catch { /* a lead-in that fails hands over to the ring where it is */ }
    if (this.#closed) return null;
    if (parts !== null) {
      const joined = joinWire(parts, { format: this.#options.wire });
      this.#bytes += joined.payload.length;
      return joined.wire;
    }
    this.#leadIn = undefined;
    this.#startSeq = leadIn.continueAt;
    return await this.next();
  }

  /** The ring had news (or the stream was closed): settles the waiting `next()`. */
  #wakeUp(): void {
    const waiter = this.#waiter;
    if (waiter === undefined) return;
    this.#waiter = undefined;
    const chunk = this.next();
    if (chunk instanceof Promise) chunk.then(waiter.resolve, waiter.reject);
    else waiter.resolve(chunk);
  }

  /** A viewer with no GOP yet takes its start point, or the first GOP it is owed. */
  #enter(): Gop | undefined {
    const ring = this.#ring;
    let gop: Gop | undefined;
    if (this.#startSeq === undefined) {
      gop = ring.startFor(this.#options.start ?? { gops: 1 });
      if (gop === undefined) this.#startSeq = ring.nextSeq;
    } else {
      gop = ring.firstFrom(this.#startSeq);
    }
    // A GOP that lost its keyframe to the byte cap cannot be started on: wait for the next.
    if (gop !== undefined && gop.offset > 0) {
      this.#startSeq = gop.seq + 1;
      gop = ring.after(gop);
    }
    if (gop !== undefined) this.#hold(gop);
    return gop;
  }

  /**
   * The GOP to read after checking that the ring still holds the viewer's place in `gop`: the
   * newest one when `gop` was evicted, `undefined` (wait for a keyframe) when its place in the
   * GOP in progress was trimmed, `null` when the viewer is dropped for falling behind.
   */
  #keepUp(gop: Gop): Gop | undefined | null {
    if (!gop.evicted && this.#index >= gop.offset) return gop;
    if (this.#options.slowPolicy === "drop") {
      this.#finish("drop");
      return null;
    }
    gop.release();
    let next: Gop | undefined;
    if (gop.evicted) {
      next = this.#ring.newest;
      assert(next !== undefined, "a ring that evicted a GOP holds a newer one");
      this.#hold(next);
    } else {
      this.#gop = undefined;
      this.#startSeq = this.#ring.nextSeq;
    }
    this.#skips++;
    this.#options.onSkip?.(this);
    return next;
  }

  /** Moves from a complete `gop` to the next one, if the ring has it. */
  #advance(gop: Gop): boolean {
    const next = this.#ring.after(gop);
    if (next === undefined) return false;
    gop.release();
    this.#hold(next);
    return true;
  }

  /**
   * Moves the cursor past a run that ends at Cluster `index` of GOP `seq`. When that GOP has
   * left the ring already (a viewer far behind), the cursor goes to `gop`'s end, and `#keepUp`
   * then jumps to the newest keyframe.
   */
  #moveTo(gop: Gop, seq: number, index: number): void {
    if (seq !== gop.seq) {
      const next = this.#ring.firstFrom(seq);
      if (next === undefined || next.seq !== seq) {
        this.#index = gop.offset + gop.clusterCount;
        return;
      }
      gop.release();
      this.#hold(next);
    }
    this.#index = index;
  }

  #hold(gop: Gop): void {
    gop.retain();
    this.#gop = gop;
    this.#index = 0;
  }

  /** Counts `payload` and gives the bytes this viewer's writer wants (`shared`: the ring's wire form). */
  #out(payload: Uint8Array, shared: Uint8Array): Uint8Array {
    this.#bytes += payload.length;
    if (this.#form === "payload") return payload;
    if (this.#form === "shared") return shared;
    return joinWire([payload], { format: this.#options.wire }).wire;
  }

  #finish(reason: CloseReason): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#leadIn?.cancel();
    this.#leadIn = undefined;
    this.#gop?.release();
    this.#gop = undefined;
    this.#ring.cancelWait(this.#onWake);
    this.#wakeUp();
    this.#options.onClose?.(this, reason);
  }
}
