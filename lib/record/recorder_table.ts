/**
 * The recorders of a server's mounts (`--record DIR`): a tap per mount, the recording status by
 * mount name, the repair of files a crash left open, and retention.
 *
 * @module
 */

import type { StreamEvents } from "../stream/stream_events.ts";
import { errorMessage, type Logger, SILENT } from "../log.ts";
import type { MountTap } from "../stream/mount_tap.ts";
import { Recorder, type RecorderOptions, type RecordingStatus } from "./recorder.ts";
import { type KeepSpec, pruneRecordings } from "./recording_list.ts";
import { repairRecording, repairRecordings } from "./repair.ts";

export type { RecordingStatus } from "./recorder.ts";

/** Options of {@linkcode RecorderTable.open}. */
export interface RecorderTableOptions {
  /** `DIR`: each mount records into `DIR/NAME/`. */
  dir: string;
  /** Longest file in ms of media (default: 1 h when `segmentBytes` is not given either). */
  segmentMs?: number;
  /** Largest file in bytes (default: no limit). */
  segmentBytes?: number;
  /** Retention (default: keep everything). */
  keep?: KeepSpec;
  log?: Logger;
  /** Told of each finished file (`record` events: the webhooks). */
  events?: StreamEvents;
  now?: () => number;
  /** The file writer's batching and bounds. */
  file?: RecorderOptions["file"];
}

/** How often retention runs besides after each finished file (ms). */
const PRUNE_INTERVAL = 60_000;

/** Every mount's recorder. */
export class RecorderTable {
  readonly dir: string;
  readonly #options: RecorderTableOptions;
  readonly #log: Logger;
  readonly #status = new Map<string, RecordingStatus>();
  readonly #recorders = new Set<Recorder>();
  readonly #busy = new Set<string>();
  #pruning: Promise<void> = Promise.resolve();
  #pruneAgain = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Files a disk failure left open, finished once a file closes cleanly again. */
  readonly #abandoned = new Set<string>();
  #repairing: Promise<void> = Promise.resolve();

  private constructor(options: RecorderTableOptions) {
    this.dir = options.dir.replace(/\/+$/, "") || "/";
    this.#options = options;
    this.#log = options.log ?? SILENT;
  }

  /**
   * A table recording into `options.dir`, once the files a crash left open there are repaired
   * (and retention has run). A directory that cannot be read is logged, not thrown: recording
   * then fails and retries like any disk trouble.
   */
  static async open(options: RecorderTableOptions): Promise<RecorderTable> {
    const table = new RecorderTable(options);
    try {
      await repairRecordings(table.dir, table.#log);
    } catch (error) {
      table.#log.error(`Cannot read the recordings in ${table.dir}: ${errorMessage(error)}`);
    }
    table.#prune();
    if (options.keep !== undefined) {
      table.#timer = setInterval(() => table.#prune(), PRUNE_INTERVAL);
      Deno.unrefTimer(table.#timer);
    }
    return table;
  }

  get #segmentMs(): number {
    const { segmentMs, segmentBytes } = this.#options;
    return segmentMs ?? (segmentBytes === undefined ? 3_600_000 : Infinity);
  }

  /** The recording of mount `name`, once it had one. */
  status(name: string): RecordingStatus | undefined {
    return this.#status.get(name);
  }

  /** The tap of a new mount named `name` (a `MountTapFactory`): its own recorder. */
  tap = (name: string): MountTap => {
    let status = this.#status.get(name);
    if (status === undefined) {
      status = { state: "waiting", files: 0, bytes: 0, writes: 0, errors: 0 };
      this.#status.set(name, status);
    }
    const recorder = new Recorder(`${this.dir}/${name}`, {
      segmentMs: this.#segmentMs,
      segmentBytes: this.#options.segmentBytes ?? Infinity,
      log: this.#log,
      status,
      now: this.#options.now,
      file: this.#options.file,
      onOpened: (path) => this.#busy.add(path),
      onClosed: (path, finished, file) => {
        this.#busy.delete(path);
        if (!finished) return void this.#abandoned.add(path);
        if (file) this.#options.events?.emit({ type: "record", mount: name, file: path, ...file });
        this.#prune();
        this.#repairAbandoned();
      },
    });
    this.#recorders.add(recorder);
    const forget = () => void recorder.closed().then(() => this.#recorders.delete(recorder));
    return {
      header: (header) => {
        if (status.state === "stopped") status.state = "waiting";
        recorder.header(header);
      },
      block: (block) => recorder.block(block),
      pause: () => recorder.pause(),
      end: () => {
        recorder.end();
        forget();
      },
    };
  };

  /** Settles once every file is closed and retention is done (call after the mounts end). */
  async closed(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#recorders].map((r) => r.closed()));
    await this.#pruning;
    await this.#repairing;
  }

  /** Finishes the files disk failures left open, now that a file could be finished. */
  #repairAbandoned(): void {
    if (this.#abandoned.size === 0) return;
    const paths = [...this.#abandoned];
    this.#abandoned.clear();
    this.#repairing = this.#repairing.then(async () => {
      for (const path of paths) {
        try {
          const r = await repairRecording(path);
          if (r?.deleted) {
            this.#log.info(`Deleted ${path}: a disk failure left no complete Cluster`);
          } else if (r) {
            this.#log.info(
              `Finished ${path}, which a disk failure had stopped: ${r.cues} cues, ` +
                `Duration ${(r.durationMs / 1000).toFixed(3)} s`,
            );
          }
        } catch (error) {
          if (!(error instanceof Deno.errors.NotFound)) {
            this.#log.warn(`Cannot finish ${path}: ${errorMessage(error)}`);
          }
        }
      }
    });
  }

  /** Runs retention, one run at a time (a request during a run makes one more run after it). */
  #prune(): void {
    const keep = this.#options.keep;
    if (keep === undefined) return;
    if (this.#pruneAgain) return;
    this.#pruneAgain = true;
    this.#pruning = this.#pruning.then(async () => {
      this.#pruneAgain = false;
      try {
        await pruneRecordings(this.dir, keep, {
          now: (this.#options.now ?? Date.now)(),
          busy: this.#busy,
          log: this.#log,
        });
      } catch (error) {
        this.#log.warn(`Retention in ${this.dir} failed: ${errorMessage(error)}`);
      }
    });
  }
}
