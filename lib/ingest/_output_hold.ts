/**
 * Output held back until a byte sequence appears in it, searched for across chunk seams.
 *
 * @module
 */

import { concatBytes } from "../ebml/writer.ts";

/**
 * Chunks held back until `needle` appears in them or `limit` bytes are held. Each chunk is
 * searched once, together with the `needle.length - 1` bytes before it (an occurrence that spans
 * the seam), rather than the whole hold again: the held chunks are concatenated only once, by
 * `release()`.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { OutputHold } from "./_output_hold.ts";
 * const hold = new OutputHold(new Uint8Array([7, 8, 9]), 1024);
 * assertEquals(hold.push(new Uint8Array([1, 7])), false);
 * assertEquals(hold.push(new Uint8Array([8])), false);
 * assertEquals(hold.push(new Uint8Array([9, 2])), true);
 * assertEquals(hold.release(), new Uint8Array([1, 7, 8, 9, 2]));
 * ```
 */
export class OutputHold {
  #needle: Uint8Array;
  #limit: number;
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  /** The last `needle.length - 1` bytes held (fewer while fewer are held). */
  #tail: Uint8Array = new Uint8Array(0);

  constructor(needle: Uint8Array, limit: number) {
    this.#needle = needle;
    this.#limit = limit;
  }

  /** Whether no chunk has been pushed. */
  get isEmpty(): boolean {
    return this.#chunks.length === 0;
  }

  /** Holds `chunk`; true when the hold is due for release (`needle` found, or `limit` reached). */
  push(chunk: Uint8Array): boolean {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    const found = indexAcross(this.#tail, chunk, this.#needle) >= 0;
    this.#tail = tailOf(this.#tail, chunk, this.#needle.length - 1);
    return found || this.#bytes >= this.#limit;
  }

  /** Everything held, in one array (the chunk itself when only one was pushed). */
  release(): Uint8Array {
    const chunks = this.#chunks;
    this.#chunks = [];
    this.#bytes = 0;
    this.#tail = new Uint8Array(0);
    return chunks.length === 1 ? chunks[0] : concatBytes(chunks);
  }
}

/** Where `needle` starts in `before` followed by `chunk`, without joining them; -1 if nowhere. */
function indexAcross(before: Uint8Array, chunk: Uint8Array, needle: Uint8Array): number {
  const at = (i: number) => i < before.length ? before[i] : chunk[i - before.length];
  const length = before.length + chunk.length;
  outer: for (let i = 0; i + needle.length <= length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (at(i + j) !== needle[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/** The last `n` bytes of `before` followed by `chunk`. */
function tailOf(before: Uint8Array, chunk: Uint8Array, n: number): Uint8Array {
  if (chunk.length >= n) return chunk.slice(chunk.length - n);
  const joined = concatBytes([before, chunk]);
  return joined.slice(Math.max(0, joined.length - n));
}
