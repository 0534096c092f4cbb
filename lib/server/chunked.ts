/**
 * HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1) as a wire form the stream layer joins
 * each Cluster into once, for every viewer of a mount.
 *
 * @module
 */

import type { WireFormat } from "../stream/wire_format.ts";

const CRLF = new Uint8Array([13, 10]);

/**
 * A chunk of a chunked body: `SIZE CRLF data CRLF`, the size in hex (RFC 9112 section 7.1). The
 * ring holds each Cluster laid out this way with the plain bytes inside, so an HTTP/1.1 viewer
 * writes a Cluster in one write and an HTTP/1.0 one writes the plain view of the same memory.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { joinWire } from "../stream/wire_format.ts";
 * import { CHUNKED } from "./chunked.ts";
 * const chunk = joinWire([new Uint8Array(26)], { format: CHUNKED });
 * assertEquals(new TextDecoder().decode(chunk.wire.subarray(0, 4)), "1a\r\n");
 * assertEquals(chunk.wire.length, 4 + 26 + 2);
 * ```
 */
export const CHUNKED: WireFormat = {
  prefix(length: number): Uint8Array {
    const digits = length.toString(16);
    const prefix = new Uint8Array(digits.length + 2);
    for (let i = 0; i < digits.length; i++) prefix[i] = digits.charCodeAt(i);
    prefix.set(CRLF, digits.length);
    return prefix;
  },
  suffix: CRLF,
};

/**
 * The last chunk with no trailers, which ends a chunked body (RFC 9112 section 7.1): how a
 * viewer tells the stream's end from a cut-off (ffmpeg reports a close-delimited end as an I/O
 * error).
 */
export const LAST_CHUNK: Uint8Array = new TextEncoder().encode("0\r\n\r\n");
