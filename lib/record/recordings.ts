/**
 * The recordings of a mount, as the recorder lays them out: `DIR/NAME/YYYYMMDDTHHMMSS.mmmZ.mkv`.
 *
 * @module
 */

import { parseRecordingName } from "./recording_name.ts";
import { type RecordingHead, RecordingIndex } from "./recording_index.ts";

/** One recording file. */
export interface Recording {
  /** Its file name (`20261201T113239.123Z.mkv`). */
  name: string;
  path: string;
  /** Wall-clock time of its first block: Info's DateUTC, else the name's. */
  start: Date;
  /** Its size now. */
  bytes: number;
  /** Milliseconds of media: Info's Duration when finished, else up to its newest Cluster. */
  duration: number;
  /** Whether the recorder finished it (its Cues are written); else it may still be growing. */
  finished: boolean;
  /** When it was last written. */
  modified: Date | null;
  /** Its index, up to date as of this listing. */
  index: RecordingIndex;
}

/**
 * The recordings under one directory, with an index per file kept between listings (a file
 * that grew is read from where the last listing stopped).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { RecordingStore } from "./recordings.ts";
 * const dir = await Deno.makeTempDir();
 * const store = new RecordingStore(dir);
 * assertEquals(await store.list("stream"), []); // no folder yet: no recordings
 * await Deno.remove(dir);
 * ```
 */
export class RecordingStore {
  /** The recorder's directory: each mount's files are in a folder of its name. */
  readonly dir: string;
  #indexes = new Map<string, RecordingIndex>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The path of recording `file` of `mount` (both already checked: a mount name, a recording name). */
  pathOf(mount: string, file: string): string {
    return `${this.dir}/${mount}/${file}`;
  }

  /**
   * Mount `mount`'s recordings, oldest first: files named by the pattern, whose header could be
   * read. A folder that does not exist has none; a file that is not Matroska is left out and
   * reported to `onSkip`.
   */
  async list(
    mount: string,
    onSkip?: (name: string, error: unknown) => void,
  ): Promise<Recording[]> {
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(`${this.dir}/${mount}`)) {
        if (entry.isFile && parseRecordingName(entry.name)) names.push(entry.name);
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw error;
    }
    names.sort();
    const seen = new Set<string>();
    const out: Recording[] = [];
    for (const name of names) {
      const path = this.pathOf(mount, name);
      seen.add(path);
      try {
        const recording = await this.#read(name, path);
        if (recording) out.push(recording);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) onSkip?.(name, error);
      }
    }
    for (const path of this.#indexes.keys()) {
      if (path.startsWith(`${this.dir}/${mount}/`) && !seen.has(path)) this.#indexes.delete(path);
    }
    return out;
  }

  /**
   * The header values of recording `file` of `mount` (both checked), read once per file;
   * `undefined` while its header is not written. Throws what `Deno.open` throws.
   */
  async head(mount: string, file: string): Promise<RecordingHead | undefined> {
    const index = this.#index(this.pathOf(mount, file));
    if (index.head === undefined) await index.update();
    return index.head;
  }

  #index(path: string): RecordingIndex {
    let index = this.#indexes.get(path);
    if (index === undefined) {
      index = new RecordingIndex(path);
      this.#indexes.set(path, index);
    }
    return index;
  }

  async #read(name: string, path: string): Promise<Recording | undefined> {
    const index = this.#index(path);
    const stat = await Deno.stat(path);
    if (stat.size !== index.size || index.head === undefined) await index.update();
    const head = index.head;
    if (head === undefined) return undefined; // its header is not written yet
    const ms = head.timestampScale / 1e6;
    const last = index.clusters.at(-1);
    const finished = index.finished;
    const duration = finished && head.duration !== undefined
      ? head.duration * ms
      : (last?.time ?? 0) * ms;
    const start = head.date ?? parseRecordingName(name)!;
    return { name, path, start, bytes: stat.size, duration, finished, modified: stat.mtime, index };
  }
}
