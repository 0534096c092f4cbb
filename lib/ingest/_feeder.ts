/**
 * The input side of `openFfmpegSource`: one input stream fed to ffmpeg's standard input, kept
 * from its start so that a restarted ffmpeg can be fed it again.
 *
 * @module
 */

/** Input bytes kept (for a stream input) in case ffmpeg must be restarted: its probe size. */
const REPLAY_LIMIT = 16 * 1024 * 1024;

/**
 * Feeds one input stream to ffmpeg's standard input, and again from the start to a restarted
 * ffmpeg: until `commit()`, the chunks read are kept (up to `REPLAY_LIMIT` bytes).
 */
export class Feeder {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  /** The first chunks, kept for a replay (appended to while `#keeping`). */
  #kept: Uint8Array[] | undefined = [];
  #keptBytes = 0;
  #keeping = true;
  /** How many chunks have been read; the last one is `#last`. */
  #count = 0;
  #last: Uint8Array | undefined;
  #ended = false;
  #reading: Promise<void> | undefined;
  /** The latest `feed` call; an older one stops at its next chunk. */
  #generation = 0;
  #feeds = new Set<Promise<void>>();
  #stopped = false;
  /** The input's own failure (not ffmpeg closing its end). */
  error: unknown;

  constructor(input: ReadableStream<Uint8Array>) {
    this.#reader = input.getReader();
  }

  /** Whether a new `feed` could start from the first chunk. */
  get canReplay(): boolean {
    return this.#keeping;
  }

  /** ffmpeg has started writing: no replay will be needed. */
  commit(): void {
    this.#keeping = false;
  }

  /**
   * Writes every chunk, from the first, to `stdin`; resolves when the input ends (closing
   * `stdin`), when `stdin` fails, or when a newer `feed` takes over.
   */
  feed(stdin: WritableStream<Uint8Array>): Promise<void> {
    const done = this.#feed(stdin, ++this.#generation);
    this.#feeds.add(done);
    done.finally(() => this.#feeds.delete(done));
    return done;
  }

  /** Cancels the input and waits for every `feed` to end. */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      await this.#reader.cancel().catch(() => {});
    }
    await Promise.all(this.#feeds);
  }

  async #feed(stdin: WritableStream<Uint8Array>, generation: number) {
    const writer = stdin.getWriter();
    try {
      for (let i = 0;; i++) {
        const chunk = await this.#chunk(i, generation);
        if (generation !== this.#generation) return; // replaced: its ffmpeg is gone
        if (chunk === undefined) break;
        await writer.write(chunk);
      }
      await writer.close();
    } catch {
      // ffmpeg closing its input early (it found an error, or was killed) breaks the pipe: its
      // exit status says what happened.
      await writer.abort().catch(() => {});
    } finally {
      writer.releaseLock();
    }
  }

  /** Chunk number `i`, reading it if needed; undefined at the end. */
  async #chunk(i: number, generation: number): Promise<Uint8Array | undefined> {
    while (i >= this.#count && !this.#ended) {
      this.#reading ??= this.#read();
      await this.#reading;
    }
    if (this.#kept !== undefined && i < this.#kept.length) {
      return this.#kept[i];
    }
    if (!this.#keeping && generation === this.#generation) {
      this.#kept = undefined; // the current feed is past every kept chunk
    }
    return i === this.#count - 1 ? this.#last : undefined;
  }

  async #read(): Promise<void> {
    try {
      const { value, done } = await this.#reader.read();
      if (done) {
        this.#ended = true;
        return;
      }
      this.#count++;
      this.#last = value;
      if (this.#keeping) {
        this.#kept!.push(value);
        this.#keptBytes += value.length;
        if (this.#keptBytes > REPLAY_LIMIT) this.#keeping = false;
      }
    } catch (error) {
      if (!this.#stopped) this.error ??= error;
      this.#ended = true;
    } finally {
      this.#reading = undefined;
    }
  }
}
