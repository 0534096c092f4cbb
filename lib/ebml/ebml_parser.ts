/**
 * The streaming EBML parser as a `TransformStream`.
 *
 * @module
 */

import { type EbmlEvent, EbmlReader, type EbmlReaderOptions } from "./ebml_reader.ts";

/**
 * A `TransformStream` from bytes to EBML events (`start`, `end`, `element`), for chunks split
 * anywhere. It wraps `EbmlReader`; payloads are `subarray` views of the input chunks.
 *
 * Malformed input errors the stream with `EbmlSyntaxError` (or `RangeError` for an element over
 * the size cap). Erroring a stream discards events still queued in it; a consumer that must
 * process every event before the error (a live server does) can drive `EbmlReader` directly.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EbmlParser } from "./ebml_parser.ts";
 * const bytes = new Uint8Array([0x1A, 0x45, 0xDF, 0xA3, 0x84, 0x42, 0x82, 0x81, 0x77]);
 * const events = await Array.fromAsync(ReadableStream.from([bytes]).pipeThrough(new EbmlParser()));
 * assertEquals(events[0].type, "element");
 * ```
 */
export class EbmlParser extends TransformStream<Uint8Array, EbmlEvent> {
  constructor(options?: EbmlReaderOptions) {
    const reader = new EbmlReader(options);
    let emit: ((event: EbmlEvent) => void) | undefined;
    super({
      transform(chunk, controller) {
        emit ??= (event) => controller.enqueue(event);
        reader.push(chunk, emit);
      },
      flush(controller) {
        emit ??= (event) => controller.enqueue(event);
        reader.end(emit);
      },
    });
  }
}
