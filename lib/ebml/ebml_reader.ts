/**
 * The synchronous core of the streaming EBML parser.
 *
 * @module
 */

import { EbmlSyntaxError } from "./ebml_syntax_error.ts";
import { type EbmlSchema, formatId, MATROSKA_SCHEMA } from "./ids.ts";
import { type ElementHeader, readElementHeader } from "./element_header.ts";
import { UNKNOWN_SIZE } from "./vint.ts";
import { DEFAULT_MAX_ELEMENT_SIZE, type EbmlEvent, type EbmlReaderOptions } from "./ebml_events.ts";

export {
  DEFAULT_MAX_ELEMENT_SIZE,
  type EbmlElementEvent,
  type EbmlEndEvent,
  type EbmlEvent,
  type EbmlReaderOptions,
  type EbmlStartEvent,
} from "./ebml_events.ts";

/** The longest element header: a 4-byte ID (Matroska's EBMLMaxIDLength) and an 8-byte size. */
const MAX_HEADER = 12;

const HEADER = 0;
const BUFFER = 1;
const SKIP = 2;
/** Gathering the views of a payload of `inParts` that spans chunks. */
const PARTS = 3;

interface Frame {
  id: number;
  level: number;
  /** Absolute offset where this master must end: its own end, or its parent's for unknown size. */
  bound: number;
  /** Whether its size is unknown (RFC 8794 section 6.2). */
  unknown: boolean;
}

/**
 * Parses EBML incrementally: `push` chunks split anywhere, get events through a callback, in
 * order and synchronously. Pending input is never re-concatenated: a header that spans chunks is
 * gathered in a 12-byte scratch array, a payload that spans chunks is copied once into an array
 * of its exact size (or, for the IDs in `inParts`, delivered as the views of the chunks it
 * spans), and everything else is delivered as `subarray` views of the chunks, which must
 * therefore not be modified after they are pushed.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { EbmlReader } from "./ebml_reader.ts";
 * const reader = new EbmlReader();
 * const events: string[] = [];
 * // A Void element (0xEC) of 2 bytes is skipped; an EBML header of size 0 is delivered.
 * reader.push(new Uint8Array([0x1A, 0x45, 0xDF, 0xA3, 0x80, 0xEC, 0x82, 0, 0]), (e) => events.push(e.type));
 * reader.end(() => {});
 * assertEquals(events, ["element"]);
 * ```
 */
export class EbmlReader {
  #schema: EbmlSchema;
  #max: number;
  #pos = 0;
  #stack: Frame[] = [];
  #mode = HEADER;
  #head = new Uint8Array(MAX_HEADER);
  #headLen = 0;
  /** The header of the element being read. */
  #element: ElementHeader = { id: 0, size: 0, headerSize: 0, offset: 0 };
  #buf: Uint8Array | undefined;
  #fill = 0;
  #skipLeft = 0;
  #inParts: ReadonlySet<number> | undefined;
  #pieces: Uint8Array[] = [];

  constructor(options: EbmlReaderOptions = {}) {
    this.#schema = options.schema ?? MATROSKA_SCHEMA;
    const max = options.maxElementSize ?? DEFAULT_MAX_ELEMENT_SIZE;
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new TypeError(`Invalid maxElementSize: ${max}`);
    }
    this.#max = max;
    this.#inParts = options.inParts?.size ? options.inParts : undefined;
  }

  /** Absolute offset of the next byte the reader expects. */
  get offset(): number {
    return this.#pos;
  }

  /** Number of master elements currently open. */
  get depth(): number {
    return this.#stack.length;
  }

  /**
   * Parses `chunk`, calling `emit` for every event it completes.
   *
   * @throws {EbmlSyntaxError} on malformed input (the reader must not be used again)
   * @throws {RangeError} when an element to buffer exceeds `maxElementSize`
   */
  push(chunk: Uint8Array, emit: (event: EbmlEvent) => void): void {
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.#mode === SKIP) {
        const take = Math.min(this.#skipLeft, n - i);
        i += take;
        this.#pos += take;
        this.#skipLeft -= take;
        if (this.#skipLeft === 0) {
          this.#mode = HEADER;
          this.#closeFinished(emit);
        }
      } else if (this.#mode === PARTS) {
        const take = Math.min(this.#element.size - this.#fill, n - i);
        this.#pieces.push(chunk.subarray(i, i + take));
        this.#fill += take;
        i += take;
        this.#pos += take;
        if (this.#fill === this.#element.size) this.#emitPieces(emit);
      } else if (this.#mode === BUFFER) {
        const buf = this.#buf!;
        const take = Math.min(buf.length - this.#fill, n - i);
        buf.set(chunk.subarray(i, i + take), this.#fill);
        this.#fill += take;
        i += take;
        this.#pos += take;
        if (this.#fill === buf.length) {
          this.#buf = undefined;
          this.#mode = HEADER;
          this.#emitElement(buf, emit);
        }
      } else if (this.#headLen === 0) {
        const length = readElementHeader(chunk, i, n, this.#pos, this.#element);
        if (length === 0) {
          // Fewer than a whole header left: keep those few bytes in the scratch array.
          this.#head.set(chunk.subarray(i, n));
          this.#headLen = n - i;
          this.#pos += n - i;
          i = n;
        } else {
          i += length;
          this.#pos += length;
          i = this.#onHeader(chunk, i, emit);
        }
      } else {
        const have = this.#headLen;
        const take = Math.min(MAX_HEADER - have, n - i);
        this.#head.set(chunk.subarray(i, i + take), have);
        const length = readElementHeader(
          this.#head,
          0,
          have + take,
          this.#pos - have,
          this.#element,
        );
        if (length === 0) {
          this.#headLen += take;
          this.#pos += take;
          i += take;
        } else {
          const used = length - have;
          this.#headLen = 0;
          i += used;
          this.#pos += used;
          i = this.#onHeader(chunk, i, emit);
        }
      }
    }
  }

  /**
   * Ends the input: closes open unknown-size masters (emitting `end`).
   *
   * @throws {EbmlSyntaxError} when the input stops inside an element (truncated input)
   */
  end(emit: (event: EbmlEvent) => void): void {
    if (this.#mode !== HEADER) {
      const got = this.#mode === SKIP ? this.#element.size - this.#skipLeft : this.#fill;
      throw new EbmlSyntaxError(
        `Input ends inside element ${
          formatId(this.#element.id)
        }: ${got} of ${this.#element.size} payload bytes received`,
        this.#element.offset,
      );
    }
    if (this.#headLen > 0) {
      throw new EbmlSyntaxError(
        `Input ends inside an element header: ${this.#headLen} bytes received`,
        this.#pos - this.#headLen,
      );
    }
    while (this.#stack.length > 0) {
      const frame = this.#stack[this.#stack.length - 1];
      if (!frame.unknown || frame.bound !== Infinity) {
        throw new EbmlSyntaxError(
          `Input ends inside element ${formatId(frame.id)}: ${
            frame.bound - this.#pos
          } bytes missing`,
          this.#pos,
        );
      }
      this.#stack.pop();
      emit({ type: "end", id: frame.id, offset: this.#pos });
    }
  }

  /** Acts on the header just read; `i` is the payload's index in `chunk`. Returns the new index. */
  #onHeader(
    chunk: Uint8Array,
    i: number,
    emit: (event: EbmlEvent) => void,
  ): number {
    const id = this.#element.id;
    const size = this.#element.size;
    const offset = this.#element.offset;
    const headerSize = this.#element.headerSize;
    const spec = this.#schema.get(id);
    const stack = this.#stack;
    if (spec !== undefined) {
      // RFC 8794 section 6.2: an unknown-size element ends where an element that is not its
      // descendant begins, i.e. one of its own level or above.
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        if (!top.unknown || top.level < spec.level) break;
        stack.pop();
        emit({ type: "end", id: top.id, offset });
      }
    }
    const parent = stack[stack.length - 1];
    const parentBound = parent?.bound ?? Infinity;
    if (size !== UNKNOWN_SIZE && offset + headerSize + size > parentBound) {
      throw new EbmlSyntaxError(
        `Element ${formatId(id)} of ${size} bytes overruns its parent ${formatId(parent!.id)}`,
        offset,
      );
    }
    const kind = spec?.kind ?? "skip";
    if (kind === "master") {
      emit({ type: "start", id, offset, headerSize, size });
      const bound = size === UNKNOWN_SIZE ? parentBound : offset + headerSize + size;
      stack.push({
        id,
        level: spec!.level,
        bound,
        unknown: size === UNKNOWN_SIZE,
      });
      this.#closeFinished(emit);
      return i;
    }
    if (size === UNKNOWN_SIZE) {
      throw new EbmlSyntaxError(
        `Element ${formatId(id)} has an unknown size, which only Segment and Cluster may have`,
        offset,
      );
    }
    if (kind === "skip") {
      if (size > 0) {
        this.#mode = SKIP;
        this.#skipLeft = size;
      } else {
        this.#closeFinished(emit);
      }
      return i;
    }
    if (size > this.#max) {
      throw new RangeError(
        `Element ${
          formatId(id)
        } at byte ${offset} is too large to buffer: ${size} bytes exceeds the cap of ${this.#max}`,
      );
    }
    const available = chunk.length - i;
    if (available >= size) {
      this.#pos += size;
      this.#emitElement(chunk.subarray(i, i + size), emit);
      return i + size;
    }
    if (this.#inParts?.has(id)) {
      // The payload spans chunks, and its consumer takes it in pieces: views, no copy.
      this.#pieces = available > 0 ? [chunk.subarray(i)] : [];
      this.#fill = available;
      this.#pos += available;
      this.#mode = PARTS;
      return chunk.length;
    }
    // The payload spans chunks: one array of its exact size, filled as chunks arrive.
    const buf = new Uint8Array(size);
    buf.set(chunk.subarray(i));
    this.#buf = buf;
    this.#fill = available;
    this.#pos += available;
    this.#mode = BUFFER;
    return chunk.length;
  }

  #emitPieces(emit: (event: EbmlEvent) => void): void {
    const [data, ...more] = this.#pieces;
    this.#pieces = [];
    this.#mode = HEADER;
    const event: EbmlEvent = {
      type: "element",
      id: this.#element.id,
      offset: this.#element.offset,
      headerSize: this.#element.headerSize,
      data,
    };
    if (more.length > 0) event.more = more;
    emit(event);
    this.#closeFinished(emit);
  }

  #emitElement(data: Uint8Array, emit: (event: EbmlEvent) => void): void {
    emit({
      type: "element",
      id: this.#element.id,
      offset: this.#element.offset,
      headerSize: this.#element.headerSize,
      data,
    });
    this.#closeFinished(emit);
  }

  /** Emits `end` for every master whose bound has been reached. */
  #closeFinished(emit: (event: EbmlEvent) => void): void {
    const stack = this.#stack;
    while (stack.length > 0 && stack[stack.length - 1].bound <= this.#pos) {
      const frame = stack.pop()!;
      emit({ type: "end", id: frame.id, offset: this.#pos });
    }
  }
}
