/**
 * The first stage of the ingest pipeline for a reconnecting source: one stream per connection.
 *
 * @module
 */

/** Options of `ConnectionSplitter`. */
export interface ConnectionSplitterOptions {
  /**
   * Asked for each chunk as it is read: true when the chunk begins a new connection of a
   * reconnecting source (see `IngestOptions.shouldRestart`). Without it the source is one
   * connection, given as it is.
   */
  shouldRestart?: () => boolean;
}

/**
 * Splits a source that may reconnect into one `ReadableStream` per connection, since each
 * connection is an EBML stream of its own: the old one may have stopped inside an element, so
 * the parser must start afresh where the new one begins. Empty chunks are dropped, and a
 * connection that has given nothing does not end at a restart.
 *
 * Each stream reads the source only when it is read itself (high-water mark 0), so
 * `shouldRestart` is asked as a chunk is taken from the source. Cancelling a connection's
 * stream cancels the source. Without `shouldRestart`, `next()` gives the source itself: a
 * stream layer costs about a microsecond per chunk, a few percent of a scan at 64 KiB chunks.
 *
 * @example Two connections, the second announced by `shouldRestart`
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ConnectionSplitter } from "./connection_splitter.ts";
 * const chunks = [1, 2, 3].map((n) => new Uint8Array([n]));
 * const restarts = [false, false, true];
 * const splitter = new ConnectionSplitter(ReadableStream.from(chunks), {
 *   shouldRestart: () => restarts.shift() ?? false,
 * });
 * const connections: number[][] = [];
 * for (let c = splitter.next(); c !== undefined; c = splitter.next()) {
 *   connections.push((await Array.fromAsync(c)).map((chunk) => chunk[0]));
 * }
 * assertEquals(connections, [[1, 2], [3]]);
 * ```
 */
export class ConnectionSplitter {
  #source: ReadableStream<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #shouldRestart: (() => boolean) | undefined;
  #started = false;
  #done = false;
  /** The chunk that began the next connection, read while the previous one was being read. */
  #next: Uint8Array | undefined;
  #cancelled: Promise<void> | undefined;

  constructor(source: ReadableStream<Uint8Array>, options: ConnectionSplitterOptions = {}) {
    this.#source = source;
    this.#shouldRestart = options.shouldRestart;
  }

  /** Whether no connection follows the ones given so far (as far as is known yet). */
  get ended(): boolean {
    return this.#done || this.#cancelled !== undefined ||
      (this.#started && this.#next === undefined);
  }

  /**
   * The next connection's bytes: the first call gives the first connection, later ones give
   * `undefined` once the source has ended (or was cancelled). Read each stream to its end first.
   */
  next(): ReadableStream<Uint8Array> | undefined {
    if (this.ended) return undefined;
    this.#started = true;
    if (this.#shouldRestart === undefined) return this.#source;
    this.#reader ??= this.#source.getReader();
    const first = this.#next;
    this.#next = undefined;
    return this.#connection(this.#reader, this.#shouldRestart, first);
  }

  /**
   * Cancels the source, unless a pipe holds it (that pipe cancels it). Once: later calls give
   * the same promise, which never rejects.
   */
  cancel(): Promise<void> {
    this.#cancelled ??= this.#reader
      ? this.#reader.cancel().catch(() => {})
      : this.#source.locked
      ? Promise.resolve()
      : this.#source.cancel().catch(() => {});
    return this.#cancelled;
  }

  #connection(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    shouldRestart: () => boolean,
    first: Uint8Array | undefined,
  ): ReadableStream<Uint8Array> {
    let sent = first !== undefined;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (first !== undefined) {
          controller.enqueue(first);
          first = undefined;
          return;
        }
        for (;;) {
          const { done, value } = await reader.read();
          if (this.#cancelled !== undefined) return;
          if (done) {
            this.#done = true;
            controller.close();
            return;
          }
          if (value.length === 0) continue;
          if (shouldRestart() && sent) {
            this.#next = value;
            controller.close();
            return;
          }
          sent = true;
          controller.enqueue(value);
          return;
        }
      },
      cancel: () => this.cancel(),
    }, { highWaterMark: 0 });
  }
}
