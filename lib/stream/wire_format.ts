/**
 * Room for a wire form around each chunk, which the layer that speaks a protocol injects: the
 * stream layer joins bytes into it once and never knows what the prefix and suffix mean.
 *
 * @module
 */

/** Bytes a server writes around each chunk of a stream body (a prefix that may name the length). */
export interface WireFormat {
  /** What goes before a chunk of `length` payload bytes. */
  prefix(length: number): Uint8Array;
  /** What goes after every chunk. */
  readonly suffix: Uint8Array;
}

/** One chunk as held: the payload, and the same bytes with its wire form around them. */
export interface WireBytes {
  /** The chunk's own bytes: a view inside `wire`. */
  readonly payload: Uint8Array;
  /** `prefix | payload | suffix` in one buffer (the payload itself when there is no wire form). */
  readonly wire: Uint8Array;
}

/**
 * Joins `parts` into one buffer laid out as `prefix | payload | suffix` of `format`: the payload
 * is a view inside the wire bytes, so one copy serves writers of either form, and a writer
 * sends a chunk in one write (Deno has no `writev`, so three writes would be the alternative).
 * The buffer is always new: the parts may be views of memory their maker reuses.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { joinWire } from "./wire_format.ts";
 * const brackets = { prefix: (n: number) => new Uint8Array([n]), suffix: new Uint8Array([0]) };
 * const joined = joinWire([new Uint8Array([7, 8]), new Uint8Array([9])], { format: brackets });
 * assertEquals(Array.from(joined.wire), [3, 7, 8, 9, 0]);
 * assertEquals(Array.from(joined.payload), [7, 8, 9]);
 * ```
 */
export function joinWire(
  parts: readonly Uint8Array[],
  options: { format?: WireFormat; length?: number } = {},
): WireBytes {
  const length = options.length ?? parts.reduce((n, p) => n + p.length, 0);
  const format = options.format;
  const prefix = format?.prefix(length);
  const start = prefix?.length ?? 0;
  const suffix = format?.suffix;
  const wire = new Uint8Array(start + length + (suffix?.length ?? 0));
  if (prefix !== undefined) wire.set(prefix);
  let at = start;
  for (const part of parts) {
    if (at + part.length > start + length) break;
    wire.set(part, at);
    at += part.length;
  }
  if (at !== start + length) {
    throw new RangeError(`Chunk parts do not add up to its length: ${at - start} of ${length}`);
  }
  if (suffix !== undefined) wire.set(suffix, at);
  const payload = format === undefined ? wire : wire.subarray(start, at);
  return { payload, wire };
}

/**
 * Joins several chunks into one buffer, each laid out as `prefix | payload | suffix` one after
 * the other: every chunk's `WireBytes` are views into it, and so is any run of consecutive
 * chunks, which a writer sends in one write. The mount's delivery clock appends each tick's
 * Clusters this way, so a viewer at the live edge writes a tick in one write even when the tick
 * holds a GOP's last Cluster and the next GOP's first.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { joinWireRun } from "./wire_format.ts";
 * const brackets = { prefix: (n: number) => new Uint8Array([n]), suffix: new Uint8Array([0]) };
 * const { chunks, wire } = joinWireRun([[new Uint8Array([7])], [new Uint8Array([8, 9])]], {
 *   format: brackets,
 * });
 * assertEquals(Array.from(wire), [1, 7, 0, 2, 8, 9, 0]);
 * assertEquals(Array.from(chunks[1].wire), [2, 8, 9, 0]);
 * assertEquals(Array.from(chunks[1].payload), [8, 9]);
 * ```
 */
export function joinWireRun(
  chunks: readonly (readonly Uint8Array[])[],
  options: { format?: WireFormat; lengths?: readonly number[] } = {},
): { chunks: WireBytes[]; wire: Uint8Array } {
  const format = options.format;
  const suffix = format?.suffix;
  const lengths = chunks.map((parts, i) =>
    options.lengths?.[i] ?? parts.reduce((n, p) => n + p.length, 0)
  );
  const prefixes = lengths.map((n) => format?.prefix(n));
  let total = 0;
  for (let i = 0; i < chunks.length; i++) {
    total += (prefixes[i]?.length ?? 0) + lengths[i] + (suffix?.length ?? 0);
  }
  const wire = new Uint8Array(total);
  const out: WireBytes[] = [];
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    const begin = at;
    const prefix = prefixes[i];
    if (prefix !== undefined) {
      wire.set(prefix, at);
      at += prefix.length;
    }
    const start = at;
    for (const part of chunks[i]) {
      if (at + part.length > start + lengths[i]) break;
      wire.set(part, at);
      at += part.length;
    }
    if (at !== start + lengths[i]) {
      throw new RangeError(
        `Chunk parts do not add up to its length: ${at - start} of ${lengths[i]}`,
      );
    }
    const payload = wire.subarray(start, at);
    if (suffix !== undefined) {
      wire.set(suffix, at);
      at += suffix.length;
    }
    out.push({ payload, wire: format === undefined ? payload : wire.subarray(begin, at) });
  }
  return { chunks: out, wire };
}
