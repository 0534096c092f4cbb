/**
 * Real-time pacing as a stage of the ingest pipeline, for files.
 *
 * @module
 */

import type { MatroskaEvent } from "../matroska/matroska_demuxer.ts";
import type { MatroskaBatch } from "../matroska/matroska_demux_stream.ts";
import { sleep } from "./_timing.ts";
import { Pacer } from "./pacer.ts";

/** Options of `PacingStream`. */
export interface PacingStreamOptions {
  /**
   * The clock to pace by. Default: a new `Pacer` with `preroll`. Pass one to keep the pace
   * across several streams (the connections of a source).
   */
  pacer?: Pacer;
  /** Milliseconds of media let through at once first, when `pacer` is not given. */
  preroll?: number;
  /** Stops waiting: the batch being paced is dropped and nothing more passes. */
  signal?: AbortSignal;
}

/**
 * A `TransformStream` of `MatroskaBatch`es that lets each block through when its timestamp
 * comes due by the wall clock (see `Pacer`), splitting a batch where it has to wait. It drops
 * the source's Cluster ends: a paced file is cut into Clusters by the mount's own timing, and
 * a file's Clusters end in bursts, long before their media is due. Faults pass through after
 * the events before them.
 *
 * @example Two blocks 30 ms apart take 30 ms
 * ```ts
 * import { assertEquals, assertGreaterOrEqual } from "@std/assert";
 * import type { MatroskaEvent } from "../matroska/matroska_demuxer.ts";
 * import { PacingStream } from "./pacing_stream.ts";
 * const block = (time: number): MatroskaEvent => ({
 *   type: "block",
 *   block: { track: 1, time, keyframe: true, flags: 0x80, frames: new Uint8Array(1), group: false, extra: [] },
 * });
 * const start = performance.now();
 * const batches = ReadableStream.from([{ events: [block(0), { type: "clusterEnd" } as const, block(30)] }])
 *   .pipeThrough(new PacingStream());
 * const events = (await Array.fromAsync(batches)).flatMap((b) => b.events);
 * assertEquals(events.map((e) => e.type), ["block", "block"]);
 * assertGreaterOrEqual(performance.now() - start, 25);
 * ```
 */
export class PacingStream extends TransformStream<MatroskaBatch, MatroskaBatch> {
  constructor(options: PacingStreamOptions = {}) {
    const pacer = options.pacer ?? new Pacer({ preroll: options.preroll ?? 0 });
    const signal = options.signal;
    /** Milliseconds per timestamp unit, from the stream header's TimestampScale. */
    let msPerUnit = 1;
    super({
      async transform(batch, controller) {
        let out: MatroskaEvent[] = [];
        /** The batch's input bytes go with the first part of it let through. */
        let bytes = batch.bytes;
        for (const event of batch.events) {
          if (event.type === "clusterEnd") continue;
          if (event.type === "block") {
            const wait = pacer.delay(event.block.time * msPerUnit, performance.now());
            if (wait >= 1) {
              if (out.length > 0) {
                controller.enqueue({ events: out, bytes });
                bytes = undefined;
              }
              out = [];
              await sleep(wait, signal);
              if (signal?.aborted) return;
            }
          } else {
            msPerUnit = event.header.timestampScale / 1e6;
          }
          out.push(event);
        }
        const last: MatroskaBatch = { events: out, bytes };
        if (batch.ended) last.ended = true;
        if (batch.error !== undefined) last.error = batch.error;
        if (out.length > 0 || bytes || batch.ended || batch.error !== undefined) {
          controller.enqueue(last);
        }
      },
    });
  }
}
