/**
 * The recorder of one mount: a `MountTap` that writes the mount's blocks into rotated,
 * seekable Matroska files under `DIR/NAME/`, off the ingest path.
 *
 * @module
 */

import { errorMessage, type Logger } from "../log.ts";
import type { Block } from "../matroska/block.ts";
import type { LiveHeader } from "../matroska/live_header.ts";
import { RecordingMuxer } from "../matroska/recording_muxer.ts";
import type { MountTap } from "../stream/mount_tap.ts";
import { RecordingFile, type RecordingFileOptions } from "./recording_file.ts";
import { formatRecordingName } from "./recording_name.ts";

/** A mount's recording, as `/status` shows it (one per mount name, across its incarnations). */
export interface RecordingStatus {
  /** `waiting` for a keyframe, `recording`, `error` (retrying after a backoff), or `stopped`. */
  state: "waiting" | "recording" | "error" | "stopped";
  /** The file being written (its name in `DIR/NAME/`). */
  file?: string;
  /** Files finished. */
  files: number;
  /** Bytes written to disk. */
  bytes: number;
  writes: number;
  errors: number;
  lastError?: string;
}

/** Options of a {@linkcode Recorder}. */
export interface RecorderOptions {
  /** Longest file, in ms of media (rotated at the first keyframe after). */
  segmentMs: number;
  /** Largest file, in bytes (rotated at the first keyframe after). */
  segmentBytes: number;
  log: Logger;
  /** What `/status` shows; shared by the recorders of one mount name. */
  status: RecordingStatus;
  /** The wall clock (Unix ms). */
  now?: () => number;
  /** Called when a file is created. */
  onOpened?: (path: string) => void;
  /**
   * Called when a file is done, finished (`true`, with its bytes and ms of media) or left to
   * repair (`false`).
   */
  onClosed?: (
    path: string,
    finished: boolean,
    file?: { bytes: number; durationMs: number },
  ) => void;
  /** The file writer's batching and bounds. */
  file?: Omit<RecordingFileOptions, "onError" | "onWrite">;
}

/** Backoff after a disk failure: 5 s, doubling to 60 s. */
const FIRST_BACKOFF = 5000;
const MAX_BACKOFF = 60_000;
/** A resumed source whose wall clock ran this far past the file's media starts a new file. */
const MAX_DRIFT_MS = 1000;

/** A file and its muxer, while it is written. */
interface Open {
  muxer: RecordingMuxer;
  file: RecordingFile;
  name: string;
}

/** The file being closed at a rotation: it still takes other tracks' blocks from before `end`. */
interface Closing extends Open {
  end: number;
  /** Tracks other than the primary that have not reached `end` yet. */
  behind: Set<number>;
}

/**
 * Records one mount. A file starts at a keyframe of the primary track (the video, else the
 * first track) and is rotated at the first one after `segmentMs` of media or `segmentBytes`.
 * At a rotation the primary track moves to the new file at once (its frames depend on the
 * keyframe), the others by time: their blocks from before the keyframe still go to the old
 * file, so the files meet without gap or overlap. A disk failure stops the file with one
 * `ERROR` line; recording starts again at a keyframe after a backoff.
 */
export class Recorder implements MountTap {
  readonly #dir: string;
  readonly #options: RecorderOptions;
  readonly #now: () => number;
  #header: LiveHeader | undefined;
  #primary: number | undefined;
  #video = false;
  #msPerUnit = 1;
  #open: Open | undefined;
  #closing: Closing | undefined;
  #resync = false;
  #retryAt = 0;
  #backoff = FIRST_BACKOFF;
  #failing = false;
  #closes = new Set<Promise<void>>();
  /** Where the next file's wall clock continues the last one's, after a rotation. */
  #chained: number | undefined;

  /** Records into `dir` (`DIR/NAME`). */
  constructor(dir: string, options: RecorderOptions) {
    this.#dir = dir;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Settles once every file handed to the disk is closed. */
  async closed(): Promise<void> {
    while (this.#closes.size > 0) await Promise.all(this.#closes);
  }

  header(header: LiveHeader): void {
    if (this.#header !== undefined) {
      // A source with the same tracks continues the mount: from its first keyframe on.
      this.#resync = true;
      return;
    }
    this.#header = header;
    const video = header.tracks.find((t) => t.kind === "video");
    this.#video = video !== undefined;
    this.#primary = (video ?? header.tracks[0])?.number;
    this.#msPerUnit = header.timestampScale / 1e6;
  }

  block(block: Block): void {
    try {
      this.#block(block);
    } catch (error) {
      // A bug here must not reach the ingest path: give up this mount's recording.
      this.#options.log.error(`Recording stopped: ${errorMessage(error)}`);
      this.#options.status.state = "stopped";
      this.#header = undefined;
    }
  }

  pause(): void {
    // Write what the file has so far; a source with the same tracks may continue it.
    this.#finishClosing();
  }

  end(): void {
    this.#finishClosing();
    const open = this.#open;
    this.#open = undefined;
    if (open) this.#close(open);
    if (this.#options.status.state !== "error") this.#options.status.state = "stopped";
    this.#options.status.file = undefined;
    this.#header = undefined;
  }

  #block(block: Block): void {
    const header = this.#header;
    if (header === undefined) return;
    const closing = this.#closing;
    if (closing !== undefined && block.track !== this.#primary) {
      if (block.time < closing.end) return this.#append(closing, block);
      closing.behind.delete(block.track);
    }
    if (closing !== undefined) {
      const late = (block.time - closing.end) * this.#msPerUnit > 1000;
      if (closing.behind.size === 0 || late) this.#finishClosing();
    }
    const start = block.track === this.#primary && (block.keyframe || !this.#video);
    if (this.#resync) {
      if (!start) return;
      this.#resync = false;
      if (this.#open && this.#drift(this.#open, block) > MAX_DRIFT_MS) this.#rotate(undefined);
    }
    let open = this.#open;
    if (open !== undefined && start && this.#full(open)) open = this.#rotate(block.time);
    if (open === undefined) {
      if (!start || this.#now() < this.#retryAt) return;
      open = this.#start(header);
    }
    this.#append(open, block);
  }

  /** How far the wall clock ran past the file's media (a source gap), in ms. */
  #drift(open: Open, block: Block): number {
    const media = (block.time - (open.muxer.startTime ?? block.time)) * this.#msPerUnit;
    return this.#now() - open.muxer.startMs - media;
  }

  #full(open: Open): boolean {
    return open.muxer.duration * this.#msPerUnit >= this.#options.segmentMs ||
      open.muxer.byteLength >= this.#options.segmentBytes;
  }

  #append(open: Open, block: Block): void {
    const cluster = open.muxer.push(block);
    if (cluster !== undefined) open.file.append(cluster.parts);
  }

  /** Starts the next file at `end`: the open one closes once the other tracks reach it. */
  #rotate(end: number | undefined): undefined {
    this.#finishClosing();
    const open = this.#open;
    this.#open = undefined;
    if (open === undefined) return;
    if (end === undefined) return void this.#close(open);
    this.#chained = open.muxer.startMs + (end - (open.muxer.startTime ?? end)) * this.#msPerUnit;
    const others = this.#header?.tracks.map((t) => t.number).filter((n) => n !== this.#primary);
    this.#closing = { ...open, end, behind: new Set(others) };
  }

  #finishClosing(): void {
    const closing = this.#closing;
    this.#closing = undefined;
    if (closing) this.#close(closing, closing.end);
  }

  #start(header: LiveHeader): Open {
    const status = this.#options.status;
    let startMs = this.#now();
    // After a rotation the next file's DateUTC continues the last one's (DateUTC plus Duration),
    // unless the arrival clock disagrees by more than a second (a source gap; a file source's
    // fast start, whose first seconds come at once).
    const chained = this.#chained;
    this.#chained = undefined;
    if (chained !== undefined && Math.abs(startMs - chained) <= MAX_DRIFT_MS) startMs = chained;
    // Two files of one mount never share a name (nor a DateUTC): the later one moves on a ms.
    const previous = this.#open?.muxer.startMs ?? this.#closing?.muxer.startMs ?? -Infinity;
    if (startMs <= previous) startMs = previous + 1;
    startMs = Math.round(startMs);
    const name = formatRecordingName(startMs);
    const path = `${this.#dir}/${name}`;
    const muxer = new RecordingMuxer(header, startMs);
    const file = new RecordingFile(path, {
      ...this.#options.file,
      onError: (error) => this.#failed(open, error),
      onWrite: (bytes) => this.#wrote(open, bytes),
    });
    const open: Open = { muxer, file, name };
    file.append([muxer.head]);
    this.#options.onOpened?.(path);
    this.#open = open;
    status.file = name;
    if (status.state !== "error") status.state = "recording";
    this.#options.log.debug(`Recording ${path}`);
    return open;
  }

  #wrote(open: Open, bytes: number): void {
    const status = this.#options.status;
    status.bytes += bytes;
    status.writes++;
    if (!this.#failing || this.#open !== open) return;
    this.#failing = false;
    this.#backoff = FIRST_BACKOFF;
    status.state = "recording";
    this.#options.log.info(`Recording resumed: ${open.file.path}`);
  }

  #failed(open: Open, error: Error): void {
    const status = this.#options.status;
    status.errors++;
    status.lastError = `${open.file.path}: ${error.message}`;
    if (this.#open?.file === open.file) this.#open = undefined;
    if (this.#closing?.file === open.file) this.#closing = undefined;
    this.#track(open.file.abandon().then(() => this.#options.onClosed?.(open.file.path, false)));
    this.#retryAt = this.#now() + this.#backoff;
    const wait = this.#backoff / 1000;
    this.#backoff = Math.min(MAX_BACKOFF, this.#backoff * 2);
    if (this.#header !== undefined) status.state = "error";
    status.file = undefined;
    if (this.#failing) {
      this.#options.log.debug(
        `Recording still failing: ${status.lastError}; next try in ${wait} s`,
      );
      return;
    }
    this.#failing = true;
    this.#options.log.error(
      `Recording stopped: cannot write ${status.lastError}; retrying in ${wait} s (viewers are not affected)`,
    );
  }

  #close(open: Open, end?: number): void {
    const tail = open.muxer.finish(end);
    const status = this.#options.status;
    const done = open.file.finish(tail.append, tail.patches).then(
      () => {
        status.files++;
        this.#options.log.info(
          `Recorded ${open.file.path}: ${
            (tail.duration * this.#msPerUnit / 1000).toFixed(3)
          } s, ${tail.byteLength} bytes, ${tail.cues} cues`,
        );
        this.#options.onClosed?.(open.file.path, true, {
          bytes: tail.byteLength,
          durationMs: tail.duration * this.#msPerUnit,
        });
      },
      () => {}, // reported by onError, which abandons the file
    );
    this.#track(done);
  }

  #track(closing: Promise<void>): void {
    const tracked = closing.finally(() => this.#closes.delete(tracked));
    this.#closes.add(tracked);
  }
}
