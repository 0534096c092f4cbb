/**
 * The streaming EBML parser as a `TransformStream` of event batches.
 *
 * @module
 */

import { type EbmlEvent, EbmlReader, type EbmlReaderOptions } from "./ebml_reader.ts";

/**
 * What a batching stream stage emits for one input chunk: the events that chunk completed, in
 * order. A stage that meets bad input emits the events it completed before the fault, with the
 * fault in `error`, as its last batch, and then closes instead of erroring: erroring a stream
 * discards what is still queued in it, and a live server must deliver everything before a fault.
 */
export interface Batch<T> {
  /** The events, in order. */
  events: T[];
  /** What stopped the stage after `events`; no batch follows one that has it. */
  error?: unknown;
  /**
   * The batch was made when the input had ended (in `flush`): an `error` on it is about how the
   * input ended (a cut file, a killed encoder), not about bytes that could not be read.
   */
  ended?: boolean;
  /**
   * Input bytes the batch accounts for: those of the chunks since the previous batch (a stage
   * makes no batch for a chunk that completed nothing, and counts it in the next one).
   */
  bytes?: number;
}

/**
 * The readable side's queue: one batch may wait in it. With none, every chunk flips the
 * stream's backpressure twice, a promise each: 2-3 % of an in-process ingest of 100 MB.
 */
const READ_AHEAD: QueuingStrategy<EbmlBatch> = { highWaterMark: 1 };

/** A batch of EBML events, one per input chunk. */
export type EbmlBatch = Batch<EbmlEvent>;

/**
 * A `TransformStream` from bytes to EBML events (`start`, `end`, `element`), for chunks split
 * anywhere, in batches: one array per input chunk, since a chunk of 64 KiB holds hundreds of
 * events and a stream's per-chunk cost is far above `EbmlReader`'s per-event cost. It wraps
 * `EbmlReader`; payloads are `subarray` views of the input chunks.
 *
 * Malformed input (`EbmlSyntaxError`, or `RangeError` for an element over the size cap) does not
 * error the stream: the last batch carries the events parsed before the fault and the fault in
 * `error`; then the readable side closes and the writable side errors, which cancels the source
 * of a pipe. Input that ends inside an element gives a last batch with `ended` and the
 * `EbmlSyntaxError` from `EbmlReader.end`.
 *
 * @example Parse a byte stream, then read every event and the fault in order
 * ```ts
 * import { assertEquals, assertInstanceOf } from "@std/assert";
 * import { EbmlParser } from "./ebml_parser.ts";
 * import { EbmlSyntaxError } from "./ebml_syntax_error.ts";
 * // An EBML header of 4 bytes holding EBMLVersion 1, then a cut-off header of a Segment.
 * const bytes = new Uint8Array([0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x86, 0x81, 0x01, 0x18, 0x53]);
 * const batches = await Array.fromAsync(ReadableStream.from([bytes]).pipeThrough(new EbmlParser()));
 * assertEquals(batches.flatMap((b) => b.events).map((e) => e.type), ["element"]);
 * const last = batches[batches.length - 1];
 * assertEquals(last.ended, true);
 * assertInstanceOf(last.error, EbmlSyntaxError);
 * ```
 */
export class EbmlParser extends TransformStream<Uint8Array, EbmlBatch> {
  #reader: EbmlReader;

  constructor(options?: EbmlReaderOptions) {
    const reader = new EbmlReader(options);
    let events: EbmlEvent[] = [];
    let bytes = 0;
    const emit = (event: EbmlEvent) => {
      events.push(event);
    };
    super(
      {
        transform(chunk, controller) {
          bytes += chunk.length;
          try {
            reader.push(chunk, emit);
          } catch (error) {
            controller.enqueue({ events, error, bytes });
            controller.terminate();
            return;
          }
          // An empty batch costs a trip through every later stage: a chunk inside one large
          // element (a keyframe spread over several reads) completes nothing.
          if (events.length === 0) return;
          controller.enqueue({ events, bytes });
          events = [];
          bytes = 0;
        },
        flush(controller) {
          try {
            reader.end(emit);
          } catch (error) {
            controller.enqueue({ events, error, ended: true, bytes });
            return;
          }
          controller.enqueue({ events, ended: true, bytes });
        },
      },
      undefined,
      READ_AHEAD,
    );
    this.#reader = reader;
  }

  /** Absolute offset of the next byte the parser expects (the bytes parsed so far). */
  get offset(): number {
    return this.#reader.offset;
  }
}
