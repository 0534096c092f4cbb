/**
 * Remuxing other containers (MP4, MPEG-TS, FLV, …) to Matroska with an `ffmpeg` child process,
 * so that anything libavformat opens can be served.
 *
 * @module
 */

import { ID } from "../ebml/ids.ts";
import { writeId } from "../ebml/writer.ts";
import { type Logger, SILENT } from "../log.ts";
import { Feeder } from "./_feeder.ts";
import { FfmpegProcess } from "./_ffmpeg_process.ts";
import { OutputHold } from "./_output_hold.ts";
import { reasonOf } from "./_timing.ts";

/** Options of `openFfmpegSource`. */
export interface FfmpegSourceOptions {
  /** The ffmpeg executable (default `"ffmpeg"`, found on PATH). */
  ffmpegPath?: string;
  /** Options placed before `-i` (e.g. `["-f", "lavfi"]`, `["-re"]`). */
  inputArgs?: readonly string[];
  /** Where ffmpeg's error output goes, one warn line per line. */
  log?: Logger;
  /** Ends the stream (cleanly) and kills ffmpeg. */
  signal?: AbortSignal;
}

/** Options of `ffmpegAvailable`. */
export interface FfmpegAvailableOptions {
  /** The ffmpeg executable (default `"ffmpeg"`, found on PATH). */
  ffmpegPath?: string;
}

/**
 * The Tracks element ID (Matroska spec). ffmpeg writes the EBML header, Segment and Info before it
 * fails on a track it cannot write; its output is held back until Tracks appears, so that a failed
 * start leaves no partial header in the stream.
 */
const TRACKS_ID = writeId(ID.Tracks);

/** Output held back, at most, while waiting for Tracks (then it is let through anyway). */
const HOLD_LIMIT = 1024 * 1024;

/**
 * Runs `ffmpeg -i INPUT -c copy -f matroska -` and returns its output: Matroska with the streams
 * ffmpeg picks by default (the best video and audio stream), payloads untouched; subtitle and
 * data streams are dropped (a live viewer has no use for them and some, like MP4's `mov_text`,
 * cannot be copied into Matroska). `input` is a path or URL that ffmpeg opens itself (not `-`),
 * or a stream fed to ffmpeg's standard input (`-i pipe:0`; an MP4 read this way needs its `moov`
 * box first, as written by `-movflags +faststart`).
 *
 * One exception to copying: AAC in ADTS form (MPEG-TS, HLS, raw `.aac`) cannot be copied into
 * Matroska written to a pipe (ffmpeg needs its configuration in the header, before the first
 * packet). When ffmpeg fails for that reason before any output, it is restarted once with the
 * audio re-encoded to AAC (`-c:a aac`), with a warning; a stream input is replayed from the start
 * (up to 16 MiB, ffmpeg's probe size, is kept until the first output byte).
 *
 * The stream errors with `ffmpeg exited with code N: …ffmpeg's last lines…` when ffmpeg fails,
 * ends when ffmpeg ends, and kills ffmpeg when cancelled (or on `signal`). The child is not killed
 * when Deno exits on its own: the caller cancels the stream on shutdown.
 *
 * @throws {Deno.errors.NotFound} when the ffmpeg executable does not exist
 *
 * @example
 * ```ts
 * import { assertEquals, assertGreater } from "@std/assert";
 * import { createLogger } from "../log.ts";
 * import { openFfmpegSource } from "./ffmpeg_source.ts";
 * // A Matroska fixture of the repository; an MP4, MPEG-TS or FLV file is remuxed the same way.
 * const input = new URL("../../testdata/h264_aac.mkv", import.meta.url).pathname;
 * const matroska = openFfmpegSource(input, { log: createLogger() });
 * const bytes = await new Response(matroska).bytes();
 * assertEquals([...bytes.subarray(0, 4)], [0x1A, 0x45, 0xDF, 0xA3]); // the EBML header's ID
 * assertGreater(bytes.length, 150_000); // the payloads, copied (the file has 164 KB)
 * ```
 */
export function openFfmpegSource(
  input: string | ReadableStream<Uint8Array>,
  options: FfmpegSourceOptions = {},
): ReadableStream<Uint8Array> {
  return new ReadableStream(new FfmpegSource(input, options), { highWaterMark: 0 });
}

/**
 * The underlying source of `openFfmpegSource`'s stream: one ffmpeg run at a time (two at most,
 * when the first fails on ADTS audio), its output held back until Tracks.
 */
class FfmpegSource implements UnderlyingDefaultSource<Uint8Array> {
  #input: string | undefined;
  #options: FfmpegSourceOptions;
  #log: Logger;
  #feeder: Feeder | undefined;
  /** Output not yet let through (until ffmpeg has written Tracks); undefined after. */
  #hold: OutputHold | undefined = new OutputHold(TRACKS_ID, HOLD_LIMIT);
  #run: FfmpegProcess;
  #restarted = false;
  #killed = false;
  #cancelled = false;
  #pulling: Promise<void> | undefined;
  #onAbort = () => this.#kill();

  constructor(input: string | ReadableStream<Uint8Array>, options: FfmpegSourceOptions) {
    this.#options = options;
    this.#log = options.log ?? SILENT;
    if (typeof input === "string") this.#input = input;
    else this.#feeder = new Feeder(input);
    this.#run = this.#start(false);
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (options.signal?.aborted) this.#kill();
  }

  pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    this.#pulling = this.#pull(controller);
    return this.#pulling;
  }

  async cancel(reason: unknown): Promise<void> {
    this.#cancelled = true;
    this.#kill();
    await this.#run.stdout.cancel(reason).catch(() => {});
    await this.#pulling?.catch(() => {});
    await this.#finish();
  }

  #start(reencodeAudio: boolean): FfmpegProcess {
    const run = new FfmpegProcess(this.#input, {
      ffmpegPath: this.#options.ffmpegPath,
      inputArgs: this.#options.inputArgs,
      reencodeAudio,
      log: this.#log,
    });
    this.#feeder?.feed(run.stdin);
    return run;
  }

  #kill(): void {
    if (this.#killed) return;
    this.#killed = true;
    this.#run.kill();
  }

  async #finish(): Promise<void> {
    await this.#run.exited;
    await this.#feeder?.stop();
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
  }

  /** Reads ffmpeg's output until one chunk is enqueued, or the stream has ended or failed. */
  async #pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await this.#run.stdout.read();
      } catch (error) {
        this.#kill();
        await this.#finish();
        if (!this.#cancelled) controller.error(error);
        return;
      }
      if (this.#cancelled) return;
      if (!result.done) {
        if (this.#output(controller, result.value)) return;
        continue;
      }
      const status = await this.#run.exited;
      if (this.#cancelled) return;
      if (this.#mayRestart(status)) {
        this.#restart();
        continue;
      }
      return await this.#end(controller, status);
    }
  }

  /** Enqueues `chunk`, or holds it back until Tracks; whether anything was enqueued. */
  #output(controller: ReadableStreamDefaultController<Uint8Array>, chunk: Uint8Array): boolean {
    const hold = this.#hold;
    if (hold === undefined) {
      controller.enqueue(chunk);
      return true;
    }
    if (!hold.push(chunk)) return false;
    this.#hold = undefined;
    this.#feeder?.commit(); // ffmpeg has written its header: no restart from here
    this.#run.outputStarted();
    controller.enqueue(hold.release());
    return true;
  }

  /** Whether ffmpeg failed on ADTS audio before any output, for the first time, and can rerun. */
  #mayRestart(status: Deno.CommandStatus): boolean {
    return !status.success && !this.#killed && this.#hold !== undefined && !this.#restarted &&
      this.#run.aacWithoutConfig && (this.#feeder?.canReplay ?? true);
  }

  #restart(): void {
    this.#restarted = true;
    this.#hold = new OutputHold(TRACKS_ID, HOLD_LIMIT);
    this.#log.warn(
      "ffmpeg cannot copy this AAC audio (ADTS, as in MPEG-TS) into streamed Matroska: " +
        "restarting it with the audio re-encoded to AAC",
    );
    this.#run = this.#start(true);
  }

  /** ffmpeg has exited, for good: the stream closes, or errors with why. */
  async #end(
    controller: ReadableStreamDefaultController<Uint8Array>,
    status: Deno.CommandStatus,
  ): Promise<void> {
    await this.#finish();
    if (status.success) {
      this.#run.outputStarted();
      // A short output without Tracks: let it be judged.
      if (this.#hold?.isEmpty === false) controller.enqueue(this.#hold.release());
    }
    this.#hold = undefined;
    if (this.#killed) return controller.close(); // ended by `signal`
    const inputError = this.#feeder?.error;
    if (inputError !== undefined) {
      return controller.error(
        new Error(`Cannot feed ffmpeg: ${reasonOf(inputError)}`, {
          cause: inputError,
        }),
      );
    }
    if (status.success) return controller.close();
    controller.error(this.#run.failure(status));
  }
}

/**
 * Whether ffmpeg can be run (`ffmpeg -version` succeeds).
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { ffmpegAvailable } from "./ffmpeg_source.ts";
 * assertEquals(await ffmpegAvailable({ ffmpegPath: "/nonexistent/ffmpeg" }), false);
 * ```
 */
export async function ffmpegAvailable(
  options: FfmpegAvailableOptions = {},
): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(options.ffmpegPath ?? "ffmpeg", {
      args: ["-hide_banner", "-version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false; // not found, not executable, or --allow-run refused
  }
}

/**
 * The error message for an input that is not Matroska/WebM when ffmpeg is missing: what was
 * found, and what is needed. `format` is what `sniffFormat` named.
 *
 * @example
 * ```ts
 * import { assertEquals } from "@std/assert";
 * import { describeFfmpegMissing } from "./ffmpeg_source.ts";
 * assertEquals(
 *   describeFfmpegMissing("mp4", "movie.mp4"),
 *   "Input movie.mp4 is mp4, not Matroska/WebM: install ffmpeg to have mkserver remux it (apt-get install ffmpeg)",
 * );
 * ```
 */
export function describeFfmpegMissing(format: string, input: string): string {
  const what = format === "unknown" || format === ""
    ? `Input ${input} is not Matroska/WebM`
    : `Input ${input} is ${format}, not Matroska/WebM`;
  return `${what}: install ffmpeg to have mkserver remux it (apt-get install ffmpeg)`;
}
