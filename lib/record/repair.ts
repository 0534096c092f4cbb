/**
 * Finishing recordings a crash left open: on start-up, every file whose Segment still has an
 * unknown size is cut after its last complete Cluster and given its Cues, Duration and sizes.
 *
 * @module
 */

import { errorMessage, type Logger } from "../log.ts";
import { finishPatches, writeCues } from "../matroska/recording_layout.ts";
import { scanRecording } from "../matroska/recording_scan.ts";
import { fileSource } from "./file_source.ts";
import { parseRecordingName } from "./recording_name.ts";

/** What a repair did. */
export interface RepairResult {
  /** Bytes cut from the end: a Cluster the crash left incomplete. */
  cut: number;
  clusters: number;
  cues: number;
  durationMs: number;
  /** The file held no complete Cluster and was deleted. */
  deleted: boolean;
}

/**
 * Finishes the recording at `path` if it was left open; `undefined` if it was finished.
 *
 * @throws {EbmlSyntaxError} when it is not a recording; what the file system throws
 */
export async function repairRecording(path: string): Promise<RepairResult | undefined> {
  const file = await Deno.open(path, { read: true, write: true });
  let deleted = false;
  try {
    const size = (await file.stat()).size;
    if (size === 0) {
      // Killed before its first write (the head goes out with the first batch).
      deleted = true;
      return { cut: 0, clusters: 0, cues: 0, durationMs: 0, deleted };
    }
    const scan = await scanRecording(fileSource(file, size));
    if (scan.finished) return undefined;
    const result = {
      cut: size - scan.clustersEnd,
      clusters: scan.clusters,
      cues: scan.cues.length,
      durationMs: scan.duration * scan.timestampScale / 1e6,
      deleted: scan.clusters === 0,
    };
    if (result.deleted) {
      deleted = true;
      return result;
    }
    await file.truncate(scan.clustersEnd);
    const cues = writeCues(scan.cues);
    const cuesAt = scan.clustersEnd - scan.layout.segmentDataAt;
    const end = scan.clustersEnd + cues.length;
    const patches = [
      { at: scan.clustersEnd, bytes: cues },
      ...finishPatches(scan.layout, { cuesAt, duration: scan.duration, end }),
    ];
    for (const patch of patches) {
      await file.seek(patch.at, Deno.SeekMode.Start);
      let at = 0;
      while (at < patch.bytes.length) at += await file.write(patch.bytes.subarray(at));
    }
    await file.syncData();
    return result;
  } finally {
    file.close();
    if (deleted) await Deno.remove(path);
  }
}

/**
 * Repairs every recording left open under `dir` (`DIR/NAME/*.mkv`), logging each; files in
 * `busy` (being written) are left alone. Resolves with the number repaired or deleted.
 */
export async function repairRecordings(
  dir: string,
  log: Logger,
  busy: ReadonlySet<string> = new Set(),
): Promise<number> {
  let count = 0;
  for (const path of await recordingPaths(dir)) {
    if (busy.has(path)) continue;
    try {
      const r = await repairRecording(path);
      if (r === undefined) continue;
      count++;
      if (r.deleted) log.info(`Deleted ${path}, left open by a crash with no complete Cluster`);
      else {
        log.info(
          `Repaired ${path}, left open by a crash: cut ${r.cut} bytes after its last complete ` +
            `Cluster, added ${r.cues} cues and its Duration (${
              (r.durationMs / 1000).toFixed(3)
            } s)`,
        );
      }
    } catch (error) {
      log.warn(`Cannot repair ${path}: ${errorMessage(error)}`);
    }
  }
  return count;
}

/** Every recording's path under `dir`, by mount, oldest first. */
export async function recordingPaths(dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (const mount of await readDirNames(dir, (e) => e.isDirectory)) {
    const names = await readDirNames(`${dir}/${mount}`, (e) => e.isFile);
    for (const name of names.filter((n) => parseRecordingName(n) !== undefined).sort()) {
      paths.push(`${dir}/${mount}/${name}`);
    }
  }
  return paths;
}

/** The names of `dir`'s entries that `keep`, or none when it does not exist. */
export async function readDirNames(
  dir: string,
  keep: (entry: Deno.DirEntry) => boolean,
): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (keep(entry)) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return names;
    throw error;
  }
  return names;
}
