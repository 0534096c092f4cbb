/**
 * The Matroska demuxer as a `TransformStream` stage after `EbmlParser`.
 *
 * @module
 */

import type { Batch, EbmlBatch } from "../ebml/ebml_parser.ts";
import type { EbmlEvent } from "../ebml/ebml_reader.ts";
import { MatroskaDemuxer, type MatroskaEvent } from "./matroska_demuxer.ts";

/** A batch of Matroska events: what one batch of EBML events completed. */
export type MatroskaBatch = Batch<MatroskaEvent>;

/**
 * A `TransformStream` from `EbmlParser`'s batches to batches of Matroska events: the live header
 * once, blocks with absolute times, and the ends of the source's Clusters (see
 * `MatroskaDemuxer`). One batch in gives at most one batch out, so a stream of 64 KiB chunks
 * costs one trip per chunk, not one per block.
 *
 * Faults stay in-band, as in `EbmlParser`: a batch carrying an `error` is passed on after the
 * events made from it, and a demuxer error (tracks that change, a Cluster before the Tracks)
 * ends the stream with a last batch of the events before it and the error. Either way the
 * stage then closes, and its writable side errors, which cancels the source of a pipe.
 *
 * @example Count the blocks of a file
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EbmlParser } from "../ebml/ebml_parser.ts";
 * import { MatroskaDemuxStream } from "./matroska_demux_stream.ts";
 * const file = await Deno.open("testdata/sample.webm");
 * let blocks = 0;
 * let header = "";
 * const batches = file.readable.pipeThrough(new EbmlParser()).pipeThrough(new MatroskaDemuxStream());
 * for await (const batch of batches) {
 *   assertEquals(batch.error, undefined);
 *   for (const event of batch.events) {
 *     if (event.type === "header") header = event.header.docType;
 *     if (event.type === "block") blocks++;
 *   }
 * }
 * assertEquals(header, "webm");
 * assertEquals(blocks > 100, true);
 * ```
 */
export class MatroskaDemuxStream extends TransformStream<EbmlBatch, MatroskaBatch> {
  constructor() {
    const demuxer = new MatroskaDemuxer();
    let events: MatroskaEvent[] = [];
    /** Input bytes of batches that made no events, for the next batch out. */
    let bytes = 0;
    const emit = (event: MatroskaEvent) => {
      events.push(event);
    };
    super(
      {
        transform(batch, controller) {
          const input: EbmlEvent[] = batch.events;
          let error = batch.error;
          bytes += batch.bytes ?? 0;
          try {
            for (let i = 0; i < input.length; i++) demuxer.push(input[i], emit);
          } catch (e) {
            // A fault of the demuxer comes after the events it completed and before any later
            // fault of the parser, which it replaces: nothing after it was demuxed.
            error = e;
          }
          if (events.length === 0 && !batch.ended && error === undefined) return;
          const out: MatroskaBatch = { events, bytes };
          events = [];
          bytes = 0;
          if (batch.ended) out.ended = true;
          if (error === undefined) return controller.enqueue(out);
          out.error = error;
          controller.enqueue(out);
          controller.terminate();
        },
      },
      undefined,
      { highWaterMark: 1 },
    ); // one batch may wait, as in EbmlParser
  }
}
