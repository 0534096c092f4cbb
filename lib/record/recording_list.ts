/**
 * The recordings on disk: a mount's files with their start times and sizes, and retention.
 *
 * @module
 */

import { errorMessage, type Logger } from "../log.ts";
import { readRecordingInfo } from "../matroska/recording_scan.ts";
import { fileSource } from "./file_source.ts";
import { parseRecordingName } from "./recording_name.ts";
import { readDirNames } from "./repair.ts";

export { parseRecordingName } from "./recording_name.ts";

/** One recorded file of a mount. */
export interface RecordingEntry {
  /** Its name in `DIR/NAME/`, e.g. `20261201T113239.123Z.mkv`. */
  file: string;
  /** The wall-clock time of its first block (its name, and its DateUTC). */
  start: Date;
  bytes: number;
  /** Milliseconds of media, once the file is finished (absent while it is written). */
  durationMs?: number;
}

/**
 * The recordings of mount `name` under `dir`, oldest first (none when there are none). A file
 * being written is listed with its size so far and no `durationMs`.
 */
export async function listRecordings(dir: string, name: string): Promise<RecordingEntry[]> {
  const folder = `${dir}/${name}`;
  const files = (await readDirNames(folder, (e) => e.isFile))
    .filter((f) => parseRecordingName(f) !== undefined).sort();
  const entries: RecordingEntry[] = [];
  for (const file of files) {
    const start = parseRecordingName(file)!;
    let handle: Deno.FsFile | undefined;
    try {
      handle = await Deno.open(`${folder}/${file}`, { read: true });
      const bytes = (await handle.stat()).size;
      let durationMs: number | undefined;
      try {
        durationMs = (await readRecordingInfo(fileSource(handle, bytes))).durationMs;
      } catch {
        // a head still being written, or not a recording: listed without a duration
      }
      entries.push({ file, start, bytes, durationMs });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error; // deleted meanwhile
    } finally {
      handle?.close();
    }
  }
  return entries;
}

/** How long and how much to keep: either bound may be absent. */
export interface KeepSpec {
  ms?: number;
  bytes?: number;
}

/**
 * Deletes the oldest recordings under `dir` (every mount's) until those left are within
 * `keep`: none that ended more than `keep.ms` ago, at most `keep.bytes` in all. Files in `busy`
 * (being written) are never deleted and count towards the bytes. Resolves with the deleted paths.
 */
export async function pruneRecordings(
  dir: string,
  keep: KeepSpec,
  options: { now?: number; busy?: ReadonlySet<string>; log?: Logger } = {},
): Promise<string[]> {
  const now = options.now ?? Date.now();
  const all: { path: string; entry: RecordingEntry }[] = [];
  for (const mount of await readDirNames(dir, (e) => e.isDirectory)) {
    for (const entry of await listRecordings(dir, mount)) {
      all.push({ path: `${dir}/${mount}/${entry.file}`, entry });
    }
  }
  all.sort((a, b) => a.entry.start.getTime() - b.entry.start.getTime());
  let total = all.reduce((n, f) => n + f.entry.bytes, 0);
  const deleted: string[] = [];
  for (const { path, entry } of all) {
    if (options.busy?.has(path)) continue;
    const end = entry.start.getTime() + (entry.durationMs ?? 0);
    const old = keep.ms !== undefined && now - end > keep.ms;
    const over = keep.bytes !== undefined && total > keep.bytes;
    if (!old && !over) continue;
    try {
      await Deno.remove(path);
      total -= entry.bytes;
      deleted.push(path);
      options.log?.info(
        `Deleted recording ${path} (--record-keep: ${old ? "too old" : "over the size"})`,
      );
    } catch (error) {
      options.log?.warn(`Cannot delete recording ${path}: ${errorMessage(error)}`);
    }
  }
  return deleted;
}
