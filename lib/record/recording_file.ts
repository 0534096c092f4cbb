/**
 * One recorded file on disk: appended to in large sequential writes, off the ingest path, with
 * a bound on what may wait for the disk.
 *
 * @module
 */

import type { Patch } from "../matroska/recording_layout.ts";

/** Options of a {@linkcode RecordingFile}. */
export interface RecordingFileOptions {
  /** Bytes gathered before a write (default 64 KiB): the disk sees few, large writes. */
  batchBytes?: number;
  /** Milliseconds after which a smaller batch is written anyway (default 5000). */
  batchAge?: number;
  /**
   * Most bytes that may wait for the disk (default 32 MiB). A disk slower than the stream
   * fails the file rather than letting memory grow.
   */
  maxPending?: number;
  /** Called once, with the first failure (the file takes no more bytes after it). */
  onError?: (error: Error) => void;
  /** Called after each write that reached the file, with its length. */
  onWrite?: (bytes: number) => void;
}

/** A disk too slow for the stream: more than `maxPending` bytes waited. */
export class DiskTooSlowError extends RangeError {
  constructor(bytes: number) {
    super(`the disk is too slow: ${Math.round(bytes / 1024 / 1024)} MiB waiting to be written`);
    this.name = "DiskTooSlowError";
  }
}

/**
 * A file being recorded. `append` is synchronous and never throws: it queues views, and one
 * writer copies them into batches of at least `batchBytes` (at Cluster boundaries, so a process
 * killed between writes leaves only whole Clusters) and writes them in order. A failure is
 * reported once through `onError`; the file then drops what it is given.
 */
export class RecordingFile {
  readonly path: string;
  #file: Promise<Deno.FsFile>;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  /** Bytes waiting: pending and in the write under way. */
  #waiting = 0;
  #written = 0;
  #writes = 0;
  #error: Error | undefined;
  #chain: Promise<void> = Promise.resolve();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #options: Required<Omit<RecordingFileOptions, "onError" | "onWrite">> & RecordingFileOptions;

  /** Creates `path` (which must not exist) in its directory, made if needed. */
  constructor(path: string, options: RecordingFileOptions = {}) {
    this.path = path;
    this.#options = {
      batchBytes: 64 * 1024,
      batchAge: 5000,
      maxPending: 32 * 1024 * 1024,
      ...options,
    };
    const dir = path.slice(0, path.lastIndexOf("/"));
    this.#file = Deno.mkdir(dir, { recursive: true }).then(() =>
      Deno.open(path, { write: true, createNew: true })
    );
    this.#file.catch((error) => this.#fail(error));
  }

  /** Bytes that reached the file. */
  get written(): number {
    return this.#written;
  }

  /** Writes made so far. */
  get writes(): number {
    return this.#writes;
  }

  /** The failure, once there was one. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Queues `parts` (one or more whole Clusters); false once the file has failed. */
  append(parts: readonly Uint8Array[]): boolean {
    if (this.#error !== undefined) return false;
    let length = 0;
    for (const part of parts) {
      this.#pending.push(part);
      length += part.length;
    }
    this.#pendingBytes += length;
    this.#waiting += length;
    if (this.#waiting > this.#options.maxPending) {
      this.#fail(new DiskTooSlowError(this.#waiting));
      return false;
    }
    if (this.#pendingBytes >= this.#options.batchBytes) this.#flush();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => this.#flush(), this.#options.batchAge);
      Deno.unrefTimer(this.#timer);
    }
    return true;
  }

  /**
   * Writes what is queued and `tail`, applies `patches` in order, syncs and closes the file.
   * Rejects with the file's failure, if it had one.
   */
  async finish(tail: readonly Uint8Array[], patches: readonly Patch[]): Promise<void> {
    this.append(tail);
    this.#flush();
    await this.#chain;
    const file = await this.#file.catch(() => undefined);
    try {
      if (this.#error) throw this.#error;
      if (file === undefined) throw new Error("the file did not open");
      for (const patch of patches) {
        await file.seek(patch.at, Deno.SeekMode.Start);
        await writeAll(file, patch.bytes);
      }
      await file.syncData();
    } catch (error) {
      this.#fail(error);
      throw this.#error;
    } finally {
      try {
        file?.close();
      } catch {
        // closed already
      }
    }
  }

  /** Stops after a failure: drops what is queued and closes the file as it is on disk. */
  async abandon(): Promise<void> {
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#chain;
    const file = await this.#file.catch(() => undefined);
    try {
      // What a failed write left past the last whole batch is half a Cluster: cut it.
      await file?.truncate(this.#written);
    } catch {
      // the repair at the next start cuts it instead
    }
    try {
      file?.close();
    } catch {
      // closed already
    }
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pendingBytes === 0 || this.#error !== undefined) return;
    const parts = this.#pending;
    const length = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#chain = this.#chain.then(() => this.#write(parts, length));
  }

  async #write(parts: Uint8Array[], length: number): Promise<void> {
    if (this.#error !== undefined) return;
    // The one copy on this path: many views become one buffer, one write.
    const batch = new Uint8Array(length);
    let at = 0;
    for (const part of parts) {
      batch.set(part, at);
      at += part.length;
    }
    try {
      await writeAll(await this.#file, batch);
      this.#written += length;
      this.#waiting -= length;
      this.#writes++;
      this.#options.onWrite?.(length);
    } catch (error) {
      this.#fail(error);
    }
  }

  #fail(error: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = error instanceof Error ? error : new Error(String(error));
    this.#pending = [];
    this.#pendingBytes = 0;
    clearTimeout(this.#timer);
    this.#options.onError?.(this.#error);
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let at = 0;
  while (at < bytes.length) at += await file.write(bytes.subarray(at));
}
