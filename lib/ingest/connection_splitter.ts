/**
 * The first stage of the ingest pipeline: a source's bytes, one stream per connection.
 *
 * @module
 */

import { concatBytes } from "../ebml/writer.ts";
import { checkFormat } from "./input_format_error.ts";

/** Options of `ConnectionSplitter`. */
export interface ConnectionSplitterOptions {
  /**
   * Asked for each chunk as it is read: true when the chunk begins a new connection of a
   * reconnecting source (see `IngestOptions.shouldRestart`).
   */
  shouldRestart?: () => boolean;
  /** Told the size of each chunk as it is read. */
  onBytes?: (n: number) => void;
}

/** Bytes the format check looks at (sniffFormat needs the EBML magic's four). */
const HEAD = 4;

/**
 * Splits a source that may reconnect into one `ReadableStream` per connection, since each
 * connection is an EBML stream of its own: the old one may have stopped inside an element, so
 * the parser must start afresh where the new one begins. Each connection's first bytes are
 * checked to be EBML (`InputFormatError` otherwise) before any reach the parser, and empty
 * chunks are dropped.
 *
 * Each stream reads the source only when it is read itself (high-water mark 0), so
 * `shouldRestart` is asked when a chunk is taken from the source, not ahead of the pipeline.
 * Cancelling a connection's stream cancels the source.
 *
 * @example Two connections, the second announced by `shouldRestart`
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ConnectionSplitter } from "./connection_splitter.ts";
 * const ebml = (n: number) => new Uint8Array([0x1A, 0x45, 0xDF, 0xA3, n]);
 * const restarts = [false, false, true];
 * const splitter = new ConnectionSplitter(ReadableStream.from([ebml(1), ebml(2), ebml(3)]), {
 *   shouldRestart: () => restarts.shift() ?? false,
 * });
 * const sizes: number[][] = [];
 * for (let c = splitter.next(); c !== undefined; c = splitter.next()) {
 *   sizes.push((await Array.fromAsync(c)).map((chunk) => chunk[4]));
 * }
 * assertEquals(sizes, [[1, 2], [3]]);
 * assertEquals(splitter.bytes, 15);
 * ```
 */
export class ConnectionSplitter {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #shouldRestart: (() => boolean) | undefined;
  #onBytes: ((n: number) => void) | undefined;
  #bytes = 0;
  #started = false;
  #done = false;
  /** The chunk that began the next connection, read while the previous one was being read. */
  #next: Uint8Array | undefined;
  #cancelled: Promise<void> | undefined;

  constructor(source: ReadableStream<Uint8Array>, options: ConnectionSplitterOptions = {}) {
    this.#reader = source.getReader();
    this.#shouldRestart = options.shouldRestart;
    this.#onBytes = options.onBytes;
  }

  /** Bytes read from the source so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * The next connection's bytes: the first call gives the first connection, later ones give
   * `undefined` once the source has ended (or was cancelled). Read each stream to its end first.
   */
  next(): ReadableStream<Uint8Array> | undefined {
    if (this.#done || this.#cancelled !== undefined) return undefined;
    if (this.#started && this.#next === undefined) return undefined;
    this.#started = true;
    const first = this.#next;
    this.#next = undefined;
    return this.#connection(first);
  }

  /** Cancels the source (once; later calls give the same promise, which never rejects). */
  cancel(): Promise<void> {
    this.#cancelled ??= this.#done ? Promise.resolve() : this.#reader.cancel().catch(() => {});
    return this.#cancelled;
  }

  #connection(first: Uint8Array | undefined): ReadableStream<Uint8Array> {
    /** The first bytes while fewer than `HEAD` have come; undefined once checked. */
    let head: Uint8Array | undefined = new Uint8Array(0);
    let sent = false;
    let pending = first;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          let chunk = pending;
          pending = undefined;
          if (chunk === undefined) {
            const { done, value } = await this.#reader.read();
            if (this.#cancelled !== undefined) return;
            if (done) {
              this.#done = true;
              // Input shorter than the magic is checked as it is, and never parsed.
              if (head !== undefined) checkFormat(head);
              controller.close();
              return;
            }
            if (value.length === 0) continue;
            this.#bytes += value.length;
            this.#onBytes?.(value.length);
            if (this.#shouldRestart?.()) {
              if (sent) {
                this.#next = value;
                controller.close();
                return;
              }
              head = new Uint8Array(0); // nothing reached the parser: start this one afresh
            }
            chunk = value;
          }
          if (head !== undefined) {
            // Recognize the input from its first four bytes, which may come in several chunks.
            chunk = head.length ? concatBytes([head, chunk]) : chunk;
            if (chunk.length < HEAD) {
              head = chunk;
              continue;
            }
            checkFormat(chunk);
            head = undefined;
          }
          sent = true;
          controller.enqueue(chunk);
          return;
        }
      },
      cancel: () => this.cancel(),
    }, { highWaterMark: 0 });
  }
}
