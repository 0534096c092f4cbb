/**
 * What the EBML parser reports, and its options.
 *
 * @module
 */

import type { EbmlSchema } from "./ids.ts";

/** A master element begins; its children follow until the matching `end`. */
export interface EbmlStartEvent {
  type: "start";
  id: number;
  /** Absolute offset of the element's first ID byte. */
  offset: number;
  /** Bytes of ID and size. */
  headerSize: number;
  /** Payload size, or `UNKNOWN_SIZE` (-1). */
  size: number;
}

/** A master element ends (at its size, or where RFC 8794 section 6.2 ends an unknown size). */
export interface EbmlEndEvent {
  type: "end";
  id: number;
  /** Absolute offset just past the element's last byte. */
  offset: number;
}

/** A whole element that is not walked: `data` is its payload, a view into the input where possible. */
export interface EbmlElementEvent {
  type: "element";
  id: number;
  /** Absolute offset of the element's first ID byte. */
  offset: number;
  /** Bytes of ID and size. */
  headerSize: number;
  /**
   * The payload: a `subarray` of an input chunk, or, when it spanned chunks, one copy (or, for
   * the IDs in `inParts`, its first piece: see `more`).
   */
  data: Uint8Array;
  /**
   * For an element of `inParts` whose payload spanned chunks: the rest of it, in order, as
   * `subarray` views of the chunks that held it (the payload is `data` then these). Absent
   * otherwise.
   */
  more?: readonly Uint8Array[];
}

/** What the parser reports. */
export type EbmlEvent = EbmlStartEvent | EbmlEndEvent | EbmlElementEvent;

/** Options of `EbmlReader` and `EbmlParser`. */
export interface EbmlReaderOptions {
  /** Which elements to walk, deliver or skip. Default: `MATROSKA_SCHEMA`. */
  schema?: EbmlSchema;
  /**
   * Largest element payload the parser will buffer, in bytes (default 64 MiB). A larger one is
   * refused with `RangeError`: an absurd size must not make memory grow.
   */
  maxElementSize?: number;
  /**
   * IDs of elements whose payload, when it spans chunks, is delivered as views of those chunks
   * (`data` and `more`) rather than copied into one array: block payloads (SimpleBlock), which
   * their consumers write out as lists of views anyway. On 64 KiB reads of an 8 Mbit/s stream
   * that copy is over half of the input. Default: none.
   */
  inParts?: ReadonlySet<number>;
}

/**
 * Default cap on a buffered element's payload.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { DEFAULT_MAX_ELEMENT_SIZE } from "./ebml_events.ts";
 * assertEquals(DEFAULT_MAX_ELEMENT_SIZE, 64 * 1024 * 1024);
 * ```
 */
export const DEFAULT_MAX_ELEMENT_SIZE: number = 64 * 1024 * 1024;
